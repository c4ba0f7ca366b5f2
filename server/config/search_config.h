// Reads a search config written in TOML into search::SearchOptions. Every error names the
// source, the line and the key: "quickstart.toml:14:12: model.d_model: must be in [1, 65536],
// got 0". Text that is not TOML names the key whose value broke and what that key takes
// (toml_syntax_error.h): "quickstart.toml:3:14: the value of `population` (in [search]) is not
// valid TOML: <toml++'s words>; write an integer in [1, 100000], e.g. population = 8".
// Unknown sections and keys are errors too (a typo must not silently fall back to a default).
#ifndef HEADEVO_SERVER_CONFIG_SEARCH_CONFIG_H_
#define HEADEVO_SERVER_CONFIG_SEARCH_CONFIG_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "search/search_options.h"

namespace headevo::server {

// Parses `toml_text`; `source_name` (usually the file path) prefixes every error message.
// InvalidArgument for a syntax error, a wrong type, a value out of range or an unknown key.
absl::StatusOr<search::SearchOptions> ParseSearchConfig(std::string_view toml_text,
                                                        std::string_view source_name);

// Reads the file and parses it. NotFound names the path when it cannot be read.
// `text` receives the file's contents (so the search can store the config as written).
absl::StatusOr<search::SearchOptions> LoadSearchConfigFile(const std::string& path,
                                                           std::string* text);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_CONFIG_SEARCH_CONFIG_H_
