#include "server/checks/request_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <unordered_set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace headevo::server {
namespace {

namespace v1 = headevo::v1;
using absl::InvalidArgumentError;

// Debian's Abseil has its own string_view type; the public API takes the standard one.
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The first failure of checks that do not depend on each other (all are evaluated; an OK
// status costs nothing to build, and only a failure formats its message).
absl::Status FirstError(std::initializer_list<absl::Status> statuses) {
  for (const absl::Status& status : statuses) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// A value as a message shows it: shortened and C-escaped, so that a megabyte of garbage or a
// control character cannot flood or corrupt the log line the error ends up in.
std::string Quote(absl::string_view value) {
  constexpr size_t kShown = 64;
  if (value.size() <= kShown) return absl::StrCat("'", absl::CHexEscape(value), "'");
  return absl::StrCat("'", absl::CHexEscape(value.substr(0, kShown)), "...' (", value.size(),
                      " bytes)");
}

absl::Status Positive(absl::string_view field, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return InvalidArgumentError(absl::StrCat(field, " must be > 0, got ", value));
}

absl::Status AtLeast(absl::string_view field, int64_t value, int64_t min) {
  if (value >= min) return absl::OkStatus();
  return InvalidArgumentError(absl::StrCat(field, " must be >= ", min, ", got ", value));
}

absl::Status InRange(absl::string_view field, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return InvalidArgumentError(
      absl::StrCat(field, " must be in [", min, ", ", max, "], got ", value));
}

// `advice` follows the value: what the sender should have done instead.
absl::Status Finite(absl::string_view field, double value, absl::string_view advice = "") {
  if (std::isfinite(value)) return absl::OkStatus();
  return InvalidArgumentError(absl::StrCat(field, " must be finite, got ", value, advice));
}

absl::Status AtMostBytes(absl::string_view field, const std::string& value, size_t max) {
  if (value.size() <= max) return absl::OkStatus();
  return InvalidArgumentError(
      absl::StrCat(field, " must be at most ", max, " bytes, got ", value.size()));
}

bool IsKnownDevice(absl::string_view device) {
  if (device == "cpu" || device == "cuda" || device == "fake") return true;
  if (!absl::ConsumePrefix(&device, "cuda:")) return false;
  // Nine digits always fit an int, the type device indices have everywhere downstream.
  return !device.empty() && device.size() <= 9 &&
         std::all_of(device.begin(), device.end(), absl::ascii_isdigit);
}

constexpr char kNonFiniteLoss[] =
    "; a NaN or infinite loss must be reported as a permanent failure (error set, permanent "
    "true)";

absl::Status CheckMetrics(const v1::Metrics& m) {
  return FirstError({
      Finite("ReportResult.result.metrics.train_loss", m.train_loss(), kNonFiniteLoss),
      Finite("ReportResult.result.metrics.val_loss", m.val_loss(), kNonFiniteLoss),
      AtLeast("ReportResult.result.metrics.connections", m.connections(), 0),
      AtLeast("ReportResult.result.metrics.steps", m.steps(), 0),
      AtLeast("ReportResult.result.metrics.tokens", m.tokens(), 0),
      Finite("ReportResult.result.metrics.train_seconds", m.train_seconds()),
      !(m.train_seconds() < 0)
          ? absl::OkStatus()
          : InvalidArgumentError(absl::StrCat(
                "ReportResult.result.metrics.train_seconds must be >= 0, got ", m.train_seconds())),
  });
}

// One entry; the field names are formatted only once something is wrong with it.
absl::Status CheckOneHeadStats(int i, const v1::HeadStats& s) {
  const bool fine = s.head_id() > 0 && s.layer() >= 0 && std::isfinite(s.entropy()) &&
                    std::isfinite(s.independence()) && std::isfinite(s.weight_norm()) &&
                    std::isfinite(s.importance());
  if (fine) return absl::OkStatus();
  const std::string field = absl::StrCat("ReportResult.result.head_stats[", i, "]");
  return FirstError({
      Positive(absl::StrCat(field, ".head_id"), s.head_id()),
      AtLeast(absl::StrCat(field, ".layer"), s.layer(), 0),
      Finite(absl::StrCat(field, ".entropy"), s.entropy()),
      Finite(absl::StrCat(field, ".independence"), s.independence()),
      Finite(absl::StrCat(field, ".weight_norm"), s.weight_norm()),
      Finite(absl::StrCat(field, ".importance"), s.importance()),
  });
}

absl::Status CheckHeadStats(const google::protobuf::RepeatedPtrField<v1::HeadStats>& stats) {
  std::unordered_set<int64_t> seen;
  for (int i = 0; i < stats.size(); ++i) {
    if (absl::Status status = CheckOneHeadStats(i, stats[i]); !status.ok()) return status;
    if (!seen.insert(stats[i].head_id()).second) {
      return InvalidArgumentError(absl::StrCat("ReportResult.result.head_stats[", i, "].head_id ",
                                               stats[i].head_id(),
                                               " appears twice; each head is reported once"));
    }
  }
  return absl::OkStatus();
}

// One growth record; the field names are formatted only once something is wrong with it.
absl::Status CheckOneGrowth(int i, const v1::HeadGrowth& g) {
  const bool known_kind = g.kind() == v1::GROWTH_KIND_WIDEN || g.kind() == v1::GROWTH_KIND_NEW_HEAD;
  const bool source_fits =
      g.kind() == v1::GROWTH_KIND_WIDEN ? g.source_head_id() > 0 : g.source_head_id() == 0;
  const bool fine = g.head_id() > 0 && g.layer() >= 0 && known_kind && source_fits &&
                    g.added_key_width() >= 0 && std::isfinite(g.scale()) &&
                    std::isfinite(g.predicted_loss_change()) &&
                    std::isfinite(g.measured_loss_change());
  if (fine) return absl::OkStatus();
  const std::string field = absl::StrCat("ReportResult.result.growth[", i, "]");
  if (!known_kind) {
    return InvalidArgumentError(absl::StrCat(field, ".kind must be GROWTH_KIND_WIDEN or ",
                                             "GROWTH_KIND_NEW_HEAD, got ",
                                             static_cast<int>(g.kind())));
  }
  if (!source_fits) {
    return InvalidArgumentError(absl::StrCat(field, ".source_head_id ",
                                             g.kind() == v1::GROWTH_KIND_WIDEN
                                                 ? "must name the head a WIDEN grew from (> 0)"
                                                 : "must be 0 for a NEW_HEAD",
                                             ", got ", g.source_head_id()));
  }
  return FirstError({
      Positive(absl::StrCat(field, ".head_id"), g.head_id()),
      AtLeast(absl::StrCat(field, ".layer"), g.layer(), 0),
      AtLeast(absl::StrCat(field, ".added_key_width"), g.added_key_width(), 0),
      Finite(absl::StrCat(field, ".scale"), g.scale()),
      Finite(absl::StrCat(field, ".predicted_loss_change"), g.predicted_loss_change()),
      Finite(absl::StrCat(field, ".measured_loss_change"), g.measured_loss_change()),
  });
}

}  // namespace

absl::Status CheckGrowthRecords(const v1::EvaluationResult& result) {
  std::unordered_set<int64_t> seen;
  for (int i = 0; i < result.growth_size(); ++i) {
    if (absl::Status status = CheckOneGrowth(i, result.growth(i)); !status.ok()) return status;
    if (!seen.insert(result.growth(i).head_id()).second) {
      return InvalidArgumentError(absl::StrCat("ReportResult.result.growth[", i, "].head_id ",
                                               result.growth(i).head_id(),
                                               " appears twice; each head grows once"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckHeadRecords(const v1::EvaluationResult& result) {
  if (absl::Status status = CheckHeadStats(result.head_stats()); !status.ok()) return status;
  return CheckGrowthRecords(result);
}

namespace {

absl::Status CheckSuccess(const v1::ReportResultRequest& request) {
  // A missing result would read as metrics of zero: a perfect val_loss nobody measured.
  if (!request.has_result() || !request.result().has_metrics()) {
    return InvalidArgumentError(
        "ReportResult.result.metrics is missing; a success carries its metrics (or set error)");
  }
  const v1::EvaluationResult& result = request.result();
  return FirstError({
      CheckMetrics(result.metrics()),
      CheckHeadRecords(result),
      result.checkpoint_sha256().empty()
          ? absl::OkStatus()
          : CheckSha256("ReportResult.result.checkpoint_sha256", result.checkpoint_sha256()),
  });
}

// One head of initial genome `g`; `field` is built only for a message.
absl::Status CheckInitialHead(int g, int h, const v1::Head& head, int num_layers) {
  const auto field = [&](absl::string_view rest) {
    return absl::StrCat("CreateSearch.initial_genomes[", g, "].heads[", h, "]", rest);
  };
  if (head.layer() < 0 || head.layer() >= num_layers) {
    return InvalidArgumentError(absl::StrCat(
        field(".layer"), " must be in [0, num_layers = ", num_layers, "), got ", head.layer()));
  }
  const auto& offsets = head.offsets().offsets();
  if (offsets.empty()) {
    return InvalidArgumentError(field(".offsets must not be empty (a head attends somewhere)"));
  }
  for (int i = 0; i < offsets.size(); ++i) {
    if (std::abs(int64_t{offsets[i]}) >= kMaxOffsetMagnitude) {
      return InvalidArgumentError(absl::StrCat(field(".offsets["), i, "] must have magnitude < ",
                                               kMaxOffsetMagnitude, ", got ", offsets[i]));
    }
    if (i > 0 && offsets[i] <= offsets[i - 1]) {
      return InvalidArgumentError(absl::StrCat(field(".offsets["), i, "] must be greater than ",
                                               offsets[i - 1],
                                               " (offsets are sorted, unique), got ", offsets[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOneInitialGenome(int g, const v1::Genome& genome) {
  const std::string field = absl::StrCat("CreateSearch.initial_genomes[", g, "]");
  if (absl::Status s = AtLeast(absl::StrCat(field, ".num_layers"), genome.num_layers(), 1);
      !s.ok()) {
    return s;
  }
  if (genome.heads_size() > kMaxGenomeHeads) {
    return InvalidArgumentError(absl::StrCat(field, ".heads must hold at most ", kMaxGenomeHeads,
                                             " heads, got ", genome.heads_size()));
  }
  for (int h = 0; h < genome.heads_size(); ++h) {
    absl::Status status = CheckInitialHead(g, h, genome.heads(h), genome.num_layers());
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckInitialGenome(int index, const v1::Genome& genome) {
  return CheckOneInitialGenome(index, genome);
}

absl::Status CheckRegister(const v1::RegisterRequest& request) {
  if (!IsKnownDevice(request.device())) {
    return InvalidArgumentError(
        absl::StrCat("Register.device must be \"cpu\", \"cuda\", \"cuda:N\" or \"fake\", got ",
                     Quote(request.device())));
  }
  return FirstError({
      AtLeast("Register.memory_bytes", request.memory_bytes(), 0),
      AtMostBytes("Register.name", request.name(), kMaxWorkerNameBytes),
  });
}

absl::Status CheckLeaseJob(const v1::LeaseJobRequest& request) {
  return FirstError({
      Positive("LeaseJob.worker_id", request.worker_id()),
      AtLeast("LeaseJob.wait_ms", request.wait_ms(), 0),
  });
}

absl::Status CheckHeartbeat(const v1::HeartbeatRequest& request) {
  return FirstError({
      Positive("Heartbeat.worker_id", request.worker_id()),
      Positive("Heartbeat.job_id", request.job_id()),
      AtLeast("Heartbeat.attempt", request.attempt(), 1),
      AtLeast("Heartbeat.step", request.step(), 0),
      Finite("Heartbeat.train_loss", request.train_loss(),
             "; a worker seeing a NaN or infinite loss reports a permanent failure instead"),
  });
}

absl::Status CheckReportResult(const v1::ReportResultRequest& request) {
  absl::Status status = FirstError({
      Positive("ReportResult.worker_id", request.worker_id()),
      Positive("ReportResult.job_id", request.job_id()),
      AtLeast("ReportResult.attempt", request.attempt(), 1),
  });
  if (!status.ok()) return status;
  // A failure's result is not looked at: a NaN in it may well be why it failed.
  if (!request.error().empty()) {
    return AtMostBytes("ReportResult.error", request.error(), kMaxErrorBytes);
  }
  if (request.permanent()) {
    return InvalidArgumentError(
        "ReportResult.permanent must be false when error is empty (only a failure is permanent)");
  }
  return CheckSuccess(request);
}

absl::Status CheckReleaseJob(const v1::ReleaseJobRequest& request) {
  return FirstError({
      Positive("ReleaseJob.worker_id", request.worker_id()),
      Positive("ReleaseJob.job_id", request.job_id()),
      AtLeast("ReleaseJob.attempt", request.attempt(), 1),
      AtMostBytes("ReleaseJob.reason", request.reason(), kMaxReleaseReasonBytes),
  });
}

absl::Status CheckSha256(std::string_view what, const std::string& sha256) {
  const auto lower_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  if (sha256.size() == 64 && std::all_of(sha256.begin(), sha256.end(), lower_hex)) {
    return absl::OkStatus();
  }
  return InvalidArgumentError(absl::StrCat(
      Absl(what), " must be a SHA-256 of 64 lower-case hex digits, got ", Quote(sha256)));
}

absl::Status CheckUploadHeader(const v1::UploadCheckpointRequest& first, int64_t max_bytes) {
  absl::Status status = FirstError({
      CheckSha256("UploadCheckpoint.sha256", first.sha256()),
      Positive("UploadCheckpoint.total_bytes", first.total_bytes()),
  });
  if (!status.ok()) return status;
  if (first.total_bytes() > max_bytes) {
    return InvalidArgumentError(absl::StrCat("UploadCheckpoint.total_bytes must be <= ", max_bytes,
                                             " (the coordinator's checkpoint limit), got ",
                                             first.total_bytes()));
  }
  if (static_cast<int64_t>(first.data().size()) > first.total_bytes()) {
    return InvalidArgumentError(
        absl::StrCat("UploadCheckpoint.data holds ", first.data().size(),
                     " bytes, more than total_bytes = ", first.total_bytes()));
  }
  return absl::OkStatus();
}

absl::Status CheckDownload(const v1::DownloadCheckpointRequest& request) {
  return CheckSha256("DownloadCheckpoint.sha256", request.sha256());
}

absl::Status CheckHasCheckpoint(const v1::HasCheckpointRequest& request) {
  return CheckSha256("HasCheckpoint.sha256", request.sha256());
}

absl::Status CheckCreateSearch(const v1::CreateSearchRequest& request) {
  if (request.config_toml().empty()) {
    return InvalidArgumentError("CreateSearch.config_toml must not be empty");
  }
  absl::Status status = FirstError({
      AtMostBytes("CreateSearch.config_toml", request.config_toml(), kMaxConfigTomlBytes),
      AtMostBytes("CreateSearch.source_name", request.source_name(), kMaxSourceNameBytes),
  });
  for (int g = 0; status.ok() && g < request.initial_genomes_size(); ++g) {
    status = CheckInitialGenome(g, request.initial_genomes(g));
  }
  return status;
}

absl::Status CheckSearchId(std::string_view rpc, int64_t search_id) {
  return Positive(absl::StrCat(Absl(rpc), ".search_id"), search_id);
}

absl::Status CheckListCandidates(const v1::ListCandidatesRequest& request) {
  absl::Status status = FirstError({
      CheckSearchId("ListCandidates", request.search_id()),
      AtLeast("ListCandidates.min_generation", request.min_generation(), 0),
      AtLeast("ListCandidates.max_generation", request.max_generation(), 0),
      InRange("ListCandidates.page_size", request.page_size(), 0, kMaxPageSize),
  });
  if (!status.ok()) return status;
  if (request.max_generation() != 0 && request.max_generation() < request.min_generation()) {
    return InvalidArgumentError(
        absl::StrCat("ListCandidates.max_generation must be 0 (any) or >= min_generation = ",
                     request.min_generation(), ", got ", request.max_generation()));
  }
  if (!v1::CandidateState_IsValid(request.state())) {
    return InvalidArgumentError(
        absl::StrCat("ListCandidates.state must be a known CandidateState, got ", request.state()));
  }
  if (!v1::CandidateOrder_IsValid(request.order())) {
    return InvalidArgumentError(
        absl::StrCat("ListCandidates.order must be a known CandidateOrder, got ", request.order()));
  }
  absl::StatusOr<int64_t> offset = ParsePageToken(request.page_token());
  if (!offset.ok()) {
    return InvalidArgumentError(absl::StrCat("ListCandidates.", offset.status().message()));
  }
  return absl::OkStatus();
}

absl::Status CheckGetLineage(const v1::GetLineageRequest& request) {
  return FirstError({
      Positive("GetLineage.candidate_id", request.candidate_id()),
      AtLeast("GetLineage.descendant_depth", request.descendant_depth(), -1),
  });
}

absl::Status CheckGetHeadHistory(const v1::GetHeadHistoryRequest& request) {
  return Positive("GetHeadHistory.head_id", request.head_id());
}

absl::Status CheckWatchSearch(const v1::WatchSearchRequest& request) {
  return FirstError({
      CheckSearchId("WatchSearch", request.search_id()),
      AtLeast("WatchSearch.after_event_id", request.after_event_id(), 0),
  });
}

absl::Status CheckExportBest(const v1::ExportBestRequest& request) {
  return FirstError({
      CheckSearchId("ExportBest", request.search_id()),
      InRange("ExportBest.count", request.count(), 0, kMaxExportCount),
  });
}

absl::Status CheckGetCandidate(const v1::GetCandidateRequest& request) {
  return Positive("GetCandidate.candidate_id", request.candidate_id());
}

absl::Status CheckGetSearchConfig(const v1::GetSearchRequest& request) {
  return CheckSearchId("GetSearchConfig", request.search_id());
}

absl::Status CheckDeleteSearch(const v1::DeleteSearchRequest& request) {
  return CheckSearchId("DeleteSearch", request.search_id());
}

absl::StatusOr<int64_t> ParsePageToken(const std::string& token) {
  // 18 digits keep every accepted token below 10^18 < 2^63: no overflow to check for.
  constexpr size_t kMaxDigits = 18;
  if (token.size() > kMaxDigits || !std::all_of(token.begin(), token.end(), absl::ascii_isdigit)) {
    return InvalidArgumentError(absl::StrCat(
        "page_token must be empty or a decimal non-negative integer of at most 18 digits (a "
        "next_page_token from the previous page), got ",
        Quote(token)));
  }
  int64_t value = 0;
  for (char c : token) value = value * 10 + (c - '0');
  return value;
}

}  // namespace headevo::server
