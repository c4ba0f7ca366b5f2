#include "storage/row_codec.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/generated_enum_reflection.h"

namespace headevo::storage {
namespace {

using headevo::v1::CandidateState;
using headevo::v1::GrowthKind;
using headevo::v1::HeadOrigin;
using headevo::v1::OffsetSet;
using headevo::v1::SamplerKind;
using headevo::v1::SearchState;

constexpr absl::string_view kOriginPrefix = "HEAD_ORIGIN_";
constexpr absl::string_view kSamplerPrefix = "SAMPLER_";
constexpr absl::string_view kCandidateStatePrefix = "CANDIDATE_STATE_";
constexpr absl::string_view kSearchStatePrefix = "SEARCH_STATE_";
constexpr absl::string_view kGrowthKindPrefix = "GROWTH_KIND_";

// The enum's values with their names without `prefix`, read from its descriptor once: enum
// columns are written and read by the million (every head appearance), and a descriptor
// lookup by name builds a string and hashes it each time. A few values: a scan is fastest.
template <typename Enum>
const std::vector<std::pair<std::string, Enum>>& EnumNames(absl::string_view prefix) {
  static const std::vector<std::pair<std::string, Enum>>* const names = [prefix] {
    const google::protobuf::EnumDescriptor* descriptor =
        google::protobuf::GetEnumDescriptor<Enum>();
    auto* all = new std::vector<std::pair<std::string, Enum>>();
    for (int i = 0; i < descriptor->value_count(); ++i) {
      std::string name(descriptor->value(i)->name());
      if (absl::StartsWith(name, prefix)) name.erase(0, prefix.size());
      all->emplace_back(std::move(name), static_cast<Enum>(descriptor->value(i)->number()));
    }
    return all;
  }();
  return *names;
}

// The value's name without `prefix`; the number itself for a value the proto does not know
// (which then fails to parse back, loudly, instead of aliasing another value).
template <typename Enum>
std::string EnumToText(Enum value, absl::string_view prefix) {
  for (const auto& [name, known] : EnumNames<Enum>(prefix)) {
    if (known == value) return name;
  }
  return absl::StrCat(static_cast<int>(value));
}

template <typename Enum>
absl::StatusOr<Enum> EnumFromText(absl::string_view text, absl::string_view prefix,
                                  absl::string_view column) {
  for (const auto& [name, value] : EnumNames<Enum>(prefix)) {
    if (name == text) return value;
  }
  return absl::DataLossError(
      absl::StrCat("storage: ", column, " holds unknown value '", text, "'"));
}

}  // namespace

std::string ToText(HeadOrigin origin) { return EnumToText(origin, kOriginPrefix); }
std::string ToText(SamplerKind sampler) { return EnumToText(sampler, kSamplerPrefix); }
std::string ToText(CandidateState state) { return EnumToText(state, kCandidateStatePrefix); }
std::string ToText(SearchState state) { return EnumToText(state, kSearchStatePrefix); }
std::string ToText(GrowthKind kind) { return EnumToText(kind, kGrowthKindPrefix); }

absl::StatusOr<HeadOrigin> HeadOriginFromText(absl::string_view text, absl::string_view column) {
  return EnumFromText<HeadOrigin>(text, kOriginPrefix, column);
}
absl::StatusOr<SamplerKind> SamplerKindFromText(absl::string_view text, absl::string_view column) {
  return EnumFromText<SamplerKind>(text, kSamplerPrefix, column);
}
absl::StatusOr<CandidateState> CandidateStateFromText(absl::string_view text,
                                                      absl::string_view column) {
  return EnumFromText<CandidateState>(text, kCandidateStatePrefix, column);
}
absl::StatusOr<SearchState> SearchStateFromText(absl::string_view text, absl::string_view column) {
  return EnumFromText<SearchState>(text, kSearchStatePrefix, column);
}

absl::StatusOr<GrowthKind> GrowthKindFromText(absl::string_view text, absl::string_view column) {
  return EnumFromText<GrowthKind>(text, kGrowthKindPrefix, column);
}

absl::Status ValidateOffsets(const OffsetSet& offsets) {
  if (offsets.offsets().empty()) return absl::InvalidArgumentError("offset set is empty");
  for (int i = 1; i < offsets.offsets_size(); ++i) {
    if (offsets.offsets(i - 1) >= offsets.offsets(i)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "offsets {", absl::StrJoin(offsets.offsets(), ","), "} are not sorted and unique"));
    }
  }
  return absl::OkStatus();
}

std::string OffsetsToText(const OffsetSet& offsets) {
  return absl::StrJoin(offsets.offsets(), ",");
}

absl::StatusOr<OffsetSet> OffsetsFromText(absl::string_view text, absl::string_view column) {
  OffsetSet offsets;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int32_t value = 0;
    if (!absl::SimpleAtoi(part, &value)) {
      return absl::DataLossError(
          absl::StrCat("storage: ", column, " holds '", text, "', not a list of integers"));
    }
    offsets.add_offsets(value);
  }
  return offsets;
}

}  // namespace headevo::storage
