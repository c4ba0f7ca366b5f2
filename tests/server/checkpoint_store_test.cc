// The coordinator's checkpoint directory (server/engine/checkpoint_store.h): a file damaged on
// disk after its upload is caught by Verify and quarantined, never served; a full filesystem
// refuses an upload as ResourceExhausted naming the file, keeps nothing, and takes the same
// upload once space is freed.
#include "server/engine/checkpoint_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/testutil/small_filesystem.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::server {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (char& b : bytes) b = static_cast<char>(rng() & 0xff);
  return bytes;
}

std::string ShaOf(const std::string& bytes, const std::string& scratch) {
  std::ofstream(scratch, std::ios::binary) << bytes;
  absl::StatusOr<std::string> sha = Sha256OfFile(scratch);
  EXPECT_TRUE(sha.ok()) << sha.status();
  fs::remove(scratch);
  return sha.ok() ? *sha : "";
}

// Uploads `bytes` under `sha` in 4 KiB pieces.
absl::Status Upload(CheckpointStore& store, const std::string& sha, const std::string& bytes) {
  absl::StatusOr<std::unique_ptr<CheckpointUpload>> upload =
      store.BeginUpload(sha, static_cast<int64_t>(bytes.size()));
  if (!upload.ok()) return upload.status();
  for (size_t offset = 0; offset < bytes.size(); offset += 4096) {
    if (absl::Status s = (*upload)->Append(bytes.substr(offset, 4096)); !s.ok()) return s;
  }
  return (*upload)->Finish().status();
}

std::vector<std::string> FilesIn(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class CheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CheckpointStoreOptions options;
    options.log = [this](const std::string& line) { log_ += line + "\n"; };
    ASSERT_OK_AND_ASSIGN(store_, CheckpointStore::Open(dir_.File("ckpt"), options));
  }

  testing::TempDir dir_;
  std::unique_ptr<CheckpointStore> store_;
  std::string log_;
};

TEST_F(CheckpointStoreTest, AnIntactCheckpointVerifies) {
  const std::string bytes = RandomBytes(10'000, 1);
  const std::string sha = ShaOf(bytes, dir_.File("scratch"));
  ASSERT_OK(Upload(*store_, sha, bytes));
  EXPECT_OK(store_->Verify(sha));
  EXPECT_TRUE(store_->Has(sha));
  EXPECT_EQ(log_, "");
}

TEST_F(CheckpointStoreTest, AMissingCheckpointIsNotFound) {
  EXPECT_EQ(store_->Verify(std::string(64, 'a')).code(), absl::StatusCode::kNotFound);
}

TEST_F(CheckpointStoreTest, AFileDamagedOnDiskIsDataLossAndQuarantined) {
  const std::string bytes = RandomBytes(10'000, 2);
  const std::string sha = ShaOf(bytes, dir_.File("scratch"));
  ASSERT_OK(Upload(*store_, sha, bytes));
  const std::string path = store_->PathOf(sha);
  // One byte in the middle flipped, as a failing disk would.
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(5'000);
    file.put(static_cast<char>(bytes[5'000] ^ 0x01));
  }

  const absl::Status damaged = store_->Verify(sha);
  EXPECT_EQ(damaged.code(), absl::StatusCode::kDataLoss) << damaged;
  EXPECT_TRUE(Contains(std::string(damaged.message()), path)) << damaged;
  // Moved aside, kept for inspection, and said so once.
  EXPECT_FALSE(store_->Has(sha));
  EXPECT_EQ(FilesIn(store_->dir()), std::vector<std::string>{sha + ".ckpt.damaged"});
  EXPECT_TRUE(Contains(log_, "checkpoint file " + path + " is damaged on disk")) << log_;
  EXPECT_TRUE(Contains(log_, "quarantined as " + path + ".damaged")) << log_;

  // Asked again, it is still DataLoss (not "never uploaded"), and nothing more is logged.
  const std::string logged = log_;
  const absl::Status again = store_->Verify(sha);
  EXPECT_EQ(again.code(), absl::StatusCode::kDataLoss) << again;
  EXPECT_TRUE(Contains(std::string(again.message()), "quarantined")) << again;
  EXPECT_EQ(log_, logged);

  // A worker holding a good copy may upload it again; it is served from then on.
  ASSERT_OK(Upload(*store_, sha, bytes));
  EXPECT_OK(store_->Verify(sha));
}

TEST(WriteFailureTest, AFullDiskIsResourceExhaustedNamingTheFile) {
  for (const int full : {ENOSPC, EDQUOT}) {
    const absl::Status status = WriteFailure("write", "/ckpt/x.upload-1", full);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_TRUE(Contains(std::string(status.message()), "disk full writing /ckpt/x.upload-1"))
        << status;
  }
  const absl::Status other = WriteFailure("write", "/ckpt/x.upload-1", EIO);
  EXPECT_EQ(other.code(), absl::StatusCode::kInternal) << other;
  EXPECT_TRUE(Contains(std::string(other.message()), "cannot write /ckpt/x.upload-1")) << other;
}

TEST(CheckpointStoreFullDiskTest, AFullFilesystemRefusesTheUploadKeepsNothingAndTakesItLater) {
  testing::SmallFilesystem disk(1 << 20);
  if (!disk.unavailable().empty()) GTEST_SKIP() << disk.unavailable();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CheckpointStore> store,
                       CheckpointStore::Open(disk.File("ckpt")));
  const std::string bytes = RandomBytes(128 * 1024, 3);
  const std::string sha = ShaOf(bytes, disk.File("scratch"));
  // Leave a quarter of the checkpoint's size free: its upload cannot fit.
  const int64_t filler = disk.FreeBytes() - static_cast<int64_t>(bytes.size()) / 4;
  ASSERT_GT(filler, 0);
  ASSERT_EQ(disk.Fill("filler", filler), filler);

  const absl::Status full = Upload(*store, sha, bytes);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_TRUE(Contains(std::string(full.message()), "disk full writing " + store->dir())) << full;
  EXPECT_TRUE(Contains(std::string(full.message()), "retry")) << full;
  EXPECT_FALSE(store->Has(sha));
  EXPECT_EQ(FilesIn(store->dir()), std::vector<std::string>{}) << "a partial upload was left";

  fs::remove(disk.File("filler"));
  ASSERT_OK(Upload(*store, sha, bytes));
  EXPECT_OK(store->Verify(sha));
}

}  // namespace
}  // namespace headevo::server
