#include "server/config/toml_section.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace headevo::server {

TomlSection::TomlSection(const toml::table* table, std::string name, std::string source,
                         absl::Status* error)
    : table_(table), name_(std::move(name)), source_(std::move(source)), error_(error) {}

const toml::node* TomlSection::Find(const char* key) {
  known_.insert(key);
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

void TomlSection::Int(const char* key, int64_t min, int64_t max, int64_t* out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const auto value = node->value_exact<int64_t>();
  if (!value) return Fail(node, key, "expected an integer");
  if (*value < min || *value > max) {
    return Fail(node, key, absl::StrCat("must be in [", min, ", ", max, "], got ", *value));
  }
  *out = *value;
}

void TomlSection::Int(const char* key, int min, int max, int* out) {
  int64_t wide = *out;
  Int(key, static_cast<int64_t>(min), static_cast<int64_t>(max), &wide);
  *out = static_cast<int>(wide);
}

void TomlSection::Double(const char* key, double min, double max, double* out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  // An integer is accepted where a float is expected: "learning_rate = 1" means 1.0.
  const auto value = node->value<double>();
  if (!value || !(node->is_floating_point() || node->is_integer())) {
    return Fail(node, key, "expected a number");
  }
  if (!std::isfinite(*value) || *value < min || *value > max) {
    return Fail(node, key, absl::StrCat("must be in [", min, ", ", max, "], got ", *value));
  }
  *out = *value;
}

void TomlSection::Bool(const char* key, bool* out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const auto value = node->value_exact<bool>();
  if (!value) return Fail(node, key, "expected true or false");
  *out = *value;
}

void TomlSection::String(const char* key, std::string* out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const auto value = node->value_exact<std::string>();
  if (!value) return Fail(node, key, "expected a string");
  *out = *value;
}

void TomlSection::Choice(const char* key, const std::vector<std::string>& choices, int* index) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const auto value = node->value_exact<std::string>();
  for (size_t i = 0; value && i < choices.size(); ++i) {
    if (*value == choices[i]) {
      *index = static_cast<int>(i);
      return;
    }
  }
  Fail(node, key,
       absl::StrCat("expected one of \"", absl::StrJoin(choices, "\", \""), "\"",
                    value ? absl::StrCat(", got \"", *value, "\"") : std::string()));
}

void TomlSection::IntArray(const char* key, int min, int max, std::vector<int>* out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr) return Fail(node, key, "expected an array of integers");
  std::vector<int> values;
  for (const toml::node& element : *array) {
    const auto value = element.value_exact<int64_t>();
    if (!value) return Fail(&element, key, "expected an array of integers");
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
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  const std::string expected =
      absl::StrCat("expected an array of \"", absl::StrJoin(choices, "\", \""), "\"");
  if (array == nullptr) return Fail(node, key, expected);
  std::vector<int> values;
  for (const toml::node& element : *array) {
    const auto value = element.value_exact<std::string>();
    const auto found = value ? std::find(choices.begin(), choices.end(), *value) : choices.end();
    if (found == choices.end()) {
      return Fail(&element, key,
                  absl::StrCat(expected, value ? absl::StrCat(", got \"", *value, "\"") : ""));
    }
    values.push_back(static_cast<int>(found - choices.begin()));
  }
  *indices = std::move(values);
}

void TomlSection::FinishUnknownKeys() {
  if (table_ == nullptr) return;
  for (const auto& [key, node] : *table_) {
    if (known_.count(std::string(key.str())) == 0) {
      return Fail(&node, std::string(key.str()),
                  absl::StrCat("unknown key; [", name_, "] takes ", absl::StrJoin(known_, ", ")));
    }
  }
}

}  // namespace headevo::server
