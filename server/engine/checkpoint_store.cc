#include "server/engine/checkpoint_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"

namespace headevo::server {
namespace {

namespace fs = std::filesystem;

constexpr char kSuffix[] = ".ckpt";
constexpr char kTempMarker[] = ".upload-";
constexpr char kDamagedSuffix[] = ".damaged";

std::string Hex(const unsigned char* bytes, unsigned int size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kDigits[bytes[i] >> 4]);
    hex.push_back(kDigits[bytes[i] & 15]);
  }
  return hex;
}


int64_t AgeMs(const fs::path& path) {
  std::error_code ec;
  const auto written = fs::last_write_time(path, ec);
  if (ec) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(fs::file_time_type::clock::now() -
                                                               written)
      .count();
}

}  // namespace

absl::Status WriteFailure(const std::string& what, const std::string& path, int error_number) {
  if (error_number == ENOSPC || error_number == EDQUOT) {
    return absl::ResourceExhaustedError(
        absl::StrCat("disk full writing ", path, " (", std::strerror(error_number),
                     "): free space on its filesystem and the worker's retry will store it"));
  }
  return absl::InternalError(
      absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(error_number)));
}

absl::StatusOr<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(
    const std::string& dir, CheckpointStoreOptions options) {
  if (dir.empty()) return absl::InvalidArgumentError("checkpoint directory path is empty");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create checkpoint directory ", dir, ": ", ec.message()));
  }
  if (access(dir.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint directory ", dir, " is not writable"));
  }
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(dir, std::move(options)));
}

void CheckpointStore::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::cerr << line << std::endl;
  }
}

std::string CheckpointStore::PathOf(const std::string& sha256) const {
  return (fs::path(dir_) / absl::StrCat(sha256, kSuffix)).string();
}

bool CheckpointStore::Has(const std::string& sha256) const {
  std::error_code ec;
  return fs::is_regular_file(PathOf(sha256), ec);
}

absl::StatusOr<int64_t> CheckpointStore::SizeOf(const std::string& sha256) const {
  std::error_code ec;
  const auto size = fs::file_size(PathOf(sha256), ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("checkpoint ", sha256, " is not in ", dir_,
                                            " (never uploaded, or collected)"));
  }
  return static_cast<int64_t>(size);
}

absl::Status CheckpointStore::Verify(const std::string& sha256) const {
  const std::string path = PathOf(sha256);
  const std::string quarantine = path + kDamagedSuffix;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    if (fs::exists(quarantine, ec)) {
      return absl::DataLossError(absl::StrCat("checkpoint ", sha256,
                                              " was found damaged on disk and quarantined as ",
                                              quarantine, "; it cannot be served"));
    }
    return absl::NotFoundError(absl::StrCat("checkpoint ", sha256, " is not in ", dir_,
                                            " (never uploaded, or collected)"));
  }
  absl::StatusOr<std::string> actual = Sha256OfFile(path);
  if (!actual.ok()) return actual.status();
  if (*actual == sha256) return absl::OkStatus();
  // Moved aside rather than deleted, so an operator can see what the disk did to it.
  std::string fate = "quarantined as " + quarantine;
  fs::rename(path, quarantine, ec);
  if (ec) {
    fs::remove(path, ec);
    fate = "removed";
  }
  const std::string message =
      absl::StrCat("checkpoint file ", path, " is damaged on disk (its bytes hash to ", *actual,
                   "): ", fate, "; no worker will train from it");
  Log(absl::StrCat("checkpoint store: ", message));
  return absl::DataLossError(message);
}

absl::StatusOr<std::unique_ptr<CheckpointUpload>> CheckpointStore::BeginUpload(
    const std::string& sha256, int64_t total_bytes) {
  static std::mutex mu;
  static std::mt19937_64 names(std::random_device{}());
  std::string temp;
  {
    std::lock_guard<std::mutex> lock(mu);
    temp = (fs::path(dir_) / absl::StrCat(sha256, kTempMarker, names())).string();
  }
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return WriteFailure("create", temp, errno);
  EVP_MD_CTX* hash = EVP_MD_CTX_new();
  if (hash == nullptr || EVP_DigestInit_ex(hash, EVP_sha256(), nullptr) != 1) {
    ::close(fd);
    ::unlink(temp.c_str());
    EVP_MD_CTX_free(hash);
    return absl::InternalError("cannot start a SHA-256 digest");
  }
  return std::unique_ptr<CheckpointUpload>(
      new CheckpointUpload(sha256, total_bytes, PathOf(sha256), temp, fd, hash));
}

absl::StatusOr<bool> CheckpointStore::Remove(const std::string& sha256) {
  const bool well_formed =
      sha256.size() == 64 && std::all_of(sha256.begin(), sha256.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      });
  if (!well_formed) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint name must be 64 lower-case hex digits, got '",
                     sha256.substr(0, 80), "'"));
  }
  std::error_code ec;
  const bool removed = fs::remove(PathOf(sha256), ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot remove checkpoint ", PathOf(sha256), ": ", ec.message()));
  }
  return removed;
}

absl::StatusOr<int> CheckpointStore::Collect(const std::set<std::string>& keep,
                                             int64_t min_age_ms) {
  constexpr int64_t kAbandonedUploadMs = int64_t{24} * 3600 * 1000;
  int removed = 0;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    const bool temp = name.find(kTempMarker) != std::string::npos;
    const bool checkpoint =
        !temp && name.size() == 64 + std::strlen(kSuffix) && name.substr(64) == kSuffix;
    if (!temp && !checkpoint) continue;  // not ours: leave it
    const int64_t age = AgeMs(entry.path());
    if (temp ? age < kAbandonedUploadMs : (keep.count(name.substr(0, 64)) || age < min_age_ms)) {
      continue;
    }
    std::error_code remove_ec;
    if (fs::remove(entry.path(), remove_ec)) ++removed;
  }
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot list checkpoint directory ", dir_, ": ",
                                            ec.message()));
  }
  return removed;
}

CheckpointUpload::CheckpointUpload(std::string sha256, int64_t total_bytes, std::string final_path,
                                   std::string temp_path, int fd, void* hash)
    : sha256_(std::move(sha256)),
      total_bytes_(total_bytes),
      final_path_(std::move(final_path)),
      temp_path_(std::move(temp_path)),
      fd_(fd),
      hash_(hash) {}

CheckpointUpload::~CheckpointUpload() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_) ::unlink(temp_path_.c_str());
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(hash_));
}

absl::Status CheckpointUpload::Append(const std::string& bytes) {
  if (written_ + static_cast<int64_t>(bytes.size()) > total_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint ", sha256_, ": more than the ",
                                                   total_bytes_, " bytes announced"));
  }
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(hash_), bytes.data(), bytes.size());
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return WriteFailure("write", temp_path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  written_ += static_cast<int64_t>(bytes.size());
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CheckpointUpload::Finish() {
  if (written_ != total_bytes_) {
    return absl::DataLossError(absl::StrCat("checkpoint ", sha256_, ": got ", written_,
                                            " bytes of the ", total_bytes_, " announced"));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(hash_), digest, &size);
  const std::string actual = Hex(digest, size);
  if (actual != sha256_) {
    return absl::DataLossError(absl::StrCat("checkpoint upload announced sha256 ", sha256_,
                                            " but its bytes hash to ", actual,
                                            "; nothing was stored"));
  }
  if (::fsync(fd_) != 0) return WriteFailure("fsync", temp_path_, errno);
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return WriteFailure("rename into place", final_path_, errno);
  }
  finished_ = true;
  return written_;
}

absl::StatusOr<std::string> Sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  EVP_MD_CTX* hash = EVP_MD_CTX_new();
  EVP_DigestInit_ex(hash, EVP_sha256(), nullptr);
  std::string buffer(1 << 20, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(hash, buffer.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(hash, digest, &size);
  EVP_MD_CTX_free(hash);
  // eof alone is the end of the file; bad is a read error (an I/O error of the disk).
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path, " to the end"));
  return Hex(digest, size);
}

}  // namespace headevo::server
