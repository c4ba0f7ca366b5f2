#include "worker/training_run.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "tests/testutil/fake_evaluator.h"
#include "tests/worker/test_evaluators.h"
#include "tests/worker/test_requests.h"

namespace headevo::worker {
namespace {

using testing::BlockingEvaluator;
using testing::ThrowingEvaluator;
using testing::TinyPlantedRequest;

TEST(TrainingRunTest, GivesTheEvaluatorsResult) {
  headevo::testing::FakeEvaluator evaluator({-3});
  TrainingRun run(&evaluator, TinyPlantedRequest());
  const absl::StatusOr<headevo::v1::EvaluationResult> result = run.Join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->candidate_id(), 7);
  ASSERT_EQ(evaluator.requests.size(), 1u);
}

TEST(TrainingRunTest, CancelStopsTheEvaluationWithCancelled) {
  BlockingEvaluator evaluator;
  TrainingRun run(&evaluator, TinyPlantedRequest());
  run.Cancel();
  EXPECT_EQ(run.Join().status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(evaluator.saw_cancel.load());
  EXPECT_EQ(evaluator.running.load(), 0);
}

TEST(TrainingRunTest, DestroyingTheRunCancelsAndJoinsIt) {
  BlockingEvaluator evaluator;
  {
    TrainingRun run(&evaluator, TinyPlantedRequest());
    // Not ended: the evaluator waits for a cancel that has not come.
    EXPECT_FALSE(run.WaitFor(std::chrono::milliseconds(0)));
  }
  EXPECT_EQ(evaluator.running.load(), 0) << "the evaluation outlived its TrainingRun";
  EXPECT_TRUE(evaluator.saw_cancel.load());
}

TEST(TrainingRunTest, AnExceptionStopsOnTheTrainingThreadAsInternal) {
  ThrowingEvaluator evaluator("tokenizer exploded");
  TrainingRun run(&evaluator, TinyPlantedRequest());
  const absl::Status status = run.Join().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("candidate 7"), std::string::npos) << status;
  EXPECT_NE(status.message().find("tokenizer exploded"), std::string::npos) << status;
}

}  // namespace
}  // namespace headevo::worker
