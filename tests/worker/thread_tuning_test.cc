// RestartWithSleepingOpenMpThreads restarts the process with OMP_WAIT_POLICY=passive, and keeps
// a policy that is already set. Each case forks: the child calls it with arguments that restart
// this test binary on one test, ChildSeesPassivePolicy, which passes only in such a restarted
// child that sees "passive"; the parent reads the child's exit status.
#include "worker/thread_tuning.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace headevo::worker {
namespace {

constexpr char kChildMarker[] = "HEADEVO_THREAD_TUNING_CHILD";
constexpr int kNotRestarted = 42;

// Forks a child that sets OMP_WAIT_POLICY to `policy` (unsets it for nullptr) and calls
// RestartWithSleepingOpenMpThreads; returns the child's exit status: kNotRestarted when the
// call returned, otherwise that of this binary restarted on ChildSeesPassivePolicy.
int ChildExitStatus(const char* policy) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (policy == nullptr) {
      unsetenv("OMP_WAIT_POLICY");
    } else {
      setenv("OMP_WAIT_POLICY", policy, 1);
    }
    setenv(kChildMarker, "1", 1);
    std::string filter = "--gtest_filter=ThreadTuningTest.ChildSeesPassivePolicy";
    char* argv[] = {const_cast<char*>("worker_test"), filter.data(), nullptr};
    RestartWithSleepingOpenMpThreads(argv);
    _exit(kNotRestarted);
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ThreadTuningTest, ChildSeesPassivePolicy) {
  if (std::getenv(kChildMarker) == nullptr) GTEST_SKIP() << "runs in the restarted child only";
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  ASSERT_NE(policy, nullptr);
  EXPECT_STREQ(policy, "passive");
}

TEST(ThreadTuningTest, RestartsWithPassivePolicyWhereUnset) {
  EXPECT_EQ(ChildExitStatus(nullptr), 0);
}

TEST(ThreadTuningTest, KeepsAPolicyAlreadySet) {
  EXPECT_EQ(ChildExitStatus("active"), kNotRestarted);
}

}  // namespace
}  // namespace headevo::worker
