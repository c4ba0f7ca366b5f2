// bench_coordinator's command-line settings and the clocks every part of it reads.
#ifndef HEADEVO_BENCH_COORDINATOR_FLAGS_H_
#define HEADEVO_BENCH_COORDINATOR_FLAGS_H_

#include <time.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace headevo::bench_coordinator {

using Clock = std::chrono::steady_clock;

struct Flags {
  int workers = 64;
  int64_t jobs = 20'000;
  double seconds = 60;  // stop after this long even if --jobs were not all done
  std::string durability = "group";  // group, full or normal (StoreOptions::Durability)
  int64_t wait_ms = 1000;
  // Mean pause between a report and the next lease (uniform in [0.5, 1.5] x this), standing
  // in for training: 0 is the most load; W workers offer at most W / think jobs per second.
  double think_ms = 0;
  int population = 64;
  // A client asks for the search's summary (GetSearch) this often, as a dashboard or
  // `headevo status` in a loop would; 0: never.
  int64_t status_every_ms = 0;
  // Queries on the writer under the coordinator's lock, as before the coordinator had a reader.
  bool reads_under_lock = false;
  bool keep = false;
};

inline double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

inline double CpuSeconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
}
inline double ThreadCpuSeconds() { return CpuSeconds(CLOCK_THREAD_CPUTIME_ID); }
inline double ProcessCpuSeconds() { return CpuSeconds(CLOCK_PROCESS_CPUTIME_ID); }

}  // namespace headevo::bench_coordinator

#endif  // HEADEVO_BENCH_COORDINATOR_FLAGS_H_
