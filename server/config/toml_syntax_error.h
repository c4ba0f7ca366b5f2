// Explains a syntax error in a TOML document by what the writer was doing there: which key's
// value is broken, in which [table], and (for a key the schema knows) what to write instead.
//
// toml++ says where a document stops parsing and what it saw ("could not determine value
// type"), not whose value that was. A light scan of the text finds the key/value pair that
// spans the position: it starts at the key and runs to the end of its line, or further while
// an array or a multi-line string is open. The scan tolerates any text (the document is known
// to be broken) and never fails; where the position is in no key/value pair (a [header], a
// comment) the message is toml++'s own.
#ifndef HEADEVO_SERVER_CONFIG_TOML_SYNTAX_ERROR_H_
#define HEADEVO_SERVER_CONFIG_TOML_SYNTAX_ERROR_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "server/config/toml_section.h"

namespace headevo::server {

// Where a position falls in a TOML document.
struct TomlPlace {
  // The last [header] (or [[header]]) before the position, as written between the brackets;
  // empty at the top level.
  std::string table;
  // The key of the key/value pair that spans the position, as written (quotes and dots kept);
  // empty when none does.
  std::string key;
  // The position is on the key itself (a fault in the key, not in what it is set to).
  bool in_key = false;
  // The position is past that pair's '='.
  bool in_value = false;
};

// `line` and `column` count from 1; columns count characters (UTF-8 continuation bytes do not
// start a column), as toml++ and AsciiToml count them.
TomlPlace LocateInToml(std::string_view text, int line, int column);

// InvalidArgument for the syntax error `what` at line:column of `text`:
//   "source:3:14: the value of `population` (in [search]) is not valid TOML: <what>; write an
//    integer in [1, 100000], e.g. population = 8"
// "the line for `key`" when the position is after the key but before the pair's '=' (or it
// has none); no hint when the key is not in `schema` or the fault is a key written twice;
// "source:3:14: <what>" when the position is in no key/value pair or on the key itself.
absl::Status ExplainSyntaxError(std::string_view source, std::string_view text, int line,
                                int column, std::string_view what, const TomlSchema& schema);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_CONFIG_TOML_SYNTAX_ERROR_H_
