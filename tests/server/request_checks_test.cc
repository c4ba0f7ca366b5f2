#include "server/checks/request_checks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "tests/testutil/status_matchers.h"

namespace headevo::server {
namespace {

namespace v1 = headevo::v1;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
const std::string kSha(64, 'a');

// Expects InvalidArgument with a message containing `field`.
void ExpectInvalid(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find(field), std::string::npos)
      << "'" << field << "' missing from: " << status.message();
}

// Applies `mutate` to a copy of `valid` and expects `check` to name `field`.
template <typename Message>
void ExpectRejected(const Message& valid, const std::function<absl::Status(const Message&)>& check,
                    const std::function<void(Message&)>& mutate, const std::string& field) {
  Message bad = valid;
  mutate(bad);
  SCOPED_TRACE(field);
  ExpectInvalid(check(bad), field);
}

// --- WorkerService ---

TEST(RequestChecksWorkerTest, RegisterAcceptsEveryDeviceForm) {
  v1::RegisterRequest request;
  request.set_memory_bytes(1 << 30);
  request.set_name(std::string(kMaxWorkerNameBytes, 'n'));
  for (const char* device : {"cpu", "cuda", "cuda:0", "cuda:15", "fake"}) {
    request.set_device(device);
    EXPECT_OK(CheckRegister(request)) << device;
  }
}

TEST(RequestChecksWorkerTest, RegisterRejectsBadFields) {
  v1::RegisterRequest request;
  for (const char* device : {"", "gpu", "CPU", "cuda:", "cuda:-1", "cuda:x", "cuda:1x", "cuda:+1",
                             " cpu", "cuda:1234567890"}) {
    request.set_device(device);
    ExpectInvalid(CheckRegister(request), "Register.device");
  }
  request.set_device(std::string("cuda\0:0", 7));
  ExpectInvalid(CheckRegister(request), "\\x00");  // binary is escaped, not echoed raw
  request.set_device("cpu");
  request.set_memory_bytes(-1);
  ExpectInvalid(CheckRegister(request), "Register.memory_bytes must be >= 0, got -1");
  request.set_memory_bytes(0);
  request.set_name(std::string(kMaxWorkerNameBytes + 1, 'n'));
  ExpectInvalid(CheckRegister(request), "Register.name");
}

TEST(RequestChecksWorkerTest, LeaseJob) {
  v1::LeaseJobRequest request;
  request.set_worker_id(1);
  EXPECT_OK(CheckLeaseJob(request));
  std::function<absl::Status(const v1::LeaseJobRequest&)> check = CheckLeaseJob;
  ExpectRejected<v1::LeaseJobRequest>(
      request, check, [](auto& r) { r.set_worker_id(0); }, "LeaseJob.worker_id");
  ExpectRejected<v1::LeaseJobRequest>(
      request, check, [](auto& r) { r.set_wait_ms(-5); }, "LeaseJob.wait_ms");
}

TEST(RequestChecksWorkerTest, Heartbeat) {
  v1::HeartbeatRequest request;
  request.set_worker_id(1);
  request.set_job_id(2);
  request.set_attempt(1);
  request.set_step(0);
  request.set_train_loss(2.5);
  EXPECT_OK(CheckHeartbeat(request));
  std::function<absl::Status(const v1::HeartbeatRequest&)> check = CheckHeartbeat;
  using R = v1::HeartbeatRequest;
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_worker_id(-1); }, "Heartbeat.worker_id");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_job_id(0); }, "Heartbeat.job_id");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_attempt(0); }, "Heartbeat.attempt");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_step(-1); }, "Heartbeat.step");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_train_loss(kNaN); }, "Heartbeat.train_loss");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_train_loss(-kInf); }, "Heartbeat.train_loss");
}

v1::ReportResultRequest ValidSuccess() {
  v1::ReportResultRequest request;
  request.set_worker_id(1);
  request.set_job_id(2);
  request.set_attempt(1);
  v1::EvaluationResult& result = *request.mutable_result();
  v1::Metrics& metrics = *result.mutable_metrics();
  metrics.set_train_loss(1.5);
  metrics.set_val_loss(1.7);
  metrics.set_connections(24);
  metrics.set_steps(200);
  metrics.set_train_seconds(3.25);
  for (int64_t id : {7, 8}) {
    v1::HeadStats& stats = *result.add_head_stats();
    stats.set_head_id(id);
    stats.set_layer(1);
    stats.set_entropy(0.5);
  }
  result.set_checkpoint_sha256(kSha);
  return request;
}

TEST(RequestChecksReportResultTest, AcceptsSuccessAndFailure) {
  EXPECT_OK(CheckReportResult(ValidSuccess()));
  v1::ReportResultRequest no_checkpoint = ValidSuccess();
  no_checkpoint.mutable_result()->clear_checkpoint_sha256();
  EXPECT_OK(CheckReportResult(no_checkpoint));

  v1::ReportResultRequest failure = ValidSuccess();
  failure.clear_result();
  failure.set_error(std::string(kMaxErrorBytes, 'e'));
  failure.set_permanent(true);
  EXPECT_OK(CheckReportResult(failure));
  // A failure's metrics are not looked at: a NaN there is the reason for the failure.
  failure.mutable_result()->mutable_metrics()->set_val_loss(kNaN);
  EXPECT_OK(CheckReportResult(failure));
}

TEST(RequestChecksReportResultTest, RejectsBadIdsAndFailures) {
  using R = v1::ReportResultRequest;
  std::function<absl::Status(const R&)> check = CheckReportResult;
  const R valid = ValidSuccess();
  ExpectRejected<R>(
      valid, check, [](R& r) { r.set_worker_id(0); }, "ReportResult.worker_id");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.set_job_id(-3); }, "ReportResult.job_id");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.set_attempt(0); }, "ReportResult.attempt must be >= 1, got 0");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.set_error(std::string(kMaxErrorBytes + 1, 'e')); },
      "ReportResult.error");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.set_permanent(true); }, "ReportResult.permanent");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.clear_result(); }, "ReportResult.result.metrics");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.mutable_result()->clear_metrics(); },
      "ReportResult.result.metrics");
}

TEST(RequestChecksReportResultTest, RejectsBadMetrics) {
  using R = v1::ReportResultRequest;
  std::function<absl::Status(const R&)> check = CheckReportResult;
  const R valid = ValidSuccess();
  const auto metrics = [](R& r) { return r.mutable_result()->mutable_metrics(); };
  ExpectRejected<R>(
      valid, check, [&](R& r) { metrics(r)->set_train_loss(kNaN); },
      "ReportResult.result.metrics.train_loss");
  ExpectRejected<R>(
      valid, check, [&](R& r) { metrics(r)->set_val_loss(kInf); },
      "ReportResult.result.metrics.val_loss");
  ExpectRejected<R>(
      valid, check, [&](R& r) { metrics(r)->set_val_loss(kNaN); }, "permanent failure");
  ExpectRejected<R>(
      valid, check, [&](R& r) { metrics(r)->set_connections(-1); },
      "ReportResult.result.metrics.connections");
  ExpectRejected<R>(
      valid, check, [&](R& r) { metrics(r)->set_steps(-1); }, "ReportResult.result.metrics.steps");
  ExpectRejected<R>(
      valid, check, [&](R& r) { metrics(r)->set_tokens(-1); }, "ReportResult.result.metrics.tokens");
  ExpectRejected<R>(
      valid, check, [&](R& r) { metrics(r)->set_train_seconds(kNaN); },
      "ReportResult.result.metrics.train_seconds");
  ExpectRejected<R>(
      valid, check, [&](R& r) { metrics(r)->set_train_seconds(-0.5); },
      "ReportResult.result.metrics.train_seconds must be >= 0");
}

TEST(RequestChecksReportResultTest, RejectsBadHeadStatsAndCheckpoint) {
  using R = v1::ReportResultRequest;
  std::function<absl::Status(const R&)> check = CheckReportResult;
  const R valid = ValidSuccess();
  const auto stats = [](R& r) { return r.mutable_result()->mutable_head_stats(1); };
  ExpectRejected<R>(
      valid, check, [&](R& r) { stats(r)->set_head_id(0); },
      "ReportResult.result.head_stats[1].head_id");
  ExpectRejected<R>(
      valid, check, [&](R& r) { stats(r)->set_head_id(7); }, "appears twice");
  ExpectRejected<R>(
      valid, check, [&](R& r) { stats(r)->set_layer(-1); },
      "ReportResult.result.head_stats[1].layer");
  ExpectRejected<R>(
      valid, check, [&](R& r) { stats(r)->set_entropy(kNaN); },
      "ReportResult.result.head_stats[1].entropy");
  ExpectRejected<R>(
      valid, check, [&](R& r) { stats(r)->set_independence(kInf); },
      "ReportResult.result.head_stats[1].independence");
  ExpectRejected<R>(
      valid, check, [&](R& r) { stats(r)->set_weight_norm(kNaN); },
      "ReportResult.result.head_stats[1].weight_norm");
  ExpectRejected<R>(
      valid, check, [&](R& r) { stats(r)->set_importance(-kInf); },
      "ReportResult.result.head_stats[1].importance");
  ExpectRejected<R>(
      valid, check, [&](R& r) { r.mutable_result()->set_checkpoint_sha256(std::string(64, 'A')); },
      "ReportResult.result.checkpoint_sha256");
}

TEST(RequestChecksReportResultTest, GrowthRecords) {
  using R = v1::ReportResultRequest;
  std::function<absl::Status(const R&)> check = CheckReportResult;
  R valid = ValidSuccess();
  for (int64_t id : {7, 8}) {
    v1::HeadGrowth& g = *valid.mutable_result()->add_growth();
    g.set_head_id(id);
    g.set_layer(1);
    g.set_kind(id == 7 ? v1::GROWTH_KIND_WIDEN : v1::GROWTH_KIND_NEW_HEAD);
    g.set_source_head_id(id == 7 ? 3 : 0);
    g.set_added_key_width(4);
    g.set_scale(0.5);
    g.set_predicted_loss_change(-0.1);
    g.set_measured_loss_change(-0.05);
  }
  EXPECT_OK(CheckReportResult(valid));
  const auto growth = [](R& r) { return r.mutable_result()->mutable_growth(1); };
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_kind(v1::GROWTH_KIND_UNSPECIFIED); },
      "ReportResult.result.growth[1].kind must be GROWTH_KIND_WIDEN or GROWTH_KIND_NEW_HEAD, got "
      "0");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_kind(static_cast<v1::GrowthKind>(9)); }, "got 9");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_source_head_id(3); },
      "ReportResult.result.growth[1].source_head_id must be 0 for a NEW_HEAD");
  ExpectRejected<R>(
      valid, check, [&](R& r) { r.mutable_result()->mutable_growth(0)->set_source_head_id(0); },
      "ReportResult.result.growth[0].source_head_id must name the head a WIDEN grew from");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_head_id(0); },
      "ReportResult.result.growth[1].head_id");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_head_id(7); }, "appears twice");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_layer(-1); }, "ReportResult.result.growth[1].layer");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_added_key_width(-4); },
      "ReportResult.result.growth[1].added_key_width");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_scale(kNaN); },
      "ReportResult.result.growth[1].scale");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_predicted_loss_change(kInf); },
      "ReportResult.result.growth[1].predicted_loss_change must be finite");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_measured_loss_change(-kInf); },
      "ReportResult.result.growth[1].measured_loss_change");
  // Moved here from the store's tests when the store stopped repeating these shape checks.
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_measured_loss_change(kNaN); },
      "ReportResult.result.growth[1].measured_loss_change must be finite");
  ExpectRejected<R>(
      valid, check, [&](R& r) { growth(r)->set_scale(kInf); },
      "ReportResult.result.growth[1].scale must be finite");
  ExpectRejected<R>(
      valid, check, [&](R& r) { r.mutable_result()->mutable_growth(0)->set_added_key_width(-1); },
      "ReportResult.result.growth[0].added_key_width must be >= 0, got -1");
}

// The per-head records of a result that did not come as a ReportResultRequest (an embedded
// worker's): the same facts, the only check of them before the store.
TEST(RequestChecksReportResultTest, HeadRecordsOfABareResult) {
  const v1::EvaluationResult valid = ValidSuccess().result();
  using E = v1::EvaluationResult;
  std::function<absl::Status(const E&)> check = CheckHeadRecords;
  EXPECT_OK(CheckHeadRecords(valid));
  ExpectRejected<E>(
      valid, check, [](E& e) { e.mutable_head_stats(1)->set_head_id(7); },
      "ReportResult.result.head_stats[1].head_id 7 appears twice");
  ExpectRejected<E>(
      valid, check, [](E& e) { e.mutable_head_stats(0)->set_entropy(kInf); },
      "ReportResult.result.head_stats[0].entropy must be finite");
  ExpectRejected<E>(
      valid, check,
      [](E& e) {
        v1::HeadGrowth& g = *e.add_growth();
        g.set_head_id(7);
        g.set_kind(static_cast<v1::GrowthKind>(7));
      },
      "ReportResult.result.growth[0].kind must be GROWTH_KIND_WIDEN or GROWTH_KIND_NEW_HEAD");
}

TEST(RequestChecksWorkerTest, ReleaseJob) {
  v1::ReleaseJobRequest request;
  request.set_worker_id(1);
  request.set_job_id(2);
  request.set_attempt(3);
  request.set_reason(std::string(kMaxReleaseReasonBytes, 'r'));
  EXPECT_OK(CheckReleaseJob(request));
  using R = v1::ReleaseJobRequest;
  std::function<absl::Status(const R&)> check = CheckReleaseJob;
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_worker_id(0); }, "ReleaseJob.worker_id");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_job_id(0); }, "ReleaseJob.job_id");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_attempt(-1); }, "ReleaseJob.attempt");
  ExpectRejected<R>(
      request, check, [](R& r) { r.mutable_reason()->push_back('x'); }, "ReleaseJob.reason");
}

// --- Checkpoints ---

TEST(RequestChecksCheckpointTest, Sha256) {
  EXPECT_OK(CheckSha256("x.sha256", kSha));
  EXPECT_OK(
      CheckSha256("x.sha256", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  for (const std::string& bad :
       {std::string(), std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
        std::string(63, 'a') + "g", std::string(63, 'a') + '\0'}) {
    ExpectInvalid(CheckSha256("x.sha256", bad), "x.sha256");
  }
  // A huge value is shown shortened.
  const absl::Status huge = CheckSha256("x.sha256", std::string(100000, 'z'));
  EXPECT_LT(huge.message().size(), 300u) << huge.message();
}

TEST(RequestChecksCheckpointTest, UploadHeader) {
  v1::UploadCheckpointRequest first;
  first.set_sha256(kSha);
  first.set_total_bytes(100);
  first.set_data(std::string(100, 'd'));
  EXPECT_OK(CheckUploadHeader(first, 100));
  using R = v1::UploadCheckpointRequest;
  std::function<absl::Status(const R&)> check = [](const R& r) {
    return CheckUploadHeader(r, 1000);
  };
  ExpectRejected<R>(
      first, check, [](R& r) { r.set_sha256("abc"); }, "UploadCheckpoint.sha256");
  ExpectRejected<R>(
      first, check, [](R& r) { r.set_total_bytes(0); }, "UploadCheckpoint.total_bytes");
  ExpectRejected<R>(
      first, check, [](R& r) { r.set_total_bytes(1001); },
      "UploadCheckpoint.total_bytes must be <= 1000");
  ExpectRejected<R>(
      first, check, [](R& r) { r.set_total_bytes(99); }, "UploadCheckpoint.data");
}

TEST(RequestChecksCheckpointTest, DownloadAndHasCheckpoint) {
  v1::DownloadCheckpointRequest download;
  download.set_sha256(kSha);
  EXPECT_OK(CheckDownload(download));
  download.set_sha256("nope");
  ExpectInvalid(CheckDownload(download), "DownloadCheckpoint.sha256");

  v1::HasCheckpointRequest has;
  has.set_sha256(kSha);
  EXPECT_OK(CheckHasCheckpoint(has));
  has.clear_sha256();
  ExpectInvalid(CheckHasCheckpoint(has), "HasCheckpoint.sha256");
}

// --- SearchService ---

v1::CreateSearchRequest ValidCreate() {
  v1::CreateSearchRequest request;
  request.set_config_toml("[search]\nname = \"x\"\n");
  request.set_source_name("x.toml");
  v1::Genome& genome = *request.add_initial_genomes();
  genome.set_num_layers(2);
  for (int layer : {0, 1}) {
    v1::Head& head = *genome.add_heads();
    head.set_layer(layer);
    for (int offset : {-5, -2, -1}) head.mutable_offsets()->add_offsets(offset);
  }
  return request;
}

TEST(RequestChecksSearchTest, CreateSearchAccepts) {
  EXPECT_OK(CheckCreateSearch(ValidCreate()));
  v1::CreateSearchRequest no_genomes = ValidCreate();
  no_genomes.clear_initial_genomes();
  no_genomes.set_config_toml(std::string(kMaxConfigTomlBytes, '#'));
  EXPECT_OK(CheckCreateSearch(no_genomes));
  v1::CreateSearchRequest extremes = ValidCreate();
  v1::OffsetSet& offsets =
      *extremes.mutable_initial_genomes(0)->mutable_heads(0)->mutable_offsets();
  offsets.clear_offsets();
  offsets.add_offsets(-(1 << 20) + 1);
  offsets.add_offsets((1 << 20) - 1);
  EXPECT_OK(CheckCreateSearch(extremes));
}

TEST(RequestChecksSearchTest, CreateSearchRejects) {
  using R = v1::CreateSearchRequest;
  std::function<absl::Status(const R&)> check = CheckCreateSearch;
  const R valid = ValidCreate();
  const auto head = [](R& r) { return r.mutable_initial_genomes(0)->mutable_heads(1); };
  const std::string head_field = "CreateSearch.initial_genomes[0].heads[1]";
  ExpectRejected<R>(
      valid, check, [](R& r) { r.clear_config_toml(); }, "CreateSearch.config_toml");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.set_config_toml(std::string(kMaxConfigTomlBytes + 1, '#')); },
      "CreateSearch.config_toml");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.set_source_name(std::string(kMaxSourceNameBytes + 1, 's')); },
      "CreateSearch.source_name");
  ExpectRejected<R>(
      valid, check, [](R& r) { r.mutable_initial_genomes(0)->set_num_layers(0); },
      "CreateSearch.initial_genomes[0].num_layers");
  ExpectRejected<R>(
      valid, check,
      [](R& r) {
        v1::Genome& g = *r.mutable_initial_genomes(0);
        while (g.heads_size() <= kMaxGenomeHeads) g.add_heads()->CopyFrom(g.heads(0));
      },
      "CreateSearch.initial_genomes[0].heads");
  ExpectRejected<R>(
      valid, check, [&](R& r) { head(r)->set_layer(2); }, head_field + ".layer");
  ExpectRejected<R>(
      valid, check, [&](R& r) { head(r)->set_layer(-1); }, head_field + ".layer");
  ExpectRejected<R>(
      valid, check, [&](R& r) { head(r)->clear_offsets(); }, head_field + ".offsets");
  ExpectRejected<R>(
      valid, check, [&](R& r) { head(r)->mutable_offsets()->set_offsets(2, -2); },
      head_field + ".offsets[2]");  // duplicate
  ExpectRejected<R>(
      valid, check, [&](R& r) { head(r)->mutable_offsets()->set_offsets(0, 0); },
      head_field + ".offsets[1]");  // out of order
  ExpectRejected<R>(
      valid, check, [&](R& r) { head(r)->mutable_offsets()->set_offsets(0, -(1 << 20)); },
      head_field + ".offsets[0]");
  ExpectRejected<R>(
      valid, check,
      [&](R& r) { head(r)->mutable_offsets()->set_offsets(0, std::numeric_limits<int>::min()); },
      head_field + ".offsets[0]");
}

TEST(RequestChecksSearchTest, SearchId) {
  EXPECT_OK(CheckSearchId("GetSearch", 1));
  ExpectInvalid(CheckSearchId("PauseSearch", 0), "PauseSearch.search_id must be > 0, got 0");
}

TEST(RequestChecksSearchTest, ListCandidates) {
  v1::ListCandidatesRequest request;
  request.set_search_id(1);
  EXPECT_OK(CheckListCandidates(request));
  request.set_state(v1::CANDIDATE_STATE_DONE);
  request.set_order(v1::CANDIDATE_ORDER_VAL_LOSS);
  request.set_min_generation(2);
  request.set_max_generation(2);
  request.set_page_size(kMaxPageSize);
  request.set_page_token("123456789012345678");
  EXPECT_OK(CheckListCandidates(request));
  request.set_max_generation(0);  // any
  EXPECT_OK(CheckListCandidates(request));

  using R = v1::ListCandidatesRequest;
  std::function<absl::Status(const R&)> check = CheckListCandidates;
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_search_id(0); }, "ListCandidates.search_id");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_page_size(-1); }, "ListCandidates.page_size");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_page_size(kMaxPageSize + 1); }, "ListCandidates.page_size");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_min_generation(-1); }, "ListCandidates.min_generation");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_max_generation(-1); }, "ListCandidates.max_generation");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_max_generation(1); }, "ListCandidates.max_generation");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_state(static_cast<v1::CandidateState>(9)); },
      "ListCandidates.state");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_order(static_cast<v1::CandidateOrder>(-1)); },
      "ListCandidates.order");
  ExpectRejected<R>(
      request, check, [](R& r) { r.set_page_token("abc"); }, "ListCandidates.page_token");
}

TEST(RequestChecksSearchTest, LineageHeadHistoryWatchExport) {
  v1::GetLineageRequest lineage;
  lineage.set_candidate_id(3);
  lineage.set_descendant_depth(-1);
  EXPECT_OK(CheckGetLineage(lineage));
  lineage.set_descendant_depth(-2);
  ExpectInvalid(CheckGetLineage(lineage), "GetLineage.descendant_depth");
  lineage.set_descendant_depth(0);
  lineage.set_candidate_id(0);
  ExpectInvalid(CheckGetLineage(lineage), "GetLineage.candidate_id");

  v1::GetHeadHistoryRequest history;
  history.set_head_id(1);
  EXPECT_OK(CheckGetHeadHistory(history));
  history.set_head_id(-1);
  ExpectInvalid(CheckGetHeadHistory(history), "GetHeadHistory.head_id");

  v1::WatchSearchRequest watch;
  watch.set_search_id(1);
  EXPECT_OK(CheckWatchSearch(watch));
  watch.set_after_event_id(-1);
  ExpectInvalid(CheckWatchSearch(watch), "WatchSearch.after_event_id");
  watch.set_after_event_id(0);
  watch.set_search_id(0);
  ExpectInvalid(CheckWatchSearch(watch), "WatchSearch.search_id");

  v1::ExportBestRequest export_best;
  export_best.set_search_id(1);
  export_best.set_count(kMaxExportCount);
  EXPECT_OK(CheckExportBest(export_best));
  export_best.set_count(kMaxExportCount + 1);
  ExpectInvalid(CheckExportBest(export_best), "ExportBest.count");
  export_best.set_count(-1);
  ExpectInvalid(CheckExportBest(export_best), "ExportBest.count");
  export_best.set_count(0);
  export_best.set_search_id(-1);
  ExpectInvalid(CheckExportBest(export_best), "ExportBest.search_id");
}

TEST(RequestChecksSearchTest, NewRecordRequestsNeedPositiveIds) {
  v1::GetCandidateRequest candidate;
  candidate.set_candidate_id(1);
  EXPECT_OK(CheckGetCandidate(candidate));
  for (int64_t bad : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min()}) {
    candidate.set_candidate_id(bad);
    ExpectInvalid(CheckGetCandidate(candidate), "GetCandidate.candidate_id must be > 0");
  }

  v1::GetSearchRequest config;
  config.set_search_id(3);
  EXPECT_OK(CheckGetSearchConfig(config));
  config.set_search_id(0);
  ExpectInvalid(CheckGetSearchConfig(config), "GetSearchConfig.search_id must be > 0");
  config.set_search_id(-7);
  ExpectInvalid(CheckGetSearchConfig(config), "GetSearchConfig.search_id");

  v1::DeleteSearchRequest del;
  del.set_search_id(std::numeric_limits<int64_t>::max());
  EXPECT_OK(CheckDeleteSearch(del));
  del.set_search_id(0);
  ExpectInvalid(CheckDeleteSearch(del), "DeleteSearch.search_id must be > 0");
  del.set_search_id(-1);
  ExpectInvalid(CheckDeleteSearch(del), "DeleteSearch.search_id");
}

TEST(RequestChecksPageTokenTest, Parses) {
  ASSERT_OK_AND_ASSIGN(int64_t empty, ParsePageToken(""));
  EXPECT_EQ(empty, 0);
  ASSERT_OK_AND_ASSIGN(int64_t zero, ParsePageToken("0"));
  EXPECT_EQ(zero, 0);
  ASSERT_OK_AND_ASSIGN(int64_t big, ParsePageToken("999999999999999999"));
  EXPECT_EQ(big, 999999999999999999);
  for (const char* bad : {"-1", "+1", " 1", "1 ", "1e3", "0x10", "1234567890123456789"}) {
    ExpectInvalid(ParsePageToken(bad).status(), "page_token");
  }
}

}  // namespace
}  // namespace headevo::server
