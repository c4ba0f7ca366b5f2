// A fresh directory for one test, removed with everything in it when the object goes away.
#ifndef HEADEVO_TESTS_TESTUTIL_TEMP_DIR_H_
#define HEADEVO_TESTS_TESTUTIL_TEMP_DIR_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace headevo::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "headevo_test_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed: " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // `name` inside the directory.
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_TESTUTIL_TEMP_DIR_H_
