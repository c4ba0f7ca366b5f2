#include "search/search_options.h"

#include <cmath>
#include <cstdlib>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "search/image_task.h"

namespace headevo::search {
namespace {

absl::Status RequireAtLeast(const char* field, int64_t value, int64_t minimum) {
  if (value >= minimum) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " must be >= ", minimum, ", got ", value));
}

absl::Status Prefixed(const char* section, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat(section, ": ", status.message()));
}

absl::Status ValidateTraining(const headevo::v1::TrainingSpec& t) {
  const auto& m = t.model();
  const std::tuple<const char*, int64_t, int64_t> minimums[] = {
      {"model.vocab_size", m.vocab_size(), 2},
      {"model.d_model", m.d_model(), 1},
      {"model.layers", m.num_layers(), 1},
      {"model.heads_per_layer", m.heads_per_layer(), 1},
      {"model.d_head", m.d_head(), 1},
      {"model.mlp_ratio", m.mlp_ratio(), 1},
      {"model.seq_len", m.seq_len(), 2},
      {"training.steps", t.steps(), 1},
      {"training.batch_size", t.batch_size(), 1},
      {"training.eval_batches", t.eval_batches(), 1},
  };
  for (const auto& [field, value, minimum] : minimums) {
    if (auto s = RequireAtLeast(field, value, minimum); !s.ok()) return s;
  }
  if (!(t.learning_rate() > 0.0) || !std::isfinite(t.learning_rate())) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.learning_rate must be > 0, got ", t.learning_rate()));
  }
  if (!(t.weight_decay() >= 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.weight_decay must be >= 0, got ", t.weight_decay()));
  }
  const auto& task = t.task();
  if (task.kind() == headevo::v1::TASK_KIND_PLANTED_OFFSETS) {
    if (task.planted_offsets_size() == 0) {
      return absl::InvalidArgumentError("task.planted_offsets must name at least one offset");
    }
    for (int offset : task.planted_offsets()) {
      if (std::abs(offset) >= m.seq_len()) {
        return absl::InvalidArgumentError(absl::StrCat("task.planted_offsets: offset ", offset,
                                                       " does not fit seq_len ", m.seq_len()));
      }
      if (m.causal() && offset > 0) {
        return absl::InvalidArgumentError(absl::StrCat("task.planted_offsets: offset ", offset,
                                                       " looks ahead but model.causal is true"));
      }
    }
  } else if (task.kind() == headevo::v1::TASK_KIND_BROWN_CORPUS ||
             task.kind() == headevo::v1::TASK_KIND_TEXT_FILES) {
    if (task.kind() == headevo::v1::TASK_KIND_TEXT_FILES && task.text_path().empty()) {
      return absl::InvalidArgumentError(
          "task.text_path must name a text file or a directory for the text_files task");
    }
    if (m.vocab_size() != 256) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model.vocab_size must be 256 for a byte-level task (brown_corpus, text_files), got ",
          m.vocab_size()));
    }
  } else if (IsImageTask(task)) {
    if (absl::Status s = ValidateImageTask(t); !s.ok()) return s;
  } else {
    return absl::InvalidArgumentError(
        "task.kind must be planted_offsets, brown_corpus, text_files or image_pixels");
  }
  return absl::OkStatus();
}

}  // namespace

int64_t DenseConnections(const headevo::v1::ModelSpec& model) {
  return static_cast<int64_t>(model.num_layers()) * model.heads_per_layer() * model.seq_len();
}

headevo::v1::TrainingSpec DefaultTrainingSpec() {
  headevo::v1::TrainingSpec t;
  auto* m = t.mutable_model();
  m->set_vocab_size(16);
  m->set_d_model(32);
  m->set_num_layers(2);
  m->set_heads_per_layer(4);
  m->set_d_head(8);
  m->set_mlp_ratio(2);
  m->set_seq_len(32);
  m->set_causal(true);
  m->set_attention(headevo::v1::ATTENTION_KIND_SPARSE);
  t.mutable_task()->set_kind(headevo::v1::TASK_KIND_PLANTED_OFFSETS);
  for (int offset : {-2, -5, -11}) t.mutable_task()->add_planted_offsets(offset);
  t.set_steps(200);
  t.set_batch_size(32);
  t.set_learning_rate(5e-3);
  t.set_weight_decay(0.0);
  t.set_lr_schedule(headevo::v1::LEARNING_RATE_SCHEDULE_COSINE);
  t.set_warmup_steps(20);
  t.set_final_lr_fraction(0.1);
  t.set_max_grad_norm(1.0);
  t.set_new_head_init(headevo::v1::NEW_HEAD_INIT_RANDOM);
  t.set_eval_batches(4);
  return t;
}

const char* ScheduleName(Schedule schedule) {
  return schedule == Schedule::kSteadyState ? "steady_state" : "generational";
}

absl::Status SearchOptions::Validate() const {
  if (auto s = RequireAtLeast("search.population", population_size, 1); !s.ok()) return s;
  if (auto s = RequireAtLeast("search.generations", generations, 0); !s.ok()) return s;
  if (selection.method == SelectionMethod::kTruncation && selection.num_parents > population_size) {
    return absl::InvalidArgumentError(absl::StrCat("selection.parents (", selection.num_parents,
                                                   ") must not exceed search.population (",
                                                   population_size, ")"));
  }
  if (auto s = Prefixed("selection", selection.Validate()); !s.ok()) return s;
  if (auto s = Prefixed("ranking", ranking.Validate()); !s.ok()) return s;
  if (auto s = Prefixed("pruning", pruning.Validate()); !s.ok()) return s;
  if (auto s = Prefixed("initial", initial.Validate()); !s.ok()) return s;
  if (auto s = Prefixed("resampling", resampling.Validate()); !s.ok()) return s;
  // Growth widens a trained head: without the parent's weights there is nothing to widen.
  if (mode == SearchMode::kEvolve && resampling.Uses(Sampler::kGrowth) && !inherit_weights) {
    return absl::InvalidArgumentError(absl::StrCat(
        resampling.sampler == Sampler::kGrowth ? "resampling.sampler = \"growth\""
                                               : "resampling.arms includes \"growth\", which",
        " needs search.inherit_weights = true (growth widens the parent's trained heads)"));
  }
  if (budget_steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "search.budget_steps must be >= 0 (0: no limit), got ", budget_steps));
  }
  if (auto s = Prefixed("fidelity", fidelity.Validate(training.steps())); !s.ok()) return s;
  if (fidelity.enabled && (mode != SearchMode::kEvolve || schedule != Schedule::kSteadyState)) {
    return absl::InvalidArgumentError(
        "fidelity.enabled needs search.mode = \"evolve\" and search.schedule = "
        "\"steady_state\": promotions are asynchronous (ASHA), with no generation barrier");
  }
  if (mode == SearchMode::kKSweep) {
    if (auto s = Prefixed("k_sweep", k_sweep.Validate()); !s.ok()) return s;
    if (k_sweep.k_start > initial.AvailablePositions()) {
      return absl::InvalidArgumentError(absl::StrCat("k_sweep.k_start (", k_sweep.k_start,
                                                     ") exceeds the ", initial.AvailablePositions(),
                                                     " positions initial.window allows"));
    }
  }
  if (pruning.min_heads_per_layer > training.model().heads_per_layer()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pruning.min_heads_per_layer (", pruning.min_heads_per_layer,
                     ") exceeds model.heads_per_layer (", training.model().heads_per_layer(), ")"));
  }
  if (initial.window >= training.model().seq_len()) {
    return absl::InvalidArgumentError(absl::StrCat("initial.window (", initial.window,
                                                   ") must be < model.seq_len (",
                                                   training.model().seq_len(), ")"));
  }
  // Deeper layers' windows must fit the model too (the config caps them at seq_len - 1).
  for (int layer = 1; layer < training.model().num_layers(); ++layer) {
    const int window = initial.ForLayer(layer).window;
    if (window >= training.model().seq_len()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "initial.window_growth gives layer ", layer, " a window of ", window,
          ", which must be < model.seq_len (", training.model().seq_len(),
          "); cap it with initial.layer_windows.max_window"));
    }
  }
  if (initial.causal != training.model().causal()) {
    return absl::InvalidArgumentError("initial offsets and model.causal disagree");
  }
  return ValidateTraining(training);
}

}  // namespace headevo::search
