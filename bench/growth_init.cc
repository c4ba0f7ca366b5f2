// Does the functional-gradient initialiser give new heads a head start? On the planted-offset
// task, a parent whose heads miss the planted offsets is trained; its child adds one head on
// the planted offsets, set up (a) at random or (b) by the gradient initialiser (worker/growth.h),
// and is trained for N steps from the parent's weights with the same data. Validation loss
// after N steps, per seed and averaged, for both. Real training through TorchEvaluator; about
// a minute on 2 cores with the defaults.
//   build/bench/growth_init [--seeds 5] [--steps 5,10,25,50,100] [--parent-steps 150]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "headevo/v1/candidate.pb.h"
#include "worker/torch_evaluator.h"

namespace {

using headevo::v1::EvaluationRequest;
using headevo::v1::EvaluationResult;

void AddHead(EvaluationRequest* request, int64_t id, const std::vector<int32_t>& offsets) {
  headevo::v1::Head* head = request->mutable_genome()->add_heads();
  head->set_id(id);
  head->set_layer(0);
  for (int32_t offset : offsets) head->mutable_offsets()->add_offsets(offset);
}

EvaluationRequest ParentRequest(uint64_t seed, int steps) {
  EvaluationRequest request;
  request.set_candidate_id(1);
  headevo::v1::TrainingSpec* t = request.mutable_training();
  headevo::v1::ModelSpec* m = t->mutable_model();
  m->set_vocab_size(16);
  m->set_d_model(32);
  m->set_num_layers(1);
  m->set_heads_per_layer(2);
  m->set_d_head(8);
  m->set_mlp_ratio(2);
  m->set_seq_len(32);
  m->set_causal(true);
  m->set_attention(headevo::v1::ATTENTION_KIND_SPARSE);
  t->mutable_task()->set_kind(headevo::v1::TASK_KIND_PLANTED_OFFSETS);
  t->mutable_task()->add_planted_offsets(-3);
  t->mutable_task()->add_planted_offsets(-7);
  t->set_steps(steps);
  t->set_batch_size(32);
  t->set_learning_rate(3e-3);
  t->set_max_grad_norm(1.0);
  t->set_eval_batches(4);
  t->set_seed(seed);
  request.mutable_genome()->set_num_layers(1);
  AddHead(&request, 1, {-1, 0});  // neither misses less than the other: no planted offset
  AddHead(&request, 2, {-4, -2});
  return request;
}

struct Stats {
  double mean = 0.0;
  double sd = 0.0;
};

Stats MeanSd(const std::vector<double>& values) {
  Stats s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  for (double v : values) s.sd += (v - s.mean) * (v - s.mean);
  s.sd = values.size() > 1 ? std::sqrt(s.sd / static_cast<double>(values.size() - 1)) : 0.0;
  return s;
}

struct Flags {
  int seeds = 5;
  int parent_steps = 150;
  int growth_batches = 4;
  std::vector<int> steps = {5, 10, 25, 50, 100};
  std::vector<int32_t> new_head = {-7, -3};  // sorted and unique after parsing
};

void AddFlags(CLI::App& app, Flags& flags) {
  app.add_option("--seeds", flags.seeds, "independent parents (and children) per setting")
      ->check(CLI::Range(1, 100));
  app.add_option("--steps", flags.steps, "child training steps at which to measure")
      ->delimiter(',')
      ->check(CLI::Range(1, 100000));
  app.add_option("--new-head", flags.new_head,
                 "offsets of the child's new head (default: the planted ones; try -6,-5 for a "
                 "head that cannot help)")
      ->delimiter(',')
      ->check(CLI::Range(-31, 0));
  app.add_option("--parent-steps", flags.parent_steps, "training steps of each parent")
      ->check(CLI::Range(1, 100000));
  app.add_option("--growth-batches", flags.growth_batches, "batches the initialiser reads")
      ->check(CLI::Range(1, 1000));
}

constexpr headevo::v1::NewHeadInit kInits[] = {headevo::v1::NEW_HEAD_INIT_RANDOM,
                                               headevo::v1::NEW_HEAD_INIT_GRADIENT};
constexpr const char* kInitNames[] = {"random", "gradient"};

// What the seeds measured.
struct Losses {
  explicit Losses(size_t step_counts)
      : child(2, std::vector<std::vector<double>>(step_counts)) {}

  std::vector<std::vector<std::vector<double>>> child;  // [init][step index][seed]
  std::vector<double> parent;       // each seed's parent
  std::vector<double> init_change;  // the gradient initialiser's measured loss change
};

// The parent plus one head on `flags.new_head`, set up by `init`, trained `steps` steps from
// the parent's checkpoint.
EvaluationRequest ChildRequest(const EvaluationRequest& parent, const EvaluationResult& trained,
                               const Flags& flags, int seed, headevo::v1::NewHeadInit init,
                               int steps) {
  EvaluationRequest child = parent;
  child.set_candidate_id(2);
  child.set_parent_checkpoint_sha256(trained.checkpoint_sha256());
  AddHead(&child, 3, flags.new_head);
  child.mutable_training()->set_steps(steps);
  child.mutable_training()->set_new_head_init(init);
  child.mutable_training()->set_growth_batches(flags.growth_batches);
  child.mutable_training()->set_seed(static_cast<uint64_t>(1000 + seed));
  return child;
}

// Trains seed's parent, then its children for both initialisations and every step count,
// printing a row per initialisation. The error names which training failed.
absl::Status RunSeed(headevo::worker::TorchEvaluator& evaluator, const Flags& flags, int seed,
                     Losses& losses) {
  const EvaluationRequest parent = ParentRequest(static_cast<uint64_t>(seed), flags.parent_steps);
  absl::StatusOr<EvaluationResult> trained = evaluator.Evaluate(parent);
  if (!trained.ok()) {
    return absl::Status(trained.status().code(),
                        absl::StrCat("parent: ", trained.status().message()));
  }
  losses.parent.push_back(trained->metrics().val_loss());
  for (int i = 0; i < 2; ++i) {
    std::string row;
    for (size_t s = 0; s < flags.steps.size(); ++s) {
      absl::StatusOr<EvaluationResult> result = evaluator.Evaluate(
          ChildRequest(parent, *trained, flags, seed, kInits[i], flags.steps[s]));
      if (!result.ok()) {
        return absl::Status(result.status().code(),
                            absl::StrCat("child: ", result.status().message()));
      }
      losses.child[i][s].push_back(result->metrics().val_loss());
      if (i == 1 && s == 0 && result->growth_size() == 1) {
        losses.init_change.push_back(result->growth(0).measured_loss_change());
      }
      absl::StrAppend(&row, absl::StrFormat("%-7.4f  ", result->metrics().val_loss()));
    }
    std::printf("%-4d  %-10.4f  %-8s  %s\n", seed, losses.parent.back(), kInitNames[i],
                row.c_str());
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

void PrintSummary(const Flags& flags, const Losses& losses) {
  const int seeds = flags.seeds;
  std::printf("\nvalidation loss after N steps, mean +- sd over %d seeds (parent: %.4f)\n", seeds,
              MeanSd(losses.parent).mean);
  std::printf("%-7s  %-17s  %-17s  %s\n", "N", "random", "gradient", "gradient/random");
  for (size_t s = 0; s < flags.steps.size(); ++s) {
    const std::vector<double>& random = losses.child[0][s];
    const std::vector<double>& gradient = losses.child[1][s];
    const Stats r = MeanSd(random), g = MeanSd(gradient);
    int wins = 0;
    for (int seed = 0; seed < seeds; ++seed) wins += gradient[seed] < random[seed] ? 1 : 0;
    std::printf("%-7d  %.4f +- %.4f  %.4f +- %.4f  %.3f  (gradient lower in %d/%d seeds)\n",
                flags.steps[s], r.mean, r.sd, g.mean, g.sd, g.mean / r.mean, wins, seeds);
    std::printf("RESULT growth_init steps=%d random=%.4f gradient=%.4f ratio=%.3f wins=%d/%d\n",
                flags.steps[s], r.mean, g.mean, g.mean / r.mean, wins, seeds);
  }
  if (!losses.init_change.empty()) {
    std::printf("RESULT growth_init measured_init_loss_change=%.4f (line-search batches, mean)\n",
                MeanSd(losses.init_change).mean);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Random against functional-gradient initialisation of a new head on the planted-offset "
      "task: validation loss after N training steps from the parent's weights."};
  Flags flags;
  AddFlags(app, flags);
  CLI11_PARSE(app, argc, argv);
  std::sort(flags.new_head.begin(), flags.new_head.end());
  flags.new_head.erase(std::unique(flags.new_head.begin(), flags.new_head.end()),
                       flags.new_head.end());

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrFormat("headevo-growth-init-%d", getpid());
  headevo::worker::TorchEvaluatorOptions options;
  options.checkpoint_dir = dir.string();
  auto evaluator = headevo::worker::TorchEvaluator::Create(options);
  if (!evaluator.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(evaluator.status().message()).c_str());
    return 1;
  }
  Losses losses(flags.steps.size());
  std::printf("seed  parent_val  init      %s\n",
              absl::StrJoin(flags.steps, "  ", [](std::string* out, int n) {
                absl::StrAppend(out, absl::StrFormat("N=%-5d", n));
              }).c_str());
  for (int seed = 1; seed <= flags.seeds; ++seed) {
    if (absl::Status s = RunSeed(**evaluator, flags, seed, losses); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  PrintSummary(flags, losses);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}
