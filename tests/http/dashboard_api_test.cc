// The dashboard's HTTP layer on a real port: the JSON API against a coordinator on a real SQLite
// file (a finished search with the adaptive sampler), paging, errors, and the server-side
// fitness figure. Browsers are tests/http/dashboard_browser_test.py's.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <memory>
#include <string>

#include "nlohmann/json.hpp"
#include "server/http/dashboard_server.h"
#include "server/http/search_figures.h"
#include "tests/server/coordinator_fixture.h"
#include "tests/testutil/tiny_config.h"

namespace headevo::server {
namespace {

using nlohmann::json;

class DashboardApiTest : public CoordinatorFixture {
 protected:
  void SetUp() override {
    CoordinatorFixture::SetUp();
    search_ = Create(testing::TinySearchConfig("population = 4\ngenerations = 3\nseed = 7") +
                     "\n[resampling]\nsampler = \"adaptive\"\narms = [\"uniform\", \"best\"]\n");
    ASSERT_GT(Drain(), 0);
    DashboardOptions options;
    options.listen = "127.0.0.1:0";
    ASSERT_OK_AND_ASSIGN(dashboard_, DashboardServer::Start(coordinator_.get(), options));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", dashboard_->port());
  }

  // GET `path`, expecting `status`; the body as JSON.
  json Get(const std::string& path, int status = 200) {
    httplib::Result result = client_->Get(path);
    EXPECT_TRUE(result) << path << ": " << httplib::to_string(result.error());
    if (!result) return json();
    EXPECT_EQ(result->status, status) << path << ": " << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
    return json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  }

  std::string Id(int64_t id) { return std::to_string(id); }

  int64_t search_ = 0;
  std::unique_ptr<DashboardServer> dashboard_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DashboardApiTest, ListsSearchesWithTheirSummaries) {
  const headevo::v1::SearchSummary summary = Summary(search_);
  json list = Get("/api/searches");
  ASSERT_EQ(list["searches"].size(), 1u);
  EXPECT_EQ(list["searches"][0]["summary"]["id"], Id(search_));  // int64 as a string
  EXPECT_EQ(list["searches"][0]["summary"]["done"], Id(summary.done()));
  EXPECT_EQ(list["searches"][0]["workers"], 0);  // the fixture's worker holds nothing now

  json one = Get("/api/searches/" + Id(search_));
  EXPECT_EQ(one["best_candidate_id"], Id(summary.best_candidate_id()));
  EXPECT_DOUBLE_EQ(one["best_val_loss"].get<double>(), summary.best_val_loss());
}

TEST_F(DashboardApiTest, CandidatesComeInPagesThatJoinUp) {
  const std::string base = "/api/searches/" + Id(search_) + "/candidates?page_size=5";
  json first = Get(base);
  const int64_t total = std::stoll(first["total"].get<std::string>());
  ASSERT_GT(total, 5);
  ASSERT_EQ(first["candidates"].size(), 5u);
  EXPECT_EQ(first["next_page_token"], "5");
  json second = Get(base + "&page_token=" + first["next_page_token"].get<std::string>());
  EXPECT_EQ(std::stoll(second["candidates"][0]["id"].get<std::string>()),
            std::stoll(first["candidates"][4]["id"].get<std::string>()) + 1);

  json best = Get(base + "&order=val_loss&state=done");
  EXPECT_EQ(best["candidates"][0]["id"], Id(Summary(search_).best_candidate_id()));
}

TEST_F(DashboardApiTest, CandidateLineageAndHeadHistoryMirrorTheSearchService) {
  // The newest candidate is of the last generation, so it has a parent.
  json all = Get("/api/searches/" + Id(search_) + "/candidates?page_size=1000");
  const std::string newest = all["candidates"].back()["id"];
  json candidate = Get("/api/candidates/" + newest);
  ASSERT_FALSE(candidate["genome"]["heads"].empty());
  ASSERT_NE(candidate["parent_id"], "0");
  json lineage = Get("/api/candidates/" + newest + "/lineage?descendant_depth=1");
  EXPECT_EQ(lineage["ancestors"][0]["id"], newest);
  EXPECT_EQ(lineage["ancestors"][1]["id"], candidate["parent_id"]);
  json parent = Get("/api/candidates/" + candidate["parent_id"].get<std::string>() +
                    "/lineage?descendant_depth=1");
  bool child_listed = false;
  for (const json& child : parent["descendants"]) child_listed |= child["id"] == newest;
  EXPECT_TRUE(child_listed) << "the parent's lineage lists the candidate among its children";

  const std::string head = candidate["genome"]["heads"][0]["id"];
  json history = Get("/api/heads/" + head);
  EXPECT_EQ(history["head"]["id"], head);
  EXPECT_EQ(history["search_id"], Id(search_));
  bool carried = false;
  for (const json& appearance : history["appearances"]) {
    carried |= appearance["candidate_id"] == newest;
  }
  EXPECT_TRUE(carried);
}

TEST_F(DashboardApiTest, FiguresAreSummarisedOnTheServer) {
  const headevo::v1::SearchSummary summary = Summary(search_);
  json fitness = Get("/api/searches/" + Id(search_) + "/fitness?points=3");
  ASSERT_LE(fitness["buckets"].size(), 3u);
  ASSERT_FALSE(fitness["buckets"].empty());
  const json& last = fitness["buckets"].back();
  EXPECT_DOUBLE_EQ(last["best_so_far"].get<double>(), summary.best_val_loss());
  EXPECT_EQ(last["best_id"], summary.best_candidate_id());
  double previous = INFINITY;
  for (const json& bucket : fitness["buckets"]) {
    if (bucket["best_so_far"].is_null()) continue;
    EXPECT_LE(bucket["best_so_far"].get<double>(), previous) << "best so far never rises";
    previous = bucket["best_so_far"].get<double>();
  }

  json offsets = Get("/api/searches/" + Id(search_) + "/offsets");
  ASSERT_FALSE(offsets["offsets"].empty());
  EXPECT_GE(offsets["offsets"][0]["heads"].get<int>(), 1);

  json samplers = Get("/api/searches/" + Id(search_) + "/samplers");
  ASSERT_EQ(samplers["arms"].size(), 2u);
  EXPECT_EQ(samplers["arms"][0]["name"], "uniform");
  EXPECT_EQ(samplers["arms"][1]["name"], "best");
  EXPECT_GT(samplers["arms"][0]["pulls"].get<int>() + samplers["arms"][1]["pulls"].get<int>(), 0);

  json front = Get("/api/searches/" + Id(search_) + "/pareto");
  EXPECT_FALSE(front["front"].empty());
  json curves = Get("/api/searches/" + Id(search_) + "/curves?count=2");
  ASSERT_EQ(curves["candidates"].size(), 2u);
  EXPECT_EQ(curves["candidates"][0]["id"], Id(summary.best_candidate_id()));
  EXPECT_FALSE(curves["candidates"][0].contains("genome")) << "curves carry no genomes";
}

// The figures are kept between results (dashboard_api.h), so this checks they are not kept
// past one: a small search's figure follows every result.
TEST_F(DashboardApiTest, KeptFiguresFollowEveryResultOfASmallSearch) {
  const int64_t second =
      Create(testing::TinySearchConfig("population = 4\ngenerations = 1\nseed = 3"));
  auto evaluated = [&] {
    int64_t sum = 0;
    const json fitness = Get("/api/searches/" + Id(second) + "/fitness");
    for (const json& bucket : fitness["buckets"]) {
      sum += bucket["evaluated"].get<int64_t>();
    }
    return sum;
  };
  EXPECT_EQ(evaluated(), 0);
  EXPECT_EQ(evaluated(), 0);  // asked again with nothing new
  for (int64_t done = 1; done <= 4; ++done) {
    std::optional<storage::Lease> lease = Lease();
    ASSERT_TRUE(lease.has_value());
    Finish(*lease);
    EXPECT_EQ(evaluated(), done);
  }
  const size_t offsets = Get("/api/searches/" + Id(second) + "/offsets")["offsets"].size();
  EXPECT_GT(offsets, 0u);
}

TEST_F(DashboardApiTest, UnknownIdsAndBadParametersAreRefusedClearly) {
  json unknown = Get("/api/searches/999", 404);
  EXPECT_NE(unknown["error"].get<std::string>().find("999"), std::string::npos) << unknown;
  Get("/api/candidates/123456", 404);
  Get("/api/heads/123456", 404);
  json malformed = Get("/api/candidates/abc", 400);
  EXPECT_EQ(malformed["error"], "candidate id must be a positive integer, got 'abc'");
  json path = Get("/api/nothing/here", 404);
  EXPECT_NE(path["error"].get<std::string>().find("docs/dashboard.md"), std::string::npos);
  json state = Get("/api/searches/" + Id(search_) + "/candidates?state=bogus", 400);
  EXPECT_NE(state["error"].get<std::string>().find("state"), std::string::npos);
  json size = Get("/api/searches/" + Id(search_) + "/candidates?page_size=5000", 400);
  EXPECT_NE(size["error"].get<std::string>().find("page_size"), std::string::npos) << size;
  json points = Get("/api/searches/" + Id(search_) + "/fitness?points=0", 400);
  EXPECT_NE(points["error"].get<std::string>().find("points"), std::string::npos);
  httplib::Result write = client_->Delete("/api/searches/" + Id(search_));
  ASSERT_TRUE(write);
  EXPECT_EQ(write->status, 405);
  EXPECT_NE(write->body.find("read-only"), std::string::npos);
  EXPECT_EQ(Summary(search_).state(), headevo::v1::SEARCH_STATE_DONE) << "nothing changed";
}

TEST_F(DashboardApiTest, PagesScriptsAndLibrariesAreServedFromThisMachine) {
  httplib::Result page = client_->Get("/search/" + Id(search_));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("src=\"/static/search.js\""), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos) << "nothing from elsewhere";
  EXPECT_EQ(page->body.find("https://"), std::string::npos) << "nothing from elsewhere";
  httplib::Result chart = client_->Get("/lib/chart.js");
  ASSERT_TRUE(chart);
  EXPECT_NE(chart->body.find("Chart.js v3"), std::string::npos);
  httplib::Result d3 = client_->Get("/lib/d3.js");
  ASSERT_TRUE(d3);
  EXPECT_NE(d3->body.find("version:\"3."), std::string::npos);
  httplib::Result script = client_->Get("/static/search.js");
  ASSERT_TRUE(script);
  EXPECT_NE(script->body.find("Fitness over time"), std::string::npos);
  EXPECT_EQ(client_->Get("/static/missing.js")->status, 404);
}

TEST(DashboardSecurityTest, TokenIsRequiredAsBearerOrLoginCookie) {
  headevo::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Store> store,
                       storage::Store::Open(dir.File("s.db")));
  CoordinatorOptions coordinator_options;
  coordinator_options.clock = [] { return int64_t{1'000'000}; };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Coordinator> coordinator,
                       Coordinator::Create(store.get(), coordinator_options));
  DashboardOptions options;
  options.listen = "127.0.0.1:0";
  options.token = "s3cret-token";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DashboardServer> dashboard,
                       DashboardServer::Start(coordinator.get(), options));
  httplib::Client client("127.0.0.1", dashboard->port());

  httplib::Result none = client.Get("/api/searches");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_NE(none->body.find("/login"), std::string::npos) << none->body;
  httplib::Result page = client.Get("/");
  EXPECT_EQ(page->status, 401);
  EXPECT_NE(page->body.find("<form method=\"post\" action=\"/login\""), std::string::npos);

  httplib::Result wrong = client.Get("/api/searches", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong->status, 401);
  EXPECT_NE(wrong->body.find("wrong token"), std::string::npos);
  EXPECT_EQ(wrong->body.find("nope"), std::string::npos) << "never repeats what was sent";
  EXPECT_EQ(client.Get("/api/searches", {{"Authorization", "bearer s3cret-token"}})->status, 200);

  httplib::Result refused =
      client.Post("/login", "token=nope", "application/x-www-form-urlencoded");
  EXPECT_EQ(refused->status, 401);
  EXPECT_TRUE(refused->get_header_value("Set-Cookie").empty());
  httplib::Result login =
      client.Post("/login", "token=s3cret-token", "application/x-www-form-urlencoded");
  ASSERT_EQ(login->status, 303);
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string pair = cookie.substr(0, cookie.find(';'));
  EXPECT_EQ(client.Get("/api/searches", {{"Cookie", "other=1; " + pair}})->status, 200);
  EXPECT_EQ(client.Get("/api/searches", {{"Cookie", "headevo_token=old"}})->status, 401);

  options.listen = "127.0.0.1:" + std::to_string(dashboard->port());
  absl::StatusOr<std::unique_ptr<DashboardServer>> taken =
      DashboardServer::Start(coordinator.get(), options);
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable) << "the port is in use";
}

TEST(DashboardSecurityTest, HttpsWithATokenMayListenOnEveryAddress) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "the openssl command line is not installed (Debian package openssl)";
  }
  headevo::testing::TempDir dir;
  const std::string make = "cd '" + dir.File("") +
                           "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                           "-nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=127.0.0.1 "
                           "-addext subjectAltName=IP:127.0.0.1 >openssl.log 2>&1";
  ASSERT_EQ(std::system(make.c_str()), 0) << "openssl failed; see " << dir.File("openssl.log");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Store> store,
                       storage::Store::Open(dir.File("s.db")));
  CoordinatorOptions coordinator_options;
  coordinator_options.clock = [] { return int64_t{1'000'000}; };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Coordinator> coordinator,
                       Coordinator::Create(store.get(), coordinator_options));
  DashboardOptions options;
  options.listen = "0.0.0.0:0";
  options.tls_cert_file = dir.File("cert.pem");
  options.tls_key_file = dir.File("key.pem");
  options.token = "s3cret-token";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DashboardServer> dashboard,
                       DashboardServer::Start(coordinator.get(), options));
  EXPECT_EQ(dashboard->url().rfind("https://", 0), 0u) << dashboard->url();

  httplib::SSLClient client("127.0.0.1", dashboard->port());
  client.set_ca_cert_path(dir.File("cert.pem").c_str());
  client.enable_server_certificate_verification(true);
  httplib::Result ok = client.Get("/api/searches", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(client.Get("/api/searches")->status, 401);
  httplib::Result login =
      client.Post("/login", "token=s3cret-token", "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_NE(login->get_header_value("Set-Cookie").find("; Secure"), std::string::npos);

  options.tls_key_file = dir.File("missing.pem");
  EXPECT_EQ(DashboardServer::Start(coordinator.get(), options).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(DashboardSecurityTest, OnlyLoopbackWithoutTlsAndToken) {
  DashboardOptions options;
  options.listen = "0.0.0.0:0";
  absl::Status open = options.Validate();
  EXPECT_EQ(open.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(open.message().find("--tls-cert"), std::string::npos) << open;
  options.token = "t";
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument) << "a token alone";
  options.insecure = true;
  EXPECT_OK(options.Validate());

  DashboardOptions half;
  half.tls_cert_file = "server.pem";
  EXPECT_NE(half.Validate().message().find("--tls-key"), std::string::npos);
  DashboardOptions malformed;
  malformed.listen = "8080";
  EXPECT_NE(malformed.Validate().message().find("HOST:PORT"), std::string::npos);
  DashboardOptions no_libraries;
  no_libraries.assets_dir = "/nonexistent";
  EXPECT_NE(no_libraries.Validate().message().find("libjs-chart.js"), std::string::npos);
}

}  // namespace
}  // namespace headevo::server
