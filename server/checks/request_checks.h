// Validation of every request the coordinator accepts, run before a handler touches the
// database, so that a malformed message is refused at the door instead of half-written.
//
// Each function is a pure function of the message: no I/O, no clock, safe from any thread.
// It returns OK or InvalidArgument whose message names the field, the bad value and what is
// expected, e.g. "ReportResult.attempt must be >= 1, got 0". Long or binary values are quoted
// shortened and C-escaped, never echoed whole.
//
// Only what the message alone can tell is checked here. Facts that need stored state (the
// worker exists, the epoch is current, offsets fit the model's seq_len once the TOML is parsed)
// are the handlers' job.
#ifndef HEADEVO_SERVER_CHECKS_REQUEST_CHECKS_H_
#define HEADEVO_SERVER_CHECKS_REQUEST_CHECKS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/search_service.pb.h"
#include "headevo/v1/worker_service.pb.h"

namespace headevo::server {

// Limits on sizes, shared with the tests.
inline constexpr size_t kMaxWorkerNameBytes = 256;
inline constexpr size_t kMaxErrorBytes = 64 * 1024;
inline constexpr size_t kMaxReleaseReasonBytes = 4 * 1024;
inline constexpr size_t kMaxConfigTomlBytes = 1024 * 1024;
inline constexpr size_t kMaxSourceNameBytes = 1024;
inline constexpr int kMaxGenomeHeads = 4096;
inline constexpr int64_t kMaxOffsetMagnitude = int64_t{1} << 20;  // |offset| must be below
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kMaxExportCount = 1000;

// --- WorkerService ---

// device is "cpu", "cuda", "cuda:N" (N a non-negative integer) or "fake" (benchmarks);
// memory_bytes >= 0; name at most 256 bytes.
absl::Status CheckRegister(const headevo::v1::RegisterRequest& request);
// worker_id > 0; wait_ms >= 0.
absl::Status CheckLeaseJob(const headevo::v1::LeaseJobRequest& request);
// ids > 0, attempt >= 1, step >= 0, train_loss finite (a worker seeing a NaN loss reports a
// permanent failure instead of heartbeating it).
absl::Status CheckHeartbeat(const headevo::v1::HeartbeatRequest& request);
// ids > 0, attempt >= 1. A success (empty error) must carry a result with metrics whose losses
// and train_seconds are finite, counts >= 0, head statistics and growth records as
// CheckHeadRecords wants them, and a checkpoint_sha256 that is empty or a SHA-256. A
// failure's error is at most 64 KiB; `permanent` is only allowed with an error.
absl::Status CheckReportResult(const headevo::v1::ReportResultRequest& request);
// The per-head records of a result, as far as the message alone tells: the head statistics
// (head ids > 0 and unique, layer >= 0, the four signals finite) and the growth records
// (CheckGrowthRecords). This is the only check of these facts: the store does not repeat
// them, and checks only what needs the candidate's genome (the head is the candidate's, in
// that layer; a grown head is new in it and GROWN from the source named; see
// storage/result_writer.h). So every result must pass here before it is stored: the gRPC
// service's through CheckReportResult, any other (an embedded worker's) by a call to this.
absl::Status CheckHeadRecords(const headevo::v1::EvaluationResult& result);
// The growth records of a result, as far as the message alone tells: head ids > 0 and unique,
// layer >= 0, kind WIDEN (with a source_head_id > 0) or NEW_HEAD (with source_head_id 0),
// added_key_width >= 0, scale and loss changes finite. Part of CheckHeadRecords, which callers
// outside this file should prefer (it covers the head statistics too).
absl::Status CheckGrowthRecords(const headevo::v1::EvaluationResult& result);
// Initial genome `index` of a new search, as far as the genome alone tells: num_layers >= 1,
// at most kMaxGenomeHeads heads, each in [0, num_layers) with offsets non-empty, sorted,
// unique and of magnitude < kMaxOffsetMagnitude. The only check of these facts: the
// coordinator checks what needs the search's model (layers, seq_len, causal) and calls this
// for genomes that did not come through CheckCreateSearch (`headevo run --start-from`).
absl::Status CheckInitialGenome(int index, const headevo::v1::Genome& genome);
// ids > 0, attempt >= 1, reason at most 4 KiB.
absl::Status CheckReleaseJob(const headevo::v1::ReleaseJobRequest& request);

// `sha256` is exactly 64 lower-case hex digits; `what` names the field in the message.
absl::Status CheckSha256(std::string_view what, const std::string& sha256);
// The first message of an upload stream: a valid sha256, 0 < total_bytes <= max_bytes, and
// no more data than total_bytes.
absl::Status CheckUploadHeader(const headevo::v1::UploadCheckpointRequest& first,
                               int64_t max_bytes);
absl::Status CheckDownload(const headevo::v1::DownloadCheckpointRequest& request);
absl::Status CheckHasCheckpoint(const headevo::v1::HasCheckpointRequest& request);

// --- SearchService ---

// config_toml non-empty and at most 1 MiB; source_name at most 1 KiB; every initial genome
// has num_layers >= 1, at most 4096 heads, each head in a layer in [0, num_layers) with
// non-empty, strictly increasing offsets of magnitude below 2^20.
absl::Status CheckCreateSearch(const headevo::v1::CreateSearchRequest& request);
// search_id > 0, for the RPCs whose request is a search id alone; `rpc` names the RPC in the
// message ("GetSearch", "PauseSearch", ...).
absl::Status CheckSearchId(std::string_view rpc, int64_t search_id);
// search_id > 0, page_size in [0, 1000], generations >= 0 with a non-zero max_generation not
// below min_generation, known state and order values, a page_token ParsePageToken accepts.
absl::Status CheckListCandidates(const headevo::v1::ListCandidatesRequest& request);
// candidate_id > 0; descendant_depth >= -1 (-1: all).
absl::Status CheckGetLineage(const headevo::v1::GetLineageRequest& request);
// head_id > 0.
absl::Status CheckGetHeadHistory(const headevo::v1::GetHeadHistoryRequest& request);
// search_id > 0; after_event_id >= 0.
absl::Status CheckWatchSearch(const headevo::v1::WatchSearchRequest& request);
// search_id > 0; count in [0, 1000].
absl::Status CheckExportBest(const headevo::v1::ExportBestRequest& request);
// candidate_id > 0.
absl::Status CheckGetCandidate(const headevo::v1::GetCandidateRequest& request);
// search_id > 0 (GetSearchConfig takes a GetSearchRequest).
absl::Status CheckGetSearchConfig(const headevo::v1::GetSearchRequest& request);
// search_id > 0.
absl::Status CheckDeleteSearch(const headevo::v1::DeleteSearchRequest& request);

// The offset a page token stands for: empty is 0, otherwise a decimal non-negative integer of
// at most 18 digits (so it always fits an int64). InvalidArgument names "page_token".
absl::StatusOr<int64_t> ParsePageToken(const std::string& token);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_CHECKS_REQUEST_CHECKS_H_
