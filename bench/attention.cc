// Part 1: forward + backward time of the sparse-offset attention op against the worker's own
// dense path (matmul_attention.h: masked softmax through batched matrix products) in the same
// build, and the useful GFLOP/s the offset op reaches against torch::mm measured in the same run.
// Part 2 (attention_step.h): whole training steps of the worker's model through either path.
//
//   build/bench/bench_attention [--quick] [--no-dense] [--steps-only | --kernel-only]
//                               [--system-malloc] [--omp-spin]
//
// Part 1 shapes: B=4, H=8, D=32, n in {512, 1024, 4096, 16384}, k in {8, 32, 128} random causal
// offsets per head in [-(n-1), 0]. Dense (causal, with the offset bias) only where its n x n
// scores fit: n <= 4096. Each time is the best of several repetitions after a warm-up.
// Useful flops count only in-range (query, key) pairs: 4D forward (QK, PV), 8D backward
// (dP, dQ, dK, dV). Machine-readable lines: part 2's per-length breakdown (attention_step.h),
// then part 1's and part 2's summaries:
//   RESULT speedup_vs_dense_n4096_k32=<x> mm_fraction_n4096_k32=<f>
//   RESULT dense_step_speedup_n784=<offset kernel / matmul> dense_attention_mm_fraction_n784=<f>
// --omp-spin keeps libgomp's spinning wait policy, which the bench, like `headevo`, otherwise
// replaces (worker/thread_tuning.h).
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "bench/attention_step.h"
#include "worker/allocator_tuning.h"
#include "worker/genome_layout.h"
#include "worker/thread_tuning.h"

namespace {

using headevo::bench::AttentionOpSeconds;
using headevo::bench::BestSeconds;

constexpr int64_t kBatch = 4, kHeads = 8, kHeadDim = 32;

std::vector<std::vector<int32_t>> RandomCausalOffsets(int64_t n, int64_t k, std::mt19937& rng) {
  std::vector<std::vector<int32_t>> offsets(kHeads);
  std::uniform_int_distribution<int32_t> draw(-static_cast<int32_t>(n - 1), 0);
  for (auto& head : offsets) {
    std::set<int32_t> chosen;
    while (static_cast<int64_t>(chosen.size()) < std::min(k, n)) chosen.insert(draw(rng));
    head.assign(chosen.begin(), chosen.end());
  }
  return offsets;
}

// In-range (query, key) pairs over all heads of one batch element.
int64_t ValidPairs(const std::vector<std::vector<int32_t>>& offsets, int64_t n) {
  int64_t pairs = 0;
  for (const auto& head : offsets) {
    for (int32_t o : head) pairs += std::max<int64_t>(0, n - std::abs(o));
  }
  return pairs;
}

// The worker's dense path: causal dense offsets through the matrix products, with the bias.
double DenseSeconds(int64_t n, int repetitions) {
  const std::vector<std::vector<int32_t>> heads(
      kHeads, headevo::worker::DenseOffsets(static_cast<int>(n), true));
  return AttentionOpSeconds({kBatch, kHeads, kHeadDim}, n, heads,
                            headevo::worker::AttentionPath::kMatmul, repetitions);
}

double MatmulGflops() {
  torch::manual_seed(0);
  const torch::Tensor a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
  const double seconds = BestSeconds(5, [&] { torch::mm(a, b); });
  return 2.0 * 2048 * 2048 * 2048 / seconds / 1e9;
}

void KernelTable(bool quick, bool with_dense, double mm_gflops) {
  std::printf("\nSparse-offset op against the worker's dense path (B %lld, H %lld, D %lld):\n",
              static_cast<long long>(kBatch), static_cast<long long>(kHeads),
              static_cast<long long>(kHeadDim));
  std::printf("%6s %5s %12s %12s %9s %10s %8s\n", "n", "k", "sparse ms", "dense ms", "speedup",
              "GFLOP/s", "of mm");

  std::mt19937 rng(1);
  double speedup_4096_32 = 0.0, fraction_4096_32 = 0.0;
  const std::vector<int64_t> lengths =
      quick ? std::vector<int64_t>{512, 4096} : std::vector<int64_t>{512, 1024, 4096, 16384};
  for (int64_t n : lengths) {
    const int repetitions = n >= 16384 ? 2 : 3;
    const double dense = with_dense && n <= 4096 ? DenseSeconds(n, n >= 4096 ? 2 : 3) : 0.0;
    for (int64_t k : {8, 32, 128}) {
      if (quick && k != 32) continue;
      const auto offsets = RandomCausalOffsets(n, k, rng);
      const double sparse = AttentionOpSeconds({kBatch, kHeads, kHeadDim}, n, offsets,
                                                headevo::worker::AttentionPath::kOffsets,
                                                repetitions);
      const double flops = 12.0 * kHeadDim * kBatch * static_cast<double>(ValidPairs(offsets, n));
      const double gflops = flops / sparse / 1e9;
      const double speedup = dense > 0 ? dense / sparse : 0.0;
      char dense_text[32] = "-", speedup_text[32] = "-";
      if (dense > 0) {
        std::snprintf(dense_text, sizeof dense_text, "%.1f", dense * 1e3);
        std::snprintf(speedup_text, sizeof speedup_text, "%.1fx", speedup);
      }
      std::printf("%6lld %5lld %12.2f %12s %9s %10.1f %8.2f\n", static_cast<long long>(n),
                  static_cast<long long>(k), sparse * 1e3, dense_text, speedup_text, gflops,
                  gflops / mm_gflops);
      std::fflush(stdout);
      if (n == 4096 && k == 32) {
        speedup_4096_32 = speedup;
        fraction_4096_32 = gflops / mm_gflops;
      }
    }
  }
  std::printf("\nRESULT speedup_vs_dense_n4096_k32=%.1f mm_fraction_n4096_k32=%.3f\n",
              speedup_4096_32, fraction_4096_32);
}

}  // namespace

int main(int argc, char** argv) {
  // As `headevo` does first thing (see worker/thread_tuning.h), unless told to keep libgomp's
  // spinning threads.
  bool omp_spin = false;
  for (int i = 1; i < argc; ++i) omp_spin = omp_spin || std::strcmp(argv[i], "--omp-spin") == 0;
  if (!omp_spin) headevo::worker::RestartWithSleepingOpenMpThreads(argv);
  bool quick = false, with_dense = true, tune_malloc = true, kernel_table = true, steps = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;  // n in {512, 4096}, k = 32 only
    } else if (std::strcmp(argv[i], "--no-dense") == 0) {
      with_dense = false;
    } else if (std::strcmp(argv[i], "--steps-only") == 0) {
      kernel_table = false;  // part 2 only
    } else if (std::strcmp(argv[i], "--kernel-only") == 0) {
      steps = false;  // part 1 only
    } else if (std::strcmp(argv[i], "--omp-spin") == 0) {
      // libgomp's default wait policy (handled above)
    } else if (std::strcmp(argv[i], "--system-malloc") == 0) {
      tune_malloc = false;  // glibc's defaults: fresh pages for every large buffer
    } else {
      std::fprintf(stderr,
                   "usage: bench_attention [--quick] [--no-dense] [--steps-only | "
                   "--kernel-only] [--system-malloc] [--omp-spin]\n");
      return 2;
    }
  }
  // As `headevo` does at start-up (see worker/allocator_tuning.h).
  const bool tuned = tune_malloc && headevo::worker::KeepFreedMemoryInProcess();
  std::printf("malloc: %s\n", tuned ? "freed memory kept in the process" : "glibc defaults");
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  std::printf("OMP_WAIT_POLICY: %s\n", wait_policy != nullptr ? wait_policy : "unset (spinning)");
  // Debian's LibTorch (OpenMP) may start with one thread; use every core, as the worker does.
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::printf("threads: %d (LibTorch intra-op)\n", at::get_num_threads());
  const double mm_gflops = MatmulGflops();
  std::printf("torch::mm 2048x2048 fp32: %.1f GFLOP/s\n\n", mm_gflops);
  const headevo::bench::DenseStepFigures figures =
      steps ? headevo::bench::RunTrainingSteps(quick, mm_gflops)
            : headevo::bench::DenseStepFigures{};
  if (kernel_table) KernelTable(quick, with_dense, mm_gflops);
  if (steps) {
    std::printf("RESULT dense_step_speedup_n784=%.1f dense_attention_mm_fraction_n784=%.3f\n",
                figures.offsets_seconds / figures.matmul_seconds, figures.attention_fraction);
  }
  return 0;
}
