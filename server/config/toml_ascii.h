// Rewrites a TOML document into an equivalent one made of ASCII bytes only, so that toml++
// never reads a non-ASCII character.
//
// Why: Debian's toml++ 3.3.0 reaches code marked unreachable (undefined behaviour) when its
// whitespace test meets certain non-ASCII characters (U+00A1..U+0499, around U+3000, and
// U+FB36..U+FEFE: 'é', Greek, Cyrillic, ...). It runs that test in more places than keys: after
// a broken value it scans on into what looks like a string (upstream issues #190 and #295,
// fixed after that release; found by fuzz/config_parser_fuzz.cc). Refusing non-ASCII text
// outside strings is therefore not enough; toml++ must see none at all.
//
// Contract, for `AsciiToml(text, source)`:
//  - ASCII input is returned unchanged.
//  - Otherwise the result parses to the same document, where TOML allows non-ASCII text:
//      basic strings ("..." and """...""")     each character becomes \uXXXX or \UXXXXXXXX;
//      literal strings ('...' and '''...''')   holding any become the equivalent basic string;
//      comments                                each character becomes '?';
//    and a UTF-8 byte-order mark at the start is dropped.
//  - Non-ASCII text anywhere else (a bare key, a value) is InvalidArgument naming
//    "source:line:column" (columns count characters), as is text that is not UTF-8 and an
//    escape sequence ending in a non-ASCII character.
//  - Whatever the input, valid TOML or not, an OK result holds no byte above 0x7F. In an
//    unterminated string the characters become '?', so the document stays broken and toml++
//    reports it; its columns on a line that held non-ASCII text may then differ.
#ifndef HEADEVO_SERVER_CONFIG_TOML_ASCII_H_
#define HEADEVO_SERVER_CONFIG_TOML_ASCII_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace headevo::server {

// Where AsciiToml refused a text and why: its message is "source:line:column: what". For
// callers that add context (the key being written there) to the message.
struct AsciiRefusal {
  int line = 0;
  int column = 0;  // in characters, from 1
  std::string what;
};

// When the text is refused and `refusal` is not null, *refusal receives the parts of the message.
absl::StatusOr<std::string> AsciiToml(std::string_view text, std::string_view source,
                                      AsciiRefusal* refusal = nullptr);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_CONFIG_TOML_ASCII_H_
