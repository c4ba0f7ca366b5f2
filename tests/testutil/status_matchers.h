// Test helpers for absl::Status and absl::StatusOr.
#ifndef HEADEVO_TESTS_TESTUTIL_STATUS_MATCHERS_H_
#define HEADEVO_TESTS_TESTUTIL_STATUS_MATCHERS_H_

#include <utility>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace headevo::testing {

inline const absl::Status& ToStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace headevo::testing

#define HEADEVO_CONCAT_INNER(a, b) a##b
#define HEADEVO_CONCAT(a, b) HEADEVO_CONCAT_INNER(a, b)

#define ASSERT_OK(expr) ASSERT_TRUE(::headevo::testing::ToStatus(expr).ok()) \
    << ::headevo::testing::ToStatus(expr)
#define EXPECT_OK(expr) EXPECT_TRUE(::headevo::testing::ToStatus(expr).ok()) \
    << ::headevo::testing::ToStatus(expr)

// ASSERT_OK_AND_ASSIGN(auto x, MakeX()) — fails the test with the status if it is not OK.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(HEADEVO_CONCAT(status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  ASSERT_TRUE(tmp.ok()) << tmp.status();           \
  lhs = std::move(tmp).value()

#endif  // HEADEVO_TESTS_TESTUTIL_STATUS_MATCHERS_H_
