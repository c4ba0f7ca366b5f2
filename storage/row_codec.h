// How proto values are written into SQLite columns and read back: enums as their value name
// without the type's prefix ('DONE', 'INHERITED', 'UNIFORM'), so the file reads well in the
// sqlite3 shell; offset sets as sorted comma-separated integers ('-17,-3,-1').
//
// Text read back from a column that does not parse is DataLoss naming the column.
#ifndef HEADEVO_STORAGE_ROW_CODEC_H_
#define HEADEVO_STORAGE_ROW_CODEC_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"
#include "headevo/v1/search_service.pb.h"

namespace headevo::storage {

std::string ToText(headevo::v1::HeadOrigin origin);
std::string ToText(headevo::v1::SamplerKind sampler);
std::string ToText(headevo::v1::CandidateState state);
std::string ToText(headevo::v1::SearchState state);
std::string ToText(headevo::v1::GrowthKind kind);  // 'WIDEN', 'NEW_HEAD'

// `column` ("heads.origin") goes into the error message.
absl::StatusOr<headevo::v1::HeadOrigin> HeadOriginFromText(absl::string_view text,
                                                           absl::string_view column);
absl::StatusOr<headevo::v1::SamplerKind> SamplerKindFromText(absl::string_view text,
                                                             absl::string_view column);
absl::StatusOr<headevo::v1::CandidateState> CandidateStateFromText(absl::string_view text,
                                                                   absl::string_view column);
absl::StatusOr<headevo::v1::SearchState> SearchStateFromText(absl::string_view text,
                                                             absl::string_view column);
absl::StatusOr<headevo::v1::GrowthKind> GrowthKindFromText(absl::string_view text,
                                                           absl::string_view column);

// InvalidArgument unless `offsets` is non-empty and strictly increasing (sorted and unique).
absl::Status ValidateOffsets(const headevo::v1::OffsetSet& offsets);
std::string OffsetsToText(const headevo::v1::OffsetSet& offsets);
absl::StatusOr<headevo::v1::OffsetSet> OffsetsFromText(absl::string_view text,
                                                       absl::string_view column);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_ROW_CODEC_H_
