// A typed, checked view of one [section] of a TOML document. Reads remember the first error
// (with line and column) so a parser can read every field and check status() once; keys never
// read are reported by FinishUnknownKeys().
#ifndef HEADEVO_SERVER_CONFIG_TOML_SECTION_H_
#define HEADEVO_SERVER_CONFIG_TOML_SECTION_H_

#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace headevo::server {

class TomlSection {
 public:
  // `table` may be null (the section is absent: every read keeps its default).
  // `error` is shared by all sections of one document and must outlive this object.
  TomlSection(const toml::table* table, std::string name, std::string source, absl::Status* error);

  // Each reader leaves *out untouched when the key is absent.
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

 private:
  const toml::node* Find(const char* key);
  void Fail(const toml::node* node, const std::string& key, const std::string& message);

  const toml::table* table_;
  std::string name_;
  std::string source_;
  absl::Status* error_;
  std::set<std::string> known_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_CONFIG_TOML_SECTION_H_
