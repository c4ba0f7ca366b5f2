#include "server/config/toml_syntax_error.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace headevo::server {
namespace {

struct Position {
  int line;
  int column;
  bool operator<(const Position& other) const {
    return line != other.line ? line < other.line : column < other.column;
  }
};

std::string Trimmed(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return "";
  return std::string(text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1));
}

// Walks the text one byte at a time, knowing the line and column of the byte it is on.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool AtEnd() const { return i_ >= text_.size(); }
  char Peek(size_t ahead = 0) const { return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0'; }
  Position At() const { return {line_, column_}; }

  void Advance() {
    if (AtEnd()) return;
    const char c = text_[i_++];
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if (!AtEnd() && (static_cast<unsigned char>(text_[i_]) & 0xC0) != 0x80) {
      ++column_;  // a UTF-8 continuation byte stays in its character's column
    }
  }

  void SkipBlank() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\r' || Peek() == '\n')) {
      Advance();
    }
  }

  // To the end of the line; the '\n' is left for the caller.
  void SkipLine() {
    while (!AtEnd() && Peek() != '\n') Advance();
  }

  // From '[': the header's name, as written between the brackets; then the rest of its line.
  std::string Header() {
    while (Peek() == '[') Advance();
    const size_t begin = i_;
    while (!AtEnd() && Peek() != ']' && Peek() != '\n') Advance();
    std::string name = Trimmed(text_.substr(begin, i_ - begin));
    SkipLine();
    return name;
  }

  // A key, up to its '=' or the end of the line (both left for the caller), quotes respected.
  // *end receives the position just after its last character.
  std::string Key(Position* end) {
    const size_t begin = i_;
    *end = At();
    while (!AtEnd() && Peek() != '=' && Peek() != '\n') {
      const char c = Peek();
      Advance();
      if (c == '"' || c == '\'') {
        while (!AtEnd() && Peek() != c && Peek() != '\n') Advance();
        if (Peek() == c) Advance();
      }
      if (c != ' ' && c != '\t' && c != '\r') *end = At();
    }
    return Trimmed(text_.substr(begin, i_ - begin));
  }

  // A value, to the '\n' that ends it (left for the caller) or the end of the text: past the
  // ends of lines inside an open array, inline table or multi-line string.
  void Value() {
    int depth = 0;
    while (!AtEnd()) {
      const char c = Peek();
      if (c == '\n' && depth == 0) return;
      if (c == '#') {
        SkipLine();
      } else if (c == '"' || c == '\'') {
        String(c);
      } else {
        if (c == '[' || c == '{') ++depth;
        if ((c == ']' || c == '}') && depth > 0) --depth;
        Advance();
      }
    }
  }

 private:
  // From the opening quote to after the closing one; an unterminated single-line string
  // stops before the end of its line, a multi-line one at the end of the text.
  void String(char quote) {
    const bool multi_line = Peek(1) == quote && Peek(2) == quote;
    for (int k = multi_line ? 3 : 1; k > 0; --k) Advance();
    while (!AtEnd()) {
      const char c = Peek();
      if (c == '\n' && !multi_line) return;
      if (c == '\\' && quote == '"') {
        Advance();
        if (Peek() != '\n' || multi_line) Advance();
        continue;
      }
      if (c == quote && (!multi_line || (Peek(1) == quote && Peek(2) == quote))) {
        while (Peek() == quote) Advance();  // up to two quotes may end the value itself
        return;
      }
      Advance();
    }
  }

  std::string_view text_;
  size_t i_ = 0;
  int line_ = 1;
  int column_ = 1;
};

// A dotted key's parts, each trimmed and without its quotes: `a . "b.c"` is {a, b.c}.
std::vector<std::string> KeyPath(std::string_view dotted) {
  std::vector<std::string> parts;
  std::string part;
  char quote = '\0';
  const auto finish = [&] {
    std::string trimmed = Trimmed(part);
    if (trimmed.size() >= 2 && (trimmed[0] == '"' || trimmed[0] == '\'') &&
        trimmed.back() == trimmed[0]) {
      trimmed = trimmed.substr(1, trimmed.size() - 2);
    }
    parts.push_back(trimmed);
    part.clear();
  };
  for (const char c : dotted) {
    if (quote != '\0') {
      if (c == quote) quote = '\0';
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '.') {
      finish();
      continue;
    }
    part.push_back(c);
  }
  finish();
  return parts;
}

const KeyExpectation* Lookup(const TomlSchema& schema, const TomlPlace& place) {
  std::vector<std::string> path =
      place.table.empty() ? std::vector<std::string>() : KeyPath(place.table);
  for (std::string& part : KeyPath(place.key)) path.push_back(std::move(part));
  if (path.size() != 2) return nullptr;
  const auto section = schema.find(path[0]);
  if (section == schema.end()) return nullptr;
  const auto key = section->second.find(path[1]);
  return key == section->second.end() ? nullptr : &key->second;
}

}  // namespace

TomlPlace LocateInToml(std::string_view text, int line, int column) {
  const Position target{line, column};
  Scanner scan(text);
  TomlPlace place;
  std::string table;
  while (true) {
    scan.SkipBlank();
    if (scan.AtEnd() || target < scan.At()) break;
    // This statement starts at or before the target: the last such one spans it.
    place = TomlPlace{table, "", false, false};
    if (scan.Peek() == '#') {
      scan.SkipLine();
    } else if (scan.Peek() == '[') {
      table = scan.Header();
      place.table = table;
    } else {
      Position key_end;
      place.key = scan.Key(&key_end);
      place.in_key = target < key_end;
      if (scan.Peek() != '=') {
        scan.SkipLine();
        continue;
      }
      place.in_value = scan.At() < target;
      scan.Advance();
      scan.Value();
    }
  }
  return place;
}

absl::Status ExplainSyntaxError(std::string_view source_name, std::string_view text, int line,
                                int column, std::string_view what_said, const TomlSchema& schema) {
  // Debian's Abseil has its own string_view.
  const absl::string_view source(source_name.data(), source_name.size());
  const absl::string_view what(what_said.data(), what_said.size());
  std::string message = absl::StrCat(source, ":", line, ":", column, ": ");
  const TomlPlace place = LocateInToml(text, line, column);
  if (place.key.empty() || place.in_key) {
    return absl::InvalidArgumentError(absl::StrCat(message, what));
  }
  absl::StrAppend(&message, place.in_value ? "the value of `" : "the line for `", place.key, "`",
                  place.table.empty() ? "" : absl::StrCat(" (in [", place.table, "])"),
                  " is not valid TOML: ", what);
  // A key written twice is no fault of its value: a hint on what to write would mislead.
  const KeyExpectation* expected = Lookup(schema, place);
  if (expected != nullptr && what.find("redefine") == absl::string_view::npos) {
    absl::StrAppend(&message, "; write ", expected->what, ", e.g. ", place.key, " = ",
                    expected->example);
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace headevo::server
