#include "server/config/toml_ascii.h"

#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::server {
namespace {

struct Char {
  char32_t code;
  int line;
  int column;  // in characters, from 1
};

absl::Status Refused(const std::string& source, int line, int column, std::string what,
                     AsciiRefusal* refusal) {
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(source, ":", line, ":", column, ": ", what));
  if (refusal != nullptr) *refusal = {line, column, std::move(what)};
  return status;
}

bool IsAscii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string CodeName(char32_t code) {
  char name[16];
  std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(code));
  return name;
}

// Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
absl::StatusOr<std::vector<Char>> Decode(std::string_view text, const std::string& source,
                                         AsciiRefusal* refusal) {
  std::vector<Char> chars;
  chars.reserve(text.size());
  int line = 1;
  int column = 0;
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t length = 1;
    char32_t code = lead;
    char32_t smallest = 0;
    if (lead >= 0x80) {
      // The lead byte gives the length and the smallest code point that needs it.
      if ((lead & 0xE0) == 0xC0) {
        length = 2;
        code = lead & 0x1F;
        smallest = 0x80;
      } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        code = lead & 0x0F;
        smallest = 0x800;
      } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        code = lead & 0x07;
        smallest = 0x10000;
      } else {
        length = 0;
      }
      for (size_t k = 1; length != 0 && k < length; ++k) {
        const auto next = i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
        if ((next & 0xC0) != 0x80) {
          length = 0;
        } else {
          code = (code << 6) | (next & 0x3F);
        }
      }
      const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
      if (length == 0 || code < smallest || code > 0x10FFFF || surrogate) {
        return Refused(source, line, column + 1, "the config is not valid UTF-8 here", refusal);
      }
    }
    ++column;
    chars.push_back({code, line, column});
    if (code == U'\n') {
      ++line;
      column = 0;
    }
    i += length;
  }
  return chars;
}

class Rewriter {
 public:
  Rewriter(const std::vector<Char>& chars, std::string source, AsciiRefusal* refusal)
      : chars_(chars), source_(std::move(source)), refusal_(refusal) {}

  absl::StatusOr<std::string> Run() {
    size_t i = 0;
    if (!chars_.empty() && chars_[0].code == 0xFEFF) i = 1;  // a byte-order mark is no content
    while (i < chars_.size() && status_.ok()) {
      const char32_t c = chars_[i].code;
      if (c == U'#') {
        i = Comment(i);
      } else if (c == U'"') {
        i = BasicString(i);
      } else if (c == U'\'') {
        i = LiteralString(i);
      } else if (c >= 0x80) {
        Refuse(i, absl::StrCat("non-ASCII character ", CodeName(c),
                               " outside a quoted string or comment; bare keys and values "
                               "other than strings must be ASCII"));
      } else {
        out_.push_back(static_cast<char>(c));
        ++i;
      }
    }
    if (!status_.ok()) return status_;
    return std::move(out_);
  }

 private:
  bool At(size_t i, char32_t c) const { return i < chars_.size() && chars_[i].code == c; }

  // The number of `quote`s in a row from i.
  size_t Run(size_t i, char32_t quote) const {
    size_t end = i;
    while (At(end, quote)) ++end;
    return end - i;
  }

  void Refuse(size_t i, const std::string& what) {
    status_ = Refused(source_, chars_[i].line, chars_[i].column, what, refusal_);
  }

  void EmitEscaped(char32_t c) {
    char escape[16];
    if (c <= 0xFFFF) {
      std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(c));
    } else {
      std::snprintf(escape, sizeof escape, "\\U%08X", static_cast<unsigned>(c));
    }
    out_ += escape;
  }

  // From '#' to the end of the line; returns the index of the '\n' (or the end).
  size_t Comment(size_t i) {
    for (; i < chars_.size() && chars_[i].code != U'\n'; ++i) {
      out_.push_back(chars_[i].code < 0x80 ? static_cast<char>(chars_[i].code) : '?');
    }
    return i;
  }

  // From the opening quote; returns the index after the string (or after the point where an
  // unterminated one gave up).
  size_t BasicString(size_t i) {
    const bool multi_line = Run(i, U'"') >= 3;
    const size_t open = multi_line ? 3 : 1;
    out_.append(open, '"');
    for (i += open; i < chars_.size();) {
      const char32_t c = chars_[i].code;
      if (c == U'\\') {
        out_.push_back('\\');
        if (i + 1 < chars_.size()) {
          if (chars_[i + 1].code >= 0x80) {
            Refuse(i, absl::StrCat("invalid escape sequence: a backslash before ",
                                   CodeName(chars_[i + 1].code)));
            return chars_.size();
          }
          out_.push_back(static_cast<char>(chars_[i + 1].code));
        }
        i += 2;
      } else if (c == U'"') {
        const size_t quotes = multi_line ? Run(i, U'"') : 1;
        out_.append(quotes, '"');
        i += quotes;
        if (!multi_line || quotes >= 3) return i;
      } else if (c == U'\n' && !multi_line) {
        return i;  // unterminated: toml++ reports it
      } else {
        if (c >= 0x80) {
          EmitEscaped(c);
        } else {
          out_.push_back(static_cast<char>(c));
        }
        ++i;
      }
    }
    return i;
  }

  // From the opening quote. A literal string cannot escape, so one holding non-ASCII text is
  // written as the basic string with the same value.
  size_t LiteralString(size_t i) {
    const bool multi_line = Run(i, U'\'') >= 3;
    const size_t open = multi_line ? 3 : 1;
    const size_t content = i + open;
    size_t content_end = content;  // the value's characters are [content, content_end)
    size_t after = chars_.size();  // the index after the closing quotes
    bool terminated = false;
    for (size_t k = content; k < chars_.size();) {
      if (chars_[k].code == U'\n' && !multi_line) {
        after = k;
        break;
      }
      if (chars_[k].code != U'\'') {
        ++k;
        continue;
      }
      const size_t quotes = multi_line ? Run(k, U'\'') : 1;
      if (multi_line && quotes < 3) {
        k += quotes;
        continue;
      }
      // Up to two quotes before the closing three belong to a multi-line value; more make
      // the document invalid, which toml++ reports.
      terminated = quotes <= 5;
      content_end = k + (multi_line ? quotes - 3 : 0);
      after = k + quotes;
      break;
    }

    bool ascii = true;
    for (size_t k = i; k < after; ++k) ascii = ascii && chars_[k].code < 0x80;
    if (ascii || !terminated) {
      for (size_t k = i; k < after; ++k) {
        out_.push_back(chars_[k].code < 0x80 ? static_cast<char>(chars_[k].code) : '?');
      }
      return after;
    }

    const std::string quote(open, '"');
    out_ += quote;
    for (size_t k = content; k < content_end; ++k) {
      const char32_t c = chars_[k].code;
      if (c == U'\\' || c == U'"') {
        out_.push_back('\\');
        out_.push_back(static_cast<char>(c));
      } else if (c >= 0x80) {
        EmitEscaped(c);
      } else {
        out_.push_back(static_cast<char>(c));
      }
    }
    out_ += quote;
    return after;
  }

  const std::vector<Char>& chars_;
  const std::string source_;
  AsciiRefusal* const refusal_;
  std::string out_;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<std::string> AsciiToml(std::string_view text, std::string_view source,
                                      AsciiRefusal* refusal) {
  if (IsAscii(text)) return std::string(text);
  const std::string source_name(source);
  absl::StatusOr<std::vector<Char>> chars = Decode(text, source_name, refusal);
  if (!chars.ok()) return chars.status();
  return Rewriter(*chars, source_name, refusal).Run();
}

}  // namespace headevo::server
