#include "worker/text_documents.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::worker {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return absl::InternalError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path.string()));
  return contents.str();
}

bool IsBlank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](unsigned char c) { return std::isspace(c); });
}

std::vector<TextDocument> Paragraphs(const std::string& name, const std::string& text) {
  std::vector<TextDocument> documents;
  std::istringstream lines(text);
  std::string line, paragraph;
  const auto flush = [&] {
    if (paragraph.empty()) return;
    documents.push_back({absl::StrCat(name, "#", documents.size()), paragraph});
    paragraph.clear();
  };
  while (std::getline(lines, line)) {
    if (IsBlank(line)) {
      flush();
    } else {
      paragraph += line;
      paragraph += '\n';
    }
  }
  flush();
  return documents;
}

bool IsHidden(const fs::path& relative) {
  for (const fs::path& part : relative) {
    if (!part.empty() && part.string()[0] == '.') return true;
  }
  return false;
}

}  // namespace

uint64_t NameHash(std::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

absl::StatusOr<std::vector<TextDocument>> ReadTextDocuments(const std::string& path) {
  std::error_code error;
  if (fs::is_regular_file(path, error)) {
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) return text.status();
    std::vector<TextDocument> documents = Paragraphs(fs::path(path).filename().string(), *text);
    if (documents.empty()) return absl::NotFoundError(absl::StrCat(path, " holds no text"));
    return documents;
  }
  if (!fs::is_directory(path, error)) {
    return absl::NotFoundError(
        absl::StrCat("text path ", path, " does not exist: name a text file or a directory"));
  }
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(path, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const fs::path relative = fs::relative(it->path(), path, error);
    if (it->is_regular_file(error) && !IsHidden(relative)) files.push_back(relative);
  }
  if (error) return absl::InternalError(absl::StrCat("listing ", path, ": ", error.message()));
  std::sort(files.begin(), files.end());
  std::vector<TextDocument> documents;
  for (const fs::path& relative : files) {
    absl::StatusOr<std::string> text = ReadFile(fs::path(path) / relative);
    if (!text.ok()) return text.status();
    if (!text->empty()) documents.push_back({relative.string(), *std::move(text)});
  }
  if (documents.empty()) {
    return absl::NotFoundError(absl::StrCat("directory ", path, " holds no non-empty file"));
  }
  return documents;
}

absl::StatusOr<DocumentSplit> SplitDocuments(const std::vector<TextDocument>& documents,
                                             int64_t min_bytes) {
  const int64_t count = static_cast<int64_t>(documents.size());
  if (count < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a byte-level task needs at least two documents to hold one out for validation, got ",
        count));
  }
  std::vector<int64_t> by_hash(count);
  std::iota(by_hash.begin(), by_hash.end(), 0);
  std::stable_sort(by_hash.begin(), by_hash.end(), [&](int64_t a, int64_t b) {
    return NameHash(documents[a].name) < NameHash(documents[b].name);
  });
  std::vector<bool> held_out(count, false);
  const int64_t wanted = std::max<int64_t>(1, (count + 5) / 10);
  int64_t held = 0, held_bytes = 0;
  for (int64_t i = 0; i < count - 1 && (held < wanted || held_bytes < min_bytes); ++i) {
    held_out[by_hash[i]] = true;
    ++held;
    held_bytes += static_cast<int64_t>(documents[by_hash[i]].text.size()) + 1;
  }
  DocumentSplit split;
  for (int64_t i = 0; i < count; ++i) {
    std::string& part = held_out[i] ? split.validation : split.train;
    part += documents[i].text;
    part += '\n';
    ++(held_out[i] ? split.validation_documents : split.train_documents);
  }
  if (static_cast<int64_t>(split.validation.size()) < min_bytes ||
      static_cast<int64_t>(split.train.size()) < min_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "documents too short: ", split.train.size(), " training and ", split.validation.size(),
        " validation bytes, each part needs at least ", min_bytes, " (seq_len + 1)"));
  }
  return split;
}

}  // namespace headevo::worker
