// A main() for fuzz targets built without libFuzzer (the normal gcc build): feeds every file
// under the directories (or the files) named on the command line to LLVMFuzzerTestOneInput,
// in name order, so ctest replays the checked-in corpora and every input a fuzzer once found.
//
// A failing input aborts inside the target, as it would under libFuzzer; the name of the file
// being replayed is printed first so the abort can be traced to it. Exits 2 when an argument
// cannot be read or holds no input at all: a moved corpus must not pass as an empty success.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// The regular files under `path` (or `path` itself), sorted; empty on an error.
std::vector<std::filesystem::path> Inputs(const std::filesystem::path& path) {
  std::error_code error;
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::is_directory(path, error)) {
    if (std::filesystem::is_regular_file(path, error)) files.push_back(path);
    return files;
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path, error)) {
    if (entry.is_regular_file(error)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool Replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.c_str(), bytes.size());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    const std::vector<std::filesystem::path> files = Inputs(argv[i]);
    if (files.empty()) {
      std::fprintf(stderr, "%s: no inputs in '%s'\n", argv[0], argv[i]);
      return 2;
    }
    for (const std::filesystem::path& file : files) {
      if (!Replay(file)) {
        std::fprintf(stderr, "%s: cannot read '%s'\n", argv[0], file.c_str());
        return 2;
      }
    }
    std::fprintf(stderr, "%s: %zu inputs from '%s' passed\n", argv[0], files.size(), argv[i]);
  }
  return 0;
}
