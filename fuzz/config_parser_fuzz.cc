// Fuzz target: the input is TOML text for server::ParseSearchConfig, the first thing that reads
// a user's config (CreateSearch sends it over the wire, so it is untrusted input).
//
// Beyond "never crash" (ASan/UBSan catch memory errors, overflows, bad casts), it checks the
// parser's contract and aborts on a breach, which libFuzzer reports as a finding:
//  - an accepted config passes SearchOptions::Validate() (the parser may not hand a search
//    options it would refuse later);
//  - a refused one is INVALID_ARGUMENT and its message starts with the source name.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "server/config/search_config.h"

namespace {

constexpr char kSource[] = "fuzz.toml";

[[noreturn]] void Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "config_parser_fuzz: %s: %s\n", what, status.ToString().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<headevo::search::SearchOptions> options =
      headevo::server::ParseSearchConfig(text, kSource);
  if (options.ok()) {
    if (absl::Status valid = options->Validate(); !valid.ok()) {
      Fail("accepted a config that Validate() refuses", valid);
    }
    return 0;
  }
  const absl::Status& status = options.status();
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Fail("refused with a code other than INVALID_ARGUMENT", status);
  }
  if (!absl::StartsWith(status.message(), kSource)) {
    Fail("refused without naming the source", status);
  }
  return 0;
}
