// A typed, checked view of one [section] of a TOML document. Reads remember the first error
// (with line and column) so a parser can read every field and check status() once; keys never
// read are reported by FinishUnknownKeys().
//
// Each read also records what its key accepts (a KeyExpectation), whether or not the key is
// present: a section read over an absent table (table == nullptr) yields the schema of its
// keys from the same calls that parse them, so messages about a broken document can say what
// to write without a second list of the keys to keep in step.
#ifndef HEADEVO_SERVER_CONFIG_TOML_SECTION_H_
#define HEADEVO_SERVER_CONFIG_TOML_SECTION_H_

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace headevo::server {

// What one key accepts, in words for an error message.
struct KeyExpectation {
  // Completes "expected ..." and "write ...": `an integer in [1, 100000]`, `true or false`,
  // `one of "evolve", "k_sweep"`.
  std::string what;
  // A valid value as TOML text: the default (the value the reader held) where it is in range,
  // else the nearest bound; `8`, `"evolve"`, `["best", "fitted"]`.
  std::string example;
};

// Section name -> key -> what it accepts.
using TomlSchema = std::map<std::string, std::map<std::string, KeyExpectation>>;

class TomlSection {
 public:
  // `table` may be null (the section is absent: every read keeps its default).
  // `error` is shared by all sections of one document and must outlive this object.
  TomlSection(const toml::table* table, std::string name, std::string source, absl::Status* error);

  // Each reader leaves *out untouched when the key is absent. A value of the wrong type is
  // "source:line:column: section.key: expected <what>, got <its type>; e.g. key = <example>".
  void Int(const char* key, int64_t min, int64_t max, int64_t* out);
  void Int(const char* key, int min, int max, int* out);
  void Double(const char* key, double min, double max, double* out);
  void Bool(const char* key, bool* out);
  void String(const char* key, std::string* out);
  // A string that must be one of `choices`; *index receives its position.
  void Choice(const char* key, const std::vector<std::string>& choices, int* index);
  void IntArray(const char* key, int min, int max, std::vector<int>* out);
  // An array of strings, each one of `choices`; *indices receives their positions.
  void ChoiceArray(const char* key, const std::vector<std::string>& choices,
                   std::vector<int>* indices);

  // Records an error for the first key of this section that no reader asked for.
  void FinishUnknownKeys();

  // Every key read so far, with what it accepts.
  const std::map<std::string, KeyExpectation>& expectations() const { return expected_; }

 private:
  // Records what `key` accepts and returns its node, or null when absent (or after an error).
  const toml::node* Find(const char* key, KeyExpectation expectation);
  void Fail(const toml::node* node, const std::string& key, const std::string& message);
  // Fail() for a value of the wrong type; `element` when `node` is one of an array's elements.
  void FailType(const toml::node* node, const std::string& key, bool element = false);

  const toml::table* table_;
  std::string name_;
  std::string source_;
  absl::Status* error_;
  std::map<std::string, KeyExpectation> expected_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_CONFIG_TOML_SECTION_H_
