#include "storage/row_codec.h"

#include <cstdint>

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

// The value's name without `prefix`; the number itself for a value the proto does not know
// (which then fails to parse back, loudly, instead of aliasing another value).
template <typename Enum>
std::string EnumToText(Enum value, absl::string_view prefix) {
  const google::protobuf::EnumValueDescriptor* descriptor =
      google::protobuf::GetEnumDescriptor<Enum>()->FindValueByNumber(value);
  if (descriptor == nullptr) return absl::StrCat(static_cast<int>(value));
  std::string name(descriptor->name());
  if (absl::StartsWith(name, prefix)) name.erase(0, prefix.size());
  return name;
}

template <typename Enum>
absl::StatusOr<Enum> EnumFromText(absl::string_view text, absl::string_view prefix,
                                  absl::string_view column) {
  const google::protobuf::EnumValueDescriptor* descriptor =
      google::protobuf::GetEnumDescriptor<Enum>()->FindValueByName(absl::StrCat(prefix, text));
  if (descriptor == nullptr) {
    return absl::DataLossError(
        absl::StrCat("storage: ", column, " holds unknown value '", text, "'"));
  }
  return static_cast<Enum>(descriptor->number());
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
