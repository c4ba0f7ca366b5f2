// Helpers for the storage tests: temporary directories, file bytes, status messages.
#ifndef HEADEVO_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
#define HEADEVO_TESTS_STORAGE_STORAGE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::testing {

// Success when `status` failed with `code` and its message contains `part`.
inline ::testing::AssertionResult IsError(const absl::Status& status, absl::StatusCode code,
                                          absl::string_view part) {
  if (status.code() == code && absl::StrContains(status.message(), part)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << status << ", want " << absl::StatusCodeToString(code)
         << " with a message containing \"" << part << "\"";
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
