#include "server/config/toml_section.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace headevo::server {
namespace {

// The shortest decimal text that reads back as `value`, whole numbers written as integers:
// 1e-12, 0.999999, 10, 1048576 (not the six digits of "%g", which would print a bound of
// 1 << 20 as 1.04858e+06, nor the shorter 1e+01).
std::string Number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char text[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

std::string Range(int64_t min, int64_t max) {
  if (max == std::numeric_limits<int64_t>::max()) return absl::StrCat(">= ", min);
  return absl::StrCat("in [", min, ", ", max, "]");
}

std::string Range(double min, double max) {
  if (max == std::numeric_limits<double>::max()) return absl::StrCat(">= ", Number(min));
  return absl::StrCat("in [", Number(min), ", ", Number(max), "]");
}

// `text` as a TOML basic string.
std::string Quoted(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
      quoted.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(c));
      quoted += escape;
    } else {
      quoted.push_back(c);
    }
  }
  return quoted + "\"";
}

std::string QuotedList(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  for (const std::string& name : names) quoted.push_back(Quoted(name));
  return absl::StrJoin(quoted, ", ");
}

// The type of a TOML value, as "got ..." completes it.
const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

template <typename T>
T Clamp(T value, T min, T max) {
  return std::min(std::max(value, min), max);
}

}  // namespace

TomlSection::TomlSection(const toml::table* table, std::string name, std::string source,
                         absl::Status* error)
    : table_(table), name_(std::move(name)), source_(std::move(source)), error_(error) {}

const toml::node* TomlSection::Find(const char* key, KeyExpectation expectation) {
  expected_[key] = std::move(expectation);
  if (table_ == nullptr || !error_->ok()) return nullptr;
  return table_->get(key);
}

void TomlSection::Fail(const toml::node* node, const std::string& key, const std::string& message) {
  if (!error_->ok()) return;
  const toml::source_region& where = node != nullptr ? node->source() : table_->source();
  *error_ = absl::InvalidArgumentError(absl::StrCat(source_, ":", where.begin.line, ":",
                                                    where.begin.column, ": ", name_, ".", key, ": ",
                                                    message));
}

void TomlSection::FailType(const toml::node* node, const std::string& key, bool element) {
  const KeyExpectation& expected = expected_.at(key);
  Fail(node, key,
       absl::StrCat("expected ", expected.what, ", got ", TypeName(*node),
                    element ? " among its elements" : "", "; e.g. ", key, " = ", expected.example));
}

void TomlSection::Int(const char* key, int64_t min, int64_t max, int64_t* out) {
  const toml::node* node = Find(
      key, {absl::StrCat("an integer ", Range(min, max)), absl::StrCat(Clamp(*out, min, max))});
  if (node == nullptr) return;
  const auto value = node->value_exact<int64_t>();
  if (!value) return FailType(node, key);
  if (*value < min || *value > max) {
    return Fail(node, key, absl::StrCat("must be ", Range(min, max), ", got ", *value));
  }
  *out = *value;
}

void TomlSection::Int(const char* key, int min, int max, int* out) {
  int64_t wide = *out;
  Int(key, static_cast<int64_t>(min), static_cast<int64_t>(max), &wide);
  *out = static_cast<int>(wide);
}

void TomlSection::Double(const char* key, double min, double max, double* out) {
  const toml::node* node = Find(key, {absl::StrCat("a number ", Range(min, max)),
                                      Number(std::isfinite(*out) ? Clamp(*out, min, max) : min)});
  if (node == nullptr) return;
  // An integer is accepted where a float is expected: "learning_rate = 1" means 1.0.
  const auto value = node->value<double>();
  if (!value || !(node->is_floating_point() || node->is_integer())) return FailType(node, key);
  if (!std::isfinite(*value) || *value < min || *value > max) {
    return Fail(node, key, absl::StrCat("must be ", Range(min, max), ", got ", Number(*value)));
  }
  *out = *value;
}

void TomlSection::Bool(const char* key, bool* out) {
  const toml::node* node = Find(key, {"true or false", *out ? "true" : "false"});
  if (node == nullptr) return;
  const auto value = node->value_exact<bool>();
  if (!value) return FailType(node, key);
  *out = *value;
}

void TomlSection::String(const char* key, std::string* out) {
  const toml::node* node =
      Find(key, {"a string in double quotes", Quoted(out->empty() ? "..." : *out)});
  if (node == nullptr) return;
  const auto value = node->value_exact<std::string>();
  if (!value) return FailType(node, key);
  *out = *value;
}

void TomlSection::Choice(const char* key, const std::vector<std::string>& choices, int* index) {
  const int example = Clamp(*index, 0, static_cast<int>(choices.size()) - 1);
  const toml::node* node =
      Find(key, {absl::StrCat("one of ", QuotedList(choices)), Quoted(choices[example])});
  if (node == nullptr) return;
  const auto value = node->value_exact<std::string>();
  if (!value) return FailType(node, key);
  for (size_t i = 0; i < choices.size(); ++i) {
    if (*value == choices[i]) {
      *index = static_cast<int>(i);
      return;
    }
  }
  Fail(node, key, absl::StrCat("expected one of ", QuotedList(choices), ", got ", Quoted(*value)));
}

void TomlSection::IntArray(const char* key, int min, int max, std::vector<int>* out) {
  std::vector<int> example;
  for (int value : *out) example.push_back(Clamp(value, min, max));
  if (example.empty()) example.push_back(Clamp(1, min, max));
  const toml::node* node =
      Find(key, {absl::StrCat("an array of integers ", Range(int64_t{min}, int64_t{max})),
                 absl::StrCat("[", absl::StrJoin(example, ", "), "]")});
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr) return FailType(node, key);
  std::vector<int> values;
  for (const toml::node& element : *array) {
    const auto value = element.value_exact<int64_t>();
    if (!value) return FailType(&element, key, /*element=*/true);
    if (*value < min || *value > max) {
      return Fail(&element, key,
                  absl::StrCat("elements must be in [", min, ", ", max, "], got ", *value));
    }
    values.push_back(static_cast<int>(*value));
  }
  *out = std::move(values);
}

void TomlSection::ChoiceArray(const char* key, const std::vector<std::string>& choices,
                              std::vector<int>* indices) {
  std::vector<std::string> example;
  for (int index : *indices) {
    example.push_back(choices[Clamp(index, 0, static_cast<int>(choices.size()) - 1)]);
  }
  if (example.empty()) example.push_back(choices.front());
  const std::string what = absl::StrCat("an array of strings from ", QuotedList(choices));
  const toml::node* node = Find(key, {what, absl::StrCat("[", QuotedList(example), "]")});
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr) return FailType(node, key);
  std::vector<int> values;
  for (const toml::node& element : *array) {
    const auto value = element.value_exact<std::string>();
    if (!value) return FailType(&element, key, /*element=*/true);
    const auto found = std::find(choices.begin(), choices.end(), *value);
    if (found == choices.end()) {
      return Fail(&element, key, absl::StrCat("expected ", what, ", got ", Quoted(*value)));
    }
    values.push_back(static_cast<int>(found - choices.begin()));
  }
  *indices = std::move(values);
}

void TomlSection::FinishUnknownKeys() {
  if (table_ == nullptr) return;
  for (const auto& [key, node] : *table_) {
    if (expected_.count(std::string(key.str())) == 0) {
      std::vector<std::string> known;
      for (const auto& [name, expectation] : expected_) known.push_back(name);
      return Fail(&node, std::string(key.str()),
                  absl::StrCat("unknown key; [", name_, "] takes ", absl::StrJoin(known, ", ")));
    }
  }
}

}  // namespace headevo::server
