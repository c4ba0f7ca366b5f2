// server/toml_ascii: the rewritten document is ASCII and, where the input was valid TOML,
// toml++ reads from it the values the input holds.
#include "server/config/toml_ascii.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <string>

namespace headevo::server {
namespace {

// Rewrites `text` and checks that the result is ASCII.
std::string Rewrite(const std::string& text) {
  absl::StatusOr<std::string> ascii = AsciiToml(text, "t.toml");
  EXPECT_TRUE(ascii.ok()) << ascii.status();
  if (!ascii.ok()) return "";
  for (const char c : *ascii) {
    EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "non-ASCII byte in:\n" << *ascii;
  }
  return *ascii;
}

// The string value of `key` after rewriting `text` and parsing it with toml++.
std::string ValueAfterRewrite(const std::string& text, const char* key) {
  const toml::table doc = toml::parse(Rewrite(text));
  const std::optional<std::string> value = doc[key].value<std::string>();
  EXPECT_TRUE(value.has_value()) << key << " missing or not a string";
  return value.value_or("");
}

void ExpectRefused(const std::string& text, const std::string& fragment) {
  absl::StatusOr<std::string> ascii = AsciiToml(text, "t.toml");
  ASSERT_FALSE(ascii.ok()) << "accepted:\n" << text;
  EXPECT_EQ(ascii.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ascii.status().message().find(fragment), std::string::npos) << ascii.status();
}

TEST(TomlAsciiTest, AsciiTextIsReturnedUnchanged) {
  const std::string text = "a = 'x\\y' # c\nb = \"\"\"q\"\"\"\n";
  EXPECT_EQ(Rewrite(text), text);
}

TEST(TomlAsciiTest, BasicStringsKeepTheirValues) {
  // é (2 bytes), € (3 bytes), 😀 (4 bytes: the \U form), next to escapes that must survive.
  const std::string value = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  EXPECT_EQ(ValueAfterRewrite("a = \"caf\xc3\xa9 \\\"\\t\\\\ \xe2\x82\xac \xf0\x9f\x98\x80\"", "a"),
            "caf\xc3\xa9 \"\t\\ \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(ValueAfterRewrite("a = \"\"\"\ncaf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\"\"", "a"),
            value);
  // A multi-line string with one and two quotes inside, and a line-ending backslash.
  EXPECT_EQ(ValueAfterRewrite("a = \"\"\"\xc3\xa9\"x\"\"y \\\n   z\xc3\xa9\"\"\"", "a"),
            "\xc3\xa9\"x\"\"y z\xc3\xa9");
}

TEST(TomlAsciiTest, LiteralStringsHoldingNonAsciiBecomeEquivalentBasicStrings) {
  EXPECT_EQ(ValueAfterRewrite("a = 'C:\\caf\xc3\xa9 \"q\"'", "a"), "C:\\caf\xc3\xa9 \"q\"");
  // Multi-line: the first newline is trimmed, quotes and backslashes are literal, and up to
  // two quotes before the closing three belong to the value.
  EXPECT_EQ(ValueAfterRewrite("a = '''\n\xc3\xa9 '' \\n \"\"\"\n x'''''", "a"),
            "\xc3\xa9 '' \\n \"\"\"\n x''");
  // A literal key too.
  const toml::table doc = toml::parse(Rewrite("'k\xc3\xa9y' = 1"));
  EXPECT_EQ(doc["k\xc3\xa9y"].value<int64_t>(), 1);
}

TEST(TomlAsciiTest, CommentsAreKeptAsQuestionMarks) {
  EXPECT_EQ(Rewrite("a = 1 # caf\xc3\xa9 \xf0\x9f\x98\x80\nb = 2"), "a = 1 # caf? ?\nb = 2");
  EXPECT_EQ(Rewrite("\xef\xbb\xbf"
                    "a = 'caf\xc3\xa9' # \xc3\xa9"),
            "a = \"caf\\u00E9\" # ?");
}

TEST(TomlAsciiTest, NonAsciiOutsideStringsIsRefusedWithItsPosition) {
  ExpectRefused("a = 1\n  caf\xc3\xa9 = 2", "t.toml:2:6: non-ASCII character U+00E9 outside");
  ExpectRefused("a = 1\xe3\x80\x80",
                "t.toml:1:6: non-ASCII character U+3000");  // ideographic space
  ExpectRefused("a = \"x\\\xc3\xa9\"", "t.toml:1:7: invalid escape sequence");
}

TEST(TomlAsciiTest, RefusalComesInPartsForCallersThatAddContext) {
  AsciiRefusal refusal;
  absl::StatusOr<std::string> ascii = AsciiToml("a = 1\n  caf\xc3\xa9 = 2", "t.toml", &refusal);
  ASSERT_FALSE(ascii.ok());
  EXPECT_EQ(refusal.line, 2);
  EXPECT_EQ(refusal.column, 6);
  EXPECT_EQ(ascii.status().message(), "t.toml:2:6: " + refusal.what);
  EXPECT_EQ(refusal.what.rfind("non-ASCII character U+00E9 outside", 0), 0u) << refusal.what;

  ascii = AsciiToml("a = 'x'\nb = \"\xc3\"", "t.toml", &refusal);
  ASSERT_FALSE(ascii.ok());
  EXPECT_EQ(refusal.line, 2);
  EXPECT_EQ(refusal.column, 6);
  EXPECT_EQ(refusal.what, "the config is not valid UTF-8 here");
}

TEST(TomlAsciiTest, TextThatIsNotUtf8IsRefused) {
  ExpectRefused("a = \"\xc3\"", "t.toml:1:6: the config is not valid UTF-8");
  ExpectRefused("a = \"\xc0\xaf\"", "not valid UTF-8");          // overlong '/'
  ExpectRefused("a = \"\xed\xa0\x80\"", "not valid UTF-8");      // a surrogate
  ExpectRefused("a = \"\xf4\x90\x80\x80\"", "not valid UTF-8");  // past U+10FFFF
}

TEST(TomlAsciiTest, BrokenDocumentsStayBrokenAndAscii) {
  // Unterminated strings, and a value that runs into a string (the fuzzer's finding, where
  // toml++ scanned past the quote): each rewrite is ASCII and toml++ still refuses it.
  for (const std::string text : {
           "a = 'caf\xc3\xa9\nb = 1",
           "a = '''caf\xc3\xa9",
           "a = '''caf\xc3\xa9''''''",
           "a = \"caf\xc3\xa9\nb = 1",
           "[model]\nlinformer_rank = 0caf\"\xc3\xa9 linfor= mer\"]\n1\n",
       }) {
    const std::string ascii = Rewrite(text);
    EXPECT_THROW(toml::parse(ascii), toml::parse_error) << ascii;
  }
}

}  // namespace
}  // namespace headevo::server
