#include "server/http/dashboard_api.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/checks/request_checks.h"
#include "server/engine/search_queries.h"
#include "server/http/search_figures.h"

namespace headevo::server {
namespace {

using nlohmann::json;

ApiReply Error(int status, absl::string_view message) {
  return ApiReply{status, ApiErrorJson(message)};
}

ApiReply FromStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return Error(404, status.message());
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return Error(400, status.message());
    default:
      return Error(500, status.message());
  }
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

template <typename Message>
ApiReply Answer(const absl::StatusOr<Message>& message) {
  if (!message.ok()) return FromStatus(message.status());
  return ApiReply{200, ToJson(*message)};
}

// JSON has no NaN; the figures' own answers say null where the proto mapping says "NaN".
json Number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

absl::StatusOr<int64_t> ParseId(absl::string_view what, absl::string_view text) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(text, &id) || id <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " id must be a positive integer, got '", text, "'"));
  }
  return id;
}

// An integer parameter in [low, high], or `fallback` when absent.
absl::StatusOr<int> IntParam(const ApiQuery& query, const std::string& name, int fallback, int low,
                             int high) {
  auto it = query.find(name);
  if (it == query.end() || it->second.empty()) return fallback;
  int value = 0;
  if (!absl::SimpleAtoi(it->second, &value) || value < low || value > high) {
    return absl::InvalidArgumentError(absl::StrCat("parameter ", name, " must be an integer from ",
                                                   low, " to ", high, ", got '", it->second, "'"));
  }
  return value;
}

absl::StatusOr<headevo::v1::ListCandidatesRequest> CandidatesRequest(int64_t search_id,
                                                                     const ApiQuery& query) {
  headevo::v1::ListCandidatesRequest request;
  request.set_search_id(search_id);
  static const std::map<std::string, headevo::v1::CandidateState> kStates = {
      {"", headevo::v1::CANDIDATE_STATE_UNSPECIFIED},
      {"pending", headevo::v1::CANDIDATE_STATE_PENDING},
      {"running", headevo::v1::CANDIDATE_STATE_RUNNING},
      {"done", headevo::v1::CANDIDATE_STATE_DONE},
      {"failed", headevo::v1::CANDIDATE_STATE_FAILED}};
  auto get = [&](const std::string& key) {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  };
  auto state = kStates.find(get("state"));
  if (state == kStates.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameter state must be pending, running, done or failed, got '", get("state"), "'"));
  }
  request.set_state(state->second);
  const std::string order = get("order");
  if (order != "" && order != "id" && order != "val_loss") {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter order must be id or val_loss, got '", order, "'"));
  }
  if (order == "val_loss") request.set_order(headevo::v1::CANDIDATE_ORDER_VAL_LOSS);
  for (const char* name : {"page_size", "min_generation", "max_generation"}) {
    absl::StatusOr<int> value = IntParam(query, name, 0, 0, 1'000'000'000);
    if (!value.ok()) return value.status();
    if (absl::string_view(name) == "page_size") request.set_page_size(*value);
    if (absl::string_view(name) == "min_generation") request.set_min_generation(*value);
    if (absl::string_view(name) == "max_generation") request.set_max_generation(*value);
  }
  request.set_page_token(get("page_token"));
  if (absl::Status checked = CheckListCandidates(request); !checked.ok()) return checked;
  return request;
}

std::string FitnessJson(const FitnessOverTime& fitness) {
  json buckets = json::array();
  for (const FitnessBucket& b : fitness.buckets) {
    const bool any = b.evaluated > 0;
    buckets.push_back({{"first_id", b.first_id},
                       {"last_id", b.last_id},
                       {"evaluated", b.evaluated},
                       {"failed", b.failed},
                       {"min_loss", any ? Number(b.min_loss) : json(nullptr)},
                       {"max_loss", any ? Number(b.max_loss) : json(nullptr)},
                       {"best_so_far", b.best_id ? Number(b.best_so_far) : json(nullptr)},
                       {"best_id", b.best_id}});
  }
  return json{
      {"candidates", fitness.candidates}, {"per_bucket", fitness.per_bucket}, {"buckets", buckets}}
      .dump();
}

std::string OffsetsJson(const std::vector<storage::OffsetSurvival>& rows) {
  json out = json::array();
  for (const storage::OffsetSurvival& row : rows) {
    out.push_back({{"layer", row.layer},
                   {"offset", row.offset},
                   {"heads", row.heads},
                   {"appearances", row.appearances},
                   {"mean_lifetime", Number(row.mean_lifetime)},
                   {"max_lifetime", row.max_lifetime},
                   {"alive", row.alive}});
  }
  return json{{"offsets", out}}.dump();
}

}  // namespace

std::string ApiErrorJson(absl::string_view message) {
  return json{{"error", std::string(message)}}.dump();
}

ApiReply DashboardApi::Get(absl::string_view path, const ApiQuery& query) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  const absl::string_view part = parts.size() == 3 ? parts[2] : absl::string_view();
  if (parts.size() == 1 && parts[0] == "searches") return Searches();
  if (parts.size() == 1 && parts[0] == "workers") {
    return Answer(
        coordinator_->WithStore([](storage::Store& store) { return QueryWorkers(store); }));
  }
  if ((parts.size() == 2 || parts.size() == 3) &&
      (parts[0] == "searches" || parts[0] == "candidates" || parts[0] == "heads")) {
    const absl::string_view kind = parts[0] == "searches"     ? "search"
                                   : parts[0] == "candidates" ? "candidate"
                                                              : "head";
    absl::StatusOr<int64_t> id = ParseId(kind, parts[1]);
    if (!id.ok()) return FromStatus(id.status());
    if (kind == "search") return Search(*id, part, query);
    if (kind == "candidate") return Candidate(*id, part, query);
    if (parts.size() == 2) {
      return Answer(coordinator_->WithStore(
          [&](storage::Store& store) { return QueryHeadHistory(store, *id); }));
    }
  }
  return Error(
      404, absl::StrCat("no API path /api", path, "; the paths are listed in docs/dashboard.md"));
}

ApiReply DashboardApi::Searches() {
  absl::StatusOr<std::vector<headevo::v1::SearchSummary>> searches = coordinator_->ListSummaries();
  if (!searches.ok()) return FromStatus(searches.status());
  absl::StatusOr<headevo::v1::ListWorkersResponse> workers =
      coordinator_->WithStore([](storage::Store& store) { return QueryWorkers(store); });
  if (!workers.ok()) return FromStatus(workers.status());
  std::map<int64_t, int> busy;  // search id -> workers holding one of its jobs
  for (const headevo::v1::WorkerSummary& worker : workers->workers()) {
    std::map<int64_t, bool> holds;
    for (const headevo::v1::WorkerJob& job : worker.jobs()) holds[job.search_id()] = true;
    for (const auto& [search_id, unused] : holds) ++busy[search_id];
  }
  std::string out = "{\"searches\":[";
  for (size_t i = 0; i < searches->size(); ++i) {
    const headevo::v1::SearchSummary& summary = (*searches)[i];
    absl::StrAppend(&out, i ? "," : "", "{\"summary\":", ToJson(summary),
                    ",\"workers\":", busy[summary.id()], "}");
  }
  absl::StrAppend(&out, "]}");
  return ApiReply{200, out};
}

ApiReply DashboardApi::Search(int64_t id, absl::string_view part, const ApiQuery& query) {
  if (part.empty()) return Answer(coordinator_->Summary(id));
  if (part == "candidates") {
    absl::StatusOr<headevo::v1::ListCandidatesRequest> request = CandidatesRequest(id, query);
    if (!request.ok()) return FromStatus(request.status());
    return Answer(coordinator_->WithStore(
        [&](storage::Store& store) { return QueryCandidates(store, *request); }));
  }
  if (part == "pareto") {
    return Answer(coordinator_->WithStore(
        [&](storage::Store& store) { return QueryParetoFront(store, id); }));
  }
  if (part == "config") {
    return Answer(coordinator_->WithStore(
        [&](storage::Store& store) { return QuerySearchConfig(store, id); }));
  }
  if (part == "fitness") {
    absl::StatusOr<int> points = IntParam(query, "points", 400, 1, 2000);
    if (!points.ok()) return FromStatus(points.status());
    return Cached(id, absl::StrCat("fitness/", *points), [&]() -> absl::StatusOr<std::string> {
      absl::StatusOr<FitnessOverTime> fitness = coordinator_->WithStore(
          [&](storage::Store& store) { return ComputeFitnessOverTime(store, id, *points); });
      if (!fitness.ok()) return fitness.status();
      return FitnessJson(*fitness);
    });
  }
  if (part == "curves") {
    absl::StatusOr<int> count = IntParam(query, "count", 10, 1, 50);
    if (!count.ok()) return FromStatus(count.status());
    absl::StatusOr<std::vector<headevo::v1::Candidate>> best = coordinator_->WithStore(
        [&](storage::Store& store) { return BestWithRungs(store, id, *count); });
    if (!best.ok()) return FromStatus(best.status());
    std::string out = "{\"candidates\":[";
    for (size_t i = 0; i < best->size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", ToJson((*best)[i]));
    }
    return ApiReply{200, absl::StrCat(out, "]}")};
  }
  if (part == "offsets") {
    return Cached(id, "offsets", [&]() -> absl::StatusOr<std::string> {
      absl::StatusOr<std::vector<storage::OffsetSurvival>> rows = coordinator_->WithStore(
          [&](storage::Store& store) { return store.OffsetSurvivalStats(id); });
      if (!rows.ok()) return rows.status();
      return OffsetsJson(*rows);
    });
  }
  if (part == "samplers") {
    absl::StatusOr<std::vector<SamplerArm>> arms =
        coordinator_->WithStore([&](storage::Store& store) { return SamplerUsage(store, id); });
    if (!arms.ok()) return FromStatus(arms.status());
    json out = json::array();
    for (const SamplerArm& arm : *arms) {
      out.push_back({{"name", arm.name}, {"pulls", arm.pulls}, {"mean_reward", arm.mean_reward}});
    }
    return ApiReply{200, json{{"arms", out}}.dump()};
  }
  return Error(404, absl::StrCat("no API path /api/searches/", id, "/", part,
                                 "; the paths are listed in docs/dashboard.md"));
}

ApiReply DashboardApi::Cached(int64_t id, const std::string& name,
                              const std::function<absl::StatusOr<std::string>()>& compute) {
  absl::StatusOr<headevo::v1::SearchSummary> summary = coordinator_->Summary(id);
  if (!summary.ok()) return FromStatus(summary.status());
  const int64_t finished = summary->done() + summary->failed();
  const std::pair<int64_t, std::string> key(id, name);
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.state == summary->state() &&
        finished >= it->second.finished &&
        finished - it->second.finished < std::max<int64_t>(1, it->second.finished / 100)) {
      return ApiReply{200, it->second.json};
    }
  }
  absl::StatusOr<std::string> json = compute();
  if (!json.ok()) return FromStatus(json.status());
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_[key] = CachedFigure{finished, summary->state(), *json};
  return ApiReply{200, *std::move(json)};
}

ApiReply DashboardApi::Candidate(int64_t id, absl::string_view part, const ApiQuery& query) {
  if (part.empty()) {
    return Answer(
        coordinator_->WithStore([&](storage::Store& store) { return QueryCandidate(store, id); }));
  }
  if (part == "lineage") {
    absl::StatusOr<int> depth = IntParam(query, "descendant_depth", 1, 0, 10);
    if (!depth.ok()) return FromStatus(depth.status());
    headevo::v1::GetLineageRequest request;
    request.set_candidate_id(id);
    request.set_descendant_depth(*depth);
    return Answer(coordinator_->WithStore(
        [&](storage::Store& store) { return QueryLineage(store, request); }));
  }
  return Error(404, absl::StrCat("no API path /api/candidates/", id, "/", part,
                                 "; the paths are listed in docs/dashboard.md"));
}

}  // namespace headevo::server
