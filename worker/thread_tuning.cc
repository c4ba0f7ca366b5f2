#include "worker/thread_tuning.h"

#include <cstdlib>

#if defined(__linux__)
#include <unistd.h>
#endif

namespace headevo::worker {

void RestartWithSleepingOpenMpThreads(char** argv) {
#if defined(__linux__)
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Only reached when execv failed: run on as we are, and say nothing more to the environment
  // of the processes this one starts than it was given.
  unsetenv("OMP_WAIT_POLICY");
#else
  (void)argv;
#endif
}

}  // namespace headevo::worker
