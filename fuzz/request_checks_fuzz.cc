// Fuzz target for server/request_checks: the first byte picks a request type (byte % 15, in
// the order of kChecks below: 0 Register, 1 LeaseJob, 2 Heartbeat, 3 ReportResult,
// 4 ReleaseJob, 5 UploadCheckpoint, 6 DownloadCheckpoint, 7 HasCheckpoint, 8 CreateSearch,
// 9 SearchControl, 10 ListCandidates, 11 GetLineage, 12 GetHeadHistory, 13 WatchSearch,
// 14 ExportBest); the rest is parsed as that message and handed to its check.
//
// Beyond "never crash", it aborts (a finding) where a check breaks its contract:
//  - a refusal is INVALID_ARGUMENT with a message of bounded size (values are quoted
//    shortened, so a huge field cannot flood a log line);
//  - an accepted successful ReportResult has finite losses (a NaN val_loss would rank first);
//  - an accepted ListCandidates has a page token ParsePageToken reads as >= 0.
// Seeds: corpus/request_checks/, one file per type, named after it.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "google/protobuf/stubs/logging.h"
#include "server/checks/request_checks.h"

namespace {

namespace v1 = headevo::v1;
namespace server = headevo::server;

// Longest refusal message a check may produce; a quoted value is cut at 64 bytes.
constexpr size_t kMaxMessageBytes = 512;

[[noreturn]] void Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "request_checks_fuzz: %s: %s\n", what, status.ToString().c_str());
  std::abort();
}

void ExpectWellFormed(const absl::Status& status) {
  if (status.ok()) return;
  if (status.code() != absl::StatusCode::kInvalidArgument) Fail("not INVALID_ARGUMENT", status);
  if (status.message().empty() || status.message().size() > kMaxMessageBytes) {
    Fail("empty or oversized message", status);
  }
}

// Parses `Message` from the bytes and runs `check`; -1 (not worth keeping in the corpus) when
// the bytes are no such message.
template <typename Message, typename Check>
int Run(const uint8_t* data, size_t size, Check check) {
  Message message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return -1;
  ExpectWellFormed(check(message));
  return 0;
}

absl::Status CheckReportResultAndLosses(const v1::ReportResultRequest& request) {
  absl::Status status = server::CheckReportResult(request);
  if (status.ok() && request.error().empty()) {
    const v1::Metrics& metrics = request.result().metrics();
    if (!std::isfinite(metrics.train_loss()) || !std::isfinite(metrics.val_loss())) {
      Fail("accepted a success with a non-finite loss", status);
    }
  }
  return status;
}

absl::Status CheckListCandidatesAndToken(const v1::ListCandidatesRequest& request) {
  absl::Status status = server::CheckListCandidates(request);
  if (status.ok()) {
    absl::StatusOr<int64_t> offset = server::ParsePageToken(request.page_token());
    if (!offset.ok() || *offset < 0) Fail("accepted a page token it cannot read", status);
  }
  return status;
}

using Runner = int (*)(const uint8_t*, size_t);
constexpr Runner kChecks[] = {
    [](const uint8_t* d, size_t n) {
      return Run<v1::RegisterRequest>(d, n, server::CheckRegister);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::LeaseJobRequest>(d, n, server::CheckLeaseJob);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::HeartbeatRequest>(d, n, server::CheckHeartbeat);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::ReportResultRequest>(d, n, CheckReportResultAndLosses);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::ReleaseJobRequest>(d, n, server::CheckReleaseJob);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::UploadCheckpointRequest>(d, n, [](const v1::UploadCheckpointRequest& r) {
        return server::CheckUploadHeader(r, int64_t{1} << 30);
      });
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::DownloadCheckpointRequest>(d, n, server::CheckDownload);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::HasCheckpointRequest>(d, n, server::CheckHasCheckpoint);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::CreateSearchRequest>(d, n, server::CheckCreateSearch);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::SearchControlRequest>(d, n, [](const v1::SearchControlRequest& r) {
        return server::CheckSearchId("PauseSearch", r.search_id());
      });
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::ListCandidatesRequest>(d, n, CheckListCandidatesAndToken);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::GetLineageRequest>(d, n, server::CheckGetLineage);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::GetHeadHistoryRequest>(d, n, server::CheckGetHeadHistory);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::WatchSearchRequest>(d, n, server::CheckWatchSearch);
    },
    [](const uint8_t* d, size_t n) {
      return Run<v1::ExportBestRequest>(d, n, server::CheckExportBest);
    },
};
constexpr size_t kNumChecks = sizeof(kChecks) / sizeof(kChecks[0]);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // proto3 logs every string field with invalid UTF-8 it refuses; at thousands of inputs a
  // second that is all the fuzzer would do.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size == 0) return -1;
  return kChecks[data[0] % kNumChecks](data + 1, size - 1);
}
