// bench_storage's command-line settings, the shape of the generated search, and its clocks.
#ifndef HEADEVO_BENCH_STORAGE_FLAGS_H_
#define HEADEVO_BENCH_STORAGE_FLAGS_H_

#include <time.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace headevo::bench_storage {

using Clock = std::chrono::steady_clock;

constexpr int kNumLayers = 2;
constexpr int kMinOffset = -64;
constexpr int64_t kStartMs = 1'700'000'000'000;  // the fake clock the jobs are stamped with

struct Flags {
  int64_t candidates = 1'000'000;
  int population = 1000;
  int heads = 8;
  std::string db;  // "" = a fresh file in a new temp directory
  bool keep = false;
  uint64_t seed = 1;
  int full_generations = 20;
  int repetitions = 50;
};

inline double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU time of this process: with the wall time, tells the cost of the work from time spent
// waiting (fsync, or other processes on a shared machine).
inline double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
}

}  // namespace headevo::bench_storage

#endif  // HEADEVO_BENCH_STORAGE_FLAGS_H_
