#include "bench/attention_step.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "worker/genome_layout.h"
#include "worker/matmul_attention.h"
#include "worker/model.h"
#include "worker/sparse_attention.h"

namespace headevo::bench {
namespace {

using headevo::worker::AttentionPath;
using Offsets = std::vector<std::vector<int32_t>>;

constexpr int64_t kBatch = 8, kLayers = 2, kHeads = 4, kDModel = 32, kHeadDim = 8, kVocab = 256;
constexpr int64_t kMlpRatio = 4;

double Seconds(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Genome {
  std::string name;
  Offsets heads;  // the same for both layers
};

std::vector<Genome> Genomes(int64_t n, std::mt19937& rng) {
  const int seq = static_cast<int>(n);
  Offsets random(kHeads);
  std::uniform_int_distribution<int32_t> draw(-std::min<int32_t>(seq - 1, 64), 0);
  for (auto& head : random) {
    std::set<int32_t> chosen;
    while (chosen.size() < 8) chosen.insert(draw(rng));
    head.assign(chosen.begin(), chosen.end());
  }
  return {{"dense", Offsets(kHeads, worker::DenseOffsets(seq, true))},
          {"local32", Offsets(kHeads, worker::LocalOffsets(seq, true, 32))},
          {"k=8", random}};
}

// One training step of a freshly built model: forward, token cross-entropy, backward, AdamW.
double StepSeconds(int64_t n, const Offsets& heads, AttentionPath path, int repetitions) {
  torch::manual_seed(0);
  worker::SparseTransformerOptions options;
  options.vocab_size = kVocab;
  options.d_model = kDModel;
  options.d_head = kHeadDim;
  options.mlp_ratio = kMlpRatio;
  options.seq_len = n;
  options.offsets.assign(kLayers, heads);
  options.attention_path = path;
  worker::SparseTransformer model(options);
  torch::optim::AdamW optimizer(model->TrainableParameters(),
                                torch::optim::AdamWOptions(1e-3).weight_decay(0.0));
  const torch::Tensor tokens = torch::randint(0, kVocab, {kBatch, n}, torch::kInt64);
  const torch::Tensor targets = torch::randint(0, kVocab, {kBatch, n}, torch::kInt64);
  return BestSeconds(repetitions, [&] {
    optimizer.zero_grad();
    const torch::Tensor logits = model->forward(tokens);
    torch::nn::functional::cross_entropy(logits.reshape({-1, kVocab}), targets.reshape(-1))
        .backward();
    optimizer.step();
  });
}

// Forward + backward of the matrix-product attention of one layer (B, H, n, d_head as in the
// model, causal dense offsets, with the bias), and its rate: the products compute 2 n^2 D
// flops each per (batch, head), two forward and four backward, masked half included.
double DenseAttentionGflops(int64_t n, int repetitions) {
  const Offsets heads(kHeads, worker::DenseOffsets(static_cast<int>(n), true));
  const double seconds = AttentionOpSeconds({kBatch, kHeads, kHeadDim}, n, heads,
                                             AttentionPath::kMatmul, repetitions);
  const double flops = 6.0 * 2.0 * kBatch * kHeads * static_cast<double>(n) * n * kHeadDim;
  return flops / seconds / 1e9;
}

// The model's flops in one training step: 6 per weight of its matrix products per token
// (forward 2, backward 4; embedding lookups, norms and biases left out) and 12 d_head per
// in-range (query, key) pair of each head (4 forward, 8 backward), the masked half of dense
// attention not counted.
double StepFlops(int64_t n, const Offsets& heads) {
  const double weights =
      kLayers * (3.0 * kDModel * kHeads * kHeadDim + kHeads * kHeadDim * kDModel +
                 2.0 * kDModel * kMlpRatio * kDModel) +
      static_cast<double>(kDModel) * kVocab;
  double pairs = 0;
  for (const auto& head : heads) {
    for (int32_t o : head) pairs += static_cast<double>(std::max<int64_t>(0, n - std::abs(o)));
  }
  return 6.0 * weights * kBatch * n + kLayers * 12.0 * kHeadDim * kBatch * pairs;
}

struct StepRow {
  std::string genome;
  AttentionPath path;  // what the worker picks
  double step_seconds = 0, attention_seconds = 0, flops = 0;
};

// Where the steps of one length went: per genome, through the path the worker picks, the
// share of the step in attention (both layers' op alone, forward + backward), tokens/s and
// its ratio to dense's, and model flop utilisation against torch::mm's rate. Prints the
// table rows and a RESULT line.
void PrintBreakdown(int64_t n, const std::vector<StepRow>& rows, double mm_gflops) {
  double dense_seconds = 0;
  for (const StepRow& row : rows) {
    if (row.genome == "dense") dense_seconds = row.step_seconds;
  }
  std::string result = "RESULT";
  for (const StepRow& row : rows) {
    const double share = row.attention_seconds / row.step_seconds;
    const double tokens_per_second = kBatch * n / row.step_seconds;
    const double mfu = row.flops / row.step_seconds / 1e9 / mm_gflops;
    std::printf("%6lld %8s %8s %10.1f %13.1f %6.2f %10.0f %9.1fx %7.3f\n",
                static_cast<long long>(n), row.genome.c_str(),
                row.path == AttentionPath::kMatmul ? "matmul" : "offsets", row.step_seconds * 1e3,
                row.attention_seconds * 1e3, share, tokens_per_second,
                dense_seconds / row.step_seconds, mfu);
    std::string name = row.genome == "k=8" ? "k8" : row.genome;
    char fields[160];
    std::snprintf(fields, sizeof fields,
                  " attention_share_%s_n%lld=%.2f tokens_per_s_vs_dense_%s_n%lld=%.2f "
                  "mfu_%s_n%lld=%.3f",
                  name.c_str(), static_cast<long long>(n), share, name.c_str(),
                  static_cast<long long>(n), dense_seconds / row.step_seconds, name.c_str(),
                  static_cast<long long>(n), mfu);
    result += fields;
  }
  std::printf("%s\n", result.c_str());
}

}  // namespace

double BestSeconds(int repetitions, const std::function<void()>& run) {
  if (repetitions == 0) return Seconds(run);
  run();  // warm-up: first-touch allocation, thread pool start
  double best = 1e30;
  for (int i = 0; i < repetitions; ++i) best = std::min(best, Seconds(run));
  return best;
}

double AttentionOpSeconds(const AttentionShape& shape, int64_t n, const Offsets& heads,
                          AttentionPath path, int repetitions) {
  const worker::AttentionPattern pattern = worker::AttentionPattern::Build(heads, n, torch::kCPU);
  const bool matmul = path == AttentionPath::kMatmul;
  const worker::MatmulAttentionPlan plan =
      matmul ? worker::MatmulAttentionPlan::Build(heads, pattern, torch::kCPU)
             : worker::MatmulAttentionPlan{};
  torch::manual_seed(0);
  auto make = [&] {
    return torch::randn({shape.batch, shape.heads, n, shape.head_dim}).requires_grad_(true);
  };
  torch::Tensor q = make(), k = make(), v = make();
  torch::Tensor bias = torch::zeros({shape.heads, pattern.max_k}).requires_grad_(true);
  const torch::Tensor upstream = torch::randn({shape.batch, shape.heads, n, shape.head_dim});
  return BestSeconds(repetitions, [&] {
    const torch::Tensor out =
        matmul ? worker::MatmulAttention(q, k, v, bias, plan, pattern, shape.head_dim,
                                         worker::ProbsWanted::kNone)
                     .output
               : worker::SparseAttention(q, k, v, bias, pattern, shape.head_dim).output;
    torch::autograd::grad({out}, {q, k, v, bias}, {upstream});
  });
}

DenseStepFigures RunTrainingSteps(bool quick, double mm_gflops) {
  std::printf(
      "\nTraining step of the worker's model (d_model %lld, %lld layers x %lld heads, d_head "
      "%lld, batch %lld, causal): forward + backward + AdamW\n",
      static_cast<long long>(kDModel), static_cast<long long>(kLayers),
      static_cast<long long>(kHeads), static_cast<long long>(kHeadDim),
      static_cast<long long>(kBatch));
  std::printf("%6s %8s %7s %13s %13s %9s\n", "n", "genome", "auto", "offsets ms", "matmul ms",
              "speedup");
  DenseStepFigures figures;
  std::mt19937 rng(1);
  const std::vector<int64_t> lengths =
      quick ? std::vector<int64_t>{256, 784} : std::vector<int64_t>{256, 784, 4096};
  std::vector<std::vector<StepRow>> breakdown;
  for (int64_t n : lengths) {
    breakdown.emplace_back();
    for (const Genome& genome : Genomes(n, rng)) {
      const bool slow = n >= 4096 && genome.name == "dense";
      const double offsets =
          StepSeconds(n, genome.heads, AttentionPath::kOffsets, slow ? 0 : (n >= 4096 ? 1 : 3));
      const double matmul = StepSeconds(n, genome.heads, AttentionPath::kMatmul, n >= 4096 ? 1 : 3);
      const bool automatic = worker::MatmulAttentionIsCheaper(genome.heads, n);
      std::printf("%6lld %8s %7s %13.1f %13.1f %8.1fx\n", static_cast<long long>(n),
                  genome.name.c_str(), automatic ? "matmul" : "offsets", offsets * 1e3,
                  matmul * 1e3, offsets / matmul);
      std::fflush(stdout);
      const AttentionPath path = automatic ? AttentionPath::kMatmul : AttentionPath::kOffsets;
      const double attention =
          kLayers * AttentionOpSeconds({kBatch, kHeads, kHeadDim}, n, genome.heads, path,
                                       n >= 4096 ? 1 : 3);
      breakdown.back().push_back(
          {genome.name, path, automatic ? matmul : offsets, attention, StepFlops(n, genome.heads)});
      if (n == 784 && genome.name == "dense") {
        figures.offsets_seconds = offsets;
        figures.matmul_seconds = matmul;
      }
    }
  }
  std::printf(
      "\nWhere a step goes, through the path the worker picks: attention = both layers' op "
      "alone (forward + backward), share of the step; tokens/s and its ratio to dense's; model "
      "flop utilisation (useful flops, of torch::mm's rate):\n");
  std::printf("%6s %8s %8s %10s %13s %6s %10s %10s %7s\n", "n", "genome", "path", "step ms",
              "attention ms", "share", "tokens/s", "vs dense", "mfu");
  for (size_t i = 0; i < lengths.size(); ++i) PrintBreakdown(lengths[i], breakdown[i], mm_gflops);
  std::printf(
      "\nDense attention alone through the products (forward + backward, B %lld, H %lld, "
      "D %lld; flops of the full n x n products):\n",
      static_cast<long long>(kBatch), static_cast<long long>(kHeads),
      static_cast<long long>(kHeadDim));
  for (int64_t n : lengths) {
    const double gflops = DenseAttentionGflops(n, n >= 4096 ? 1 : 3);
    std::printf("%6lld %10.1f GFLOP/s %6.3f of mm\n", static_cast<long long>(n), gflops,
                gflops / mm_gflops);
    if (n == 784) figures.attention_fraction = gflops / mm_gflops;
  }
  return figures;
}

}  // namespace headevo::bench
