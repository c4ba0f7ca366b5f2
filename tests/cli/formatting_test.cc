// The CLI's read-only formatters (cli/formatting.h, cli/lineage_format.h), fed hand-built
// responses: tables, progress bar, watch line, lineage tree/DOT/JSON, head history, Pareto plot.
#include "cli/formatting.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli/lineage_format.h"
#include "cli/policy_history.h"

namespace headevo::cli {
namespace {

using headevo::v1::Candidate;
using headevo::v1::CandidateSummary;
using headevo::v1::GetLineageResponse;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// The line of `text` that contains `needle`; "" if none.
std::string LineWith(const std::string& text, const std::string& needle) {
  for (const std::string& line : Lines(text)) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

headevo::v1::SearchSummary Search(int64_t id, const std::string& name) {
  headevo::v1::SearchSummary s;
  s.set_id(id);
  s.set_name(name);
  s.set_state(headevo::v1::SEARCH_STATE_RUNNING);
  s.set_schedule("steady_state");
  s.set_planned(100);
  s.set_done(40);
  s.set_failed(5);
  s.set_running(2);
  s.set_queued(7);
  return s;
}

void SetBest(headevo::v1::SearchSummary* s, int64_t id, double loss, int64_t connections) {
  s->set_best_candidate_id(id);
  s->set_best_val_loss(loss);
  s->set_best_connections(connections);
}

TEST(FormatSearchTableTest, EmptyListSaysHowToStartOne) {
  EXPECT_EQ(FormatSearchTable({}), "no searches yet; start one with: headevo launch CONFIG\n");
}

TEST(FormatSearchTableTest, OneAlignedRowPerSearchWithProgressAndBest) {
  headevo::v1::ListSearchesResponse response;
  *response.add_searches() = Search(1, "quickstart");
  SetBest(response.mutable_searches(0), 25, 0.0234, 24);
  *response.add_searches() = Search(12, "a-much-longer-name");
  response.mutable_searches(1)->set_state(headevo::v1::SEARCH_STATE_STOPPED);

  const std::string table = FormatSearchTable(response);
  const std::vector<std::string> lines = Lines(table);
  ASSERT_EQ(lines.size(), 3u) << table;
  EXPECT_EQ(lines[0].rfind("ID", 0), 0u);
  EXPECT_EQ(lines[1],
            "1   quickstart          running  steady_state  45/100    2        7       "
            "0.0234     24    #25");
  // No best yet: loss, connections and id are all "-".
  EXPECT_EQ(lines[2],
            "12  a-much-longer-name  stopped  steady_state  45/100    2        7       "
            "-          -     -");
  EXPECT_EQ(lines[0].find("STATE"), lines[1].find("running"));
  EXPECT_EQ(lines[0].find("BEST_LOSS"), lines[2].find("-  "));
}

TEST(FormatSearchDetailTest, ProgressBarHasOneHashPerTwentiethFinished) {
  const std::string detail = FormatSearchDetail(Search(3, "q"));
  EXPECT_EQ(Lines(detail)[0], "search 3 \"q\": running");
  // 45 of 100 finished (40 done + 5 failed): 9 of 20 cells.
  EXPECT_NE(detail.find("[#########...........] 45/100 (40 done, 5 failed)"), std::string::npos)
      << detail;
  EXPECT_EQ(Count(detail, "#"), 9);
  EXPECT_NE(detail.find("none evaluated yet"), std::string::npos);
}

TEST(FormatSearchDetailTest, ProgressBarClampsAndSurvivesNothingPlanned) {
  headevo::v1::SearchSummary over = Search(3, "q");
  over.set_done(150);
  EXPECT_NE(FormatSearchDetail(over).find("[" + std::string(20, '#') + "] 155/100"),
            std::string::npos);
  headevo::v1::SearchSummary none = Search(3, "q");
  none.set_planned(0);
  EXPECT_NE(FormatSearchDetail(none).find("[" + std::string(20, '.') + "] 45/0"),
            std::string::npos);
}

TEST(FormatSearchDetailTest, ShowsBestJobsAndCreationTimeInUtc) {
  headevo::v1::SearchSummary s = Search(3, "q");
  SetBest(&s, 25, 0.0234, 24);
  s.set_created_ms(1700000000123);  // 2023-11-14 22:13:20.123 UTC
  const std::string detail = FormatSearchDetail(s);
  EXPECT_EQ(LineWith(detail, "best"), "  best        #25 val_loss 0.0234, 24 connections");
  EXPECT_EQ(LineWith(detail, "jobs"), "  jobs        2 running, 7 queued");
  EXPECT_EQ(LineWith(detail, "created"), "  created     2023-11-14 22:13:20 UTC");
}

TEST(FormatSearchDetailTest, ShowsEachLayersPolicyBinsFromFirstToNewest) {
  headevo::v1::SearchSummary s = Search(3, "q");
  EXPECT_EQ(FormatSearchDetail(s).find("policy"), std::string::npos);
  EXPECT_NE(PolicyScript(s).find("no policy updates yet"), std::string::npos);
  const auto add = [&s](int64_t updates, int layer, std::vector<double> bins) {
    headevo::v1::PolicySnapshot& snapshot = *s.add_policy_history();
    snapshot.set_updates(updates);
    snapshot.set_layer(layer);
    for (double p : bins) snapshot.add_bin_probabilities(p);
  };
  add(0, 0, {0.25, 0.25, 0.5, 0.0});
  add(0, 1, {0.25, 0.25, 0.5, 0.0});
  add(8, 0, {0.05, 0.7, 0.25, 0.0});
  add(16, 0, {0.02, 0.9, 0.08, 0.0});
  const std::string detail = FormatSearchDetail(s);
  // A bin outside every window (probability 0 throughout) is left out.
  EXPECT_EQ(LineWith(detail, "policy L0"),
            "  policy L0   updates 0 -> 16: |offset| 0-1 .25->.02, 2-3 .25->.90, 4-7 .50->.08");
  EXPECT_EQ(LineWith(detail, "policy L1"),
            "  policy L1   updates 0 -> 0: |offset| 0-1 .25->.25, 2-3 .25->.25, 4-7 .50->.50");

  // The report's chart: a column per snapshot time, a row per (layer, bin), a cell each.
  const std::string script = PolicyScript(s);
  EXPECT_NE(script.find("set xtics ('0' 0, '8' 1, '16' 2)"), std::string::npos) << script;
  EXPECT_NE(script.find("'L0 2-3' 1"), std::string::npos) << script;
  EXPECT_NE(script.find("'L1 0-1' 5"), std::string::npos) << script;
  EXPECT_NE(script.find("\n2 1 0.9 "), std::string::npos) << "update 16, layer 0, bin 2-3";
  EXPECT_NE(script.find("\n0 6 0.25 "), std::string::npos) << "update 0, layer 1, bin 2-3";
}

TEST(FormatEventLineTest, UtcClockKindMessageAndProgressSuffix) {
  headevo::v1::SearchEvent event;
  event.set_time_ms(1700000000999);
  event.set_kind("new_best");
  event.set_message("#25 loss 0.0234");
  EXPECT_EQ(FormatEventLine(event), "22:13:20 new_best  #25 loss 0.0234");
  *event.mutable_summary() = Search(1, "q");
  SetBest(event.mutable_summary(), 25, 0.0234, 24);
  EXPECT_EQ(FormatEventLine(event),
            "22:13:20 new_best  #25 loss 0.0234 (45/100, best val_loss 0.0234)");
  event.mutable_summary()->set_best_candidate_id(0);
  EXPECT_EQ(FormatEventLine(event), "22:13:20 new_best  #25 loss 0.0234 (45/100, best val_loss -)");
}

TEST(FormatEventLineTest, TimesBeforeTheEpochStayOnTheClock) {
  headevo::v1::SearchEvent event;
  event.set_time_ms(-1000);
  event.set_kind("k");
  EXPECT_EQ(FormatEventLine(event), "23:59:59 k  ");
}

CandidateSummary Summary(int64_t id, int64_t parent, int generation,
                         headevo::v1::CandidateState state, double loss, int64_t connections,
                         const std::string& mutation, int depth = 0) {
  CandidateSummary c;
  c.set_id(id);
  c.set_parent_id(parent);
  c.set_generation(generation);
  c.set_state(state);
  c.set_val_loss(loss);
  c.set_connections(connections);
  c.set_mutation(mutation);
  c.set_depth(depth);
  return c;
}

TEST(FormatCandidateTableTest, DashForUnevaluatedNanForDivergedAndCutMutation) {
  headevo::v1::ListCandidatesResponse response;
  *response.add_candidates() = Summary(3, 0, 0, headevo::v1::CANDIDATE_STATE_DONE, 0.15284, 19, "");
  *response.add_candidates() =
      Summary(9, 3, 1, headevo::v1::CANDIDATE_STATE_PENDING, kNan, 20, std::string(80, 'm'));
  *response.add_candidates() =
      Summary(10, 3, 1, headevo::v1::CANDIDATE_STATE_DONE, kNan, 21, "prune 1");
  response.set_total(3);

  const std::vector<std::string> lines = Lines(FormatCandidateTable(response));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "ID   PARENT  GEN  STATE    VAL_LOSS  CONN  MUTATION");
  EXPECT_EQ(lines[1], "#3   -       0    done     0.1528    19    -");
  EXPECT_EQ(lines[2], "#9   #3      1    pending  -         20    " + std::string(57, 'm') + "...");
  EXPECT_EQ(lines[3], "#10  #3      1    done     nan       21    prune 1");
  EXPECT_EQ(lines[4], "3 of 3 shown");
}

TEST(FormatCandidateTableTest, FooterNamesTheNextPageToken) {
  headevo::v1::ListCandidatesResponse response;
  *response.add_candidates() = Summary(3, 0, 0, headevo::v1::CANDIDATE_STATE_DONE, 0.1, 19, "");
  response.set_total(250);
  response.set_next_page_token("abc123");
  EXPECT_EQ(Lines(FormatCandidateTable(response)).back(),
            "1 of 250 shown; next page: --page-token abc123");
  EXPECT_EQ(FormatCandidateTable({}), "no candidates match\n");
}

TEST(FormatOneLineTest, CutsOnACharacterBoundary) {
  EXPECT_EQ(OneLine("a\nb", 10), "a b");
  EXPECT_EQ(OneLine("abcdef", 5), "ab...");
  // "é" is bytes 1 and 2; a cut after 2 bytes would split it, so the cut steps back to 1.
  EXPECT_EQ(OneLine("a\xc3\xa9xyzw", 5), "a...");
  EXPECT_EQ(OneLine("a\xc3\xa9xyzw", 6), "a\xc3\xa9...");
}

headevo::v1::Head* AddHead(Candidate* c, int64_t id, int layer, std::vector<int> offsets,
                           headevo::v1::SamplerKind sampler = headevo::v1::SAMPLER_UNIFORM) {
  headevo::v1::Head* head = c->mutable_genome()->add_heads();
  head->set_id(id);
  head->set_layer(layer);
  for (int o : offsets) head->mutable_offsets()->add_offsets(o);
  head->set_sampler(sampler);
  return head;
}

Candidate Evaluated(int64_t id, int64_t parent, int generation, double loss, int64_t conn) {
  Candidate c;
  c.set_id(id);
  c.set_parent_id(parent);
  c.set_generation(generation);
  c.set_state(headevo::v1::CANDIDATE_STATE_DONE);
  c.mutable_metrics()->set_val_loss(loss);
  c.mutable_metrics()->set_connections(conn);
  return c;
}

// Root #3 -> #9 (prunes head 17, adds head 31 by "best" from head 12) -> #25 (prunes 5, adds
// 40 by uniform); #25 has children #30 (with grandchild #41) and #31.
GetLineageResponse Lineage() {
  Candidate root = Evaluated(3, 0, 0, 0.1528, 3);
  AddHead(&root, 5, 0, {-2});
  AddHead(&root, 17, 0, {-3, -1});

  Candidate mid = Evaluated(9, 3, 1, 0.08, 3);
  AddHead(&mid, 5, 0, {-2});
  AddHead(&mid, 31, 0, {-5, -2}, headevo::v1::SAMPLER_BEST)->set_source_head_id(12);
  mid.mutable_mutation()->add_pruned_head_ids(17);
  mid.mutable_mutation()->add_added_head_slots(1);
  mid.mutable_mutation()->set_description("prune 1, add 1");

  Candidate leaf = Evaluated(25, 9, 2, 0.0234, 3);
  AddHead(&leaf, 40, 0, {-11});
  AddHead(&leaf, 31, 0, {-5, -2}, headevo::v1::SAMPLER_BEST);
  leaf.mutable_mutation()->add_pruned_head_ids(5);
  leaf.mutable_mutation()->add_added_head_slots(0);
  leaf.mutable_mutation()->set_description("prune 1, add 1");

  GetLineageResponse response;
  *response.add_ancestors() = leaf;
  *response.add_ancestors() = mid;
  *response.add_ancestors() = root;
  using headevo::v1::CANDIDATE_STATE_DONE;
  *response.add_descendants() = Summary(25, 9, 2, CANDIDATE_STATE_DONE, 0.0234, 3, "m", 0);
  *response.add_descendants() = Summary(30, 25, 3, CANDIDATE_STATE_DONE, 0.02, 3, "m30", 1);
  *response.add_descendants() =
      Summary(41, 30, 4, headevo::v1::CANDIDATE_STATE_PENDING, kNan, 4, "", 2);
  *response.add_descendants() = Summary(31, 25, 3, CANDIDATE_STATE_DONE, 0.03, 2, "m31", 1);
  return response;
}

TEST(FormatLineageTreeTest, RootFirstCandidateLastWithHeadsUnderTheirNode) {
  EXPECT_EQ(FormatLineageTree(Lineage()),
            "#3 gen 0 val_loss 0.1528 conn 3\n"
            "└─ #9 gen 1 val_loss 0.0800 conn 3  prune 1, add 1\n"
            "   - head 17 layer 0 offsets {-3,-1}\n"
            "   + head 31 layer 0 offsets {-5,-2} sampler best from head 12\n"
            "   └─ #25 gen 2 val_loss 0.0234 conn 3  prune 1, add 1\n"
            "      - head 5 layer 0 offsets {-2}\n"
            "      + head 40 layer 0 offsets {-11} sampler uniform\n"
            "\n"
            "descendants of #25:\n"
            "#25 gen 2 val_loss 0.0234 conn 3  m\n"
            "├─ #30 gen 3 val_loss 0.0200 conn 3  m30\n"
            "│  └─ #41 gen 4 val_loss - conn 4\n"
            "└─ #31 gen 3 val_loss 0.0300 conn 2  m31\n");
}

TEST(FormatLineageTreeTest, NoDescendantSectionForALeafAndANoteForNothing) {
  GetLineageResponse response = Lineage();
  response.mutable_descendants()->DeleteSubrange(1, 3);
  const std::string tree = FormatLineageTree(response);
  EXPECT_EQ(tree.find("descendants"), std::string::npos);
  EXPECT_EQ(Lines(tree).back(), "      + head 40 layer 0 offsets {-11} sampler uniform");
  EXPECT_EQ(FormatLineageTree({}), "no lineage: the response names no candidate\n");
}

// Every double quote on `line` is closed: DOT would reject the file otherwise.
bool QuotesBalanced(const std::string& line) {
  bool open = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;  // an escaped character, a quote included, does not open or close
    } else if (line[i] == '"') {
      open = !open;
    }
  }
  return !open;
}

TEST(FormatLineageDotTest, EveryNodeAndEdgeOnceWithTheCandidateFilled) {
  const std::string dot = FormatLineageDot(Lineage());
  EXPECT_EQ(dot.rfind("digraph lineage {\n", 0), 0u);
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
  for (int id : {3, 9, 25, 30, 41, 31}) {
    EXPECT_EQ(Count(dot, "  c" + std::to_string(id) + " [label="), 1) << id << "\n" << dot;
  }
  for (const char* edge :
       {"c3 -> c9 ", "c9 -> c25 ", "c25 -> c30 ", "c30 -> c41 ", "c25 -> c31 "}) {
    EXPECT_EQ(Count(dot, edge), 1) << edge << "\n" << dot;
  }
  EXPECT_EQ(Count(dot, "->"), 5);
  EXPECT_NE(LineWith(dot, "c25 [label=").find("style=filled"), std::string::npos);
  EXPECT_EQ(Count(dot, "style=filled"), 1);
  EXPECT_NE(LineWith(dot, "c3 -> c9").find("label=\"-1 +1 best\""), std::string::npos) << dot;
  EXPECT_NE(LineWith(dot, "c3 [label=").find("label=\"#3\\nval_loss 0.1528\\nconn 3\""),
            std::string::npos);
}

TEST(FormatLineageDotTest, QuotesAndBackslashesInMutationsAreEscaped) {
  GetLineageResponse response = Lineage();
  response.mutable_ancestors(0)->mutable_mutation()->set_description(R"(swap "best" \ head)");
  response.mutable_descendants(1)->set_mutation(R"(say "hi")");
  const std::string dot = FormatLineageDot(response);
  EXPECT_NE(LineWith(dot, "c9 -> c25").find(R"(tooltip="swap \"best\" \\ head")"),
            std::string::npos)
      << dot;
  EXPECT_NE(LineWith(dot, "c25 -> c30").find(R"(label="say \"hi\"")"), std::string::npos) << dot;
  for (const std::string& line : Lines(dot)) EXPECT_TRUE(QuotesBalanced(line)) << line;
}

TEST(FormatLineageJsonTest, ParsesBackIntoAnEqualMessageWithProtoFieldNames) {
  GetLineageResponse response = Lineage();
  response.mutable_descendants(2)->set_val_loss(0.5);  // NaN != NaN would defeat Equals
  const std::string json = FormatLineageJson(response);
  EXPECT_NE(json.find("\"val_loss\""), std::string::npos);
  EXPECT_NE(json.find("\"pruned_head_ids\""), std::string::npos);
  EXPECT_GT(Count(json, "\n"), 10);  // pretty-printed, not one line
  GetLineageResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, response));
}

TEST(FormatHeadHistoryTest, OriginAppearancesPruningsAndCopies) {
  headevo::v1::GetHeadHistoryResponse response;
  headevo::v1::Head* head = response.mutable_head();
  head->set_id(31);
  head->set_layer(1);
  for (int o : {-5, -2}) head->mutable_offsets()->add_offsets(o);
  head->set_origin(headevo::v1::HEAD_ORIGIN_SAMPLED);
  head->set_sampler(headevo::v1::SAMPLER_BEST);
  head->set_sampler_params("k~normal(3,1)");
  head->set_source_head_id(12);
  response.set_search_id(2);
  response.set_created_candidate_id(9);
  headevo::v1::HeadAppearance* first = response.add_appearances();
  first->set_candidate_id(9);
  first->set_generation(1);
  first->set_slot(4);
  first->set_origin(headevo::v1::HEAD_ORIGIN_SAMPLED);
  first->set_stats_recorded(true);
  first->mutable_stats()->set_entropy(0.25);
  first->mutable_stats()->set_independence(kNan);
  first->mutable_stats()->set_weight_norm(1.5);
  first->mutable_stats()->set_importance(0.001);
  headevo::v1::HeadAppearance* second = response.add_appearances();
  second->set_candidate_id(25);
  second->set_generation(2);
  second->set_slot(1);
  second->set_origin(headevo::v1::HEAD_ORIGIN_INHERITED);
  second->mutable_stats()->set_entropy(0.5);  // present but not recorded: still "-"
  headevo::v1::HeadPruning* pruning = response.add_prunings();
  pruning->set_candidate_id(30);
  pruning->set_parent_id(25);
  pruning->set_generation(3);
  pruning->set_mutation("prune 2, add 2");
  response.add_copies(45);
  response.add_copies(60);

  EXPECT_EQ(FormatHeadHistory(response),
            "head 31: layer 1, offsets {-5,-2} (k 2)\n"
            "  origin   sampled by sampler best (k~normal(3,1)) from head 12\n"
            "  created  by candidate #9 in search 2\n"
            "appearances (2):\n"
            "  CANDIDATE  GEN  SLOT  ORIGIN     ENTROPY  INDEPENDENCE  WEIGHT_NORM  IMPORTANCE\n"
            "  #9         1    4     sampled    0.2500   nan           1.5000       0.0010\n"
            "  #25        2    1     inherited  -        -             -            -\n"
            "pruned by #30 (child of #25, gen 3): prune 2, add 2\n"
            "copies made from it: heads 45, 60\n");
}

TEST(FormatHeadHistoryTest, GrownHeadAndItsGrowthChain) {
  headevo::v1::GetHeadHistoryResponse response;
  headevo::v1::Head* head = response.mutable_head();
  head->set_id(40);
  head->set_layer(0);
  head->mutable_offsets()->add_offsets(-3);
  head->set_origin(headevo::v1::HEAD_ORIGIN_GROWN);
  head->set_sampler(headevo::v1::SAMPLER_GROWTH);
  head->set_sampler_params("grow head 17 by 4 -> d_k +8");
  head->set_source_head_id(17);
  head->set_extra_key_width(8);
  response.set_created_candidate_id(9);
  const std::string text = FormatHeadHistory(response);
  EXPECT_NE(text.find("head 40: layer 0, offsets {-3} (k 1), d_k +8\n"), std::string::npos) << text;
  EXPECT_NE(
      text.find("origin   grown by sampler growth (grow head 17 by 4 -> d_k +8) from head 17"),
      std::string::npos)
      << text;

  headevo::v1::HeadGrowth widen;
  widen.set_head_id(40);
  widen.set_source_head_id(17);
  widen.set_kind(headevo::v1::GROWTH_KIND_WIDEN);
  widen.set_added_key_width(4);
  widen.set_scale(0.5);
  widen.set_predicted_loss_change(-0.02);
  widen.set_measured_loss_change(-0.01);
  headevo::v1::Head source = *head;
  source.set_id(17);
  source.set_source_head_id(3);
  source.set_extra_key_width(4);  // grew earlier, its record lost
  headevo::v1::Head root;
  root.set_id(3);
  root.set_origin(headevo::v1::HEAD_ORIGIN_SAMPLED);
  headevo::v1::HeadGrowth init;
  init.set_head_id(3);
  init.set_kind(headevo::v1::GROWTH_KIND_NEW_HEAD);
  init.set_added_key_width(8);
  init.set_scale(1);
  init.set_predicted_loss_change(-0.5);
  init.set_measured_loss_change(0.125);
  // The chain as the RPC carries it: links of (head, creating candidate, records).
  const auto chain = [](std::vector<std::tuple<headevo::v1::Head, int64_t,
                                               std::vector<headevo::v1::HeadGrowth>>> links) {
    headevo::v1::GetHeadHistoryResponse chained;
    for (const auto& [link_head, candidate, records] : links) {
      headevo::v1::HeadGrowthLink* link = chained.add_growth_chain();
      *link->mutable_head() = link_head;
      link->set_created_candidate_id(candidate);
      for (const headevo::v1::HeadGrowth& g : records) *link->add_growth() = g;
    }
    return chained;
  };
  EXPECT_EQ(FormatGrowthChain(chain({{*head, 9, {widen}}, {source, 5, {}}, {root, 2, {init}}})),
            "growth:\n"
            "  head 40 (d_k +8) grew from head 17 by 4 in #9: scale 0.5, loss change predicted "
            "-0.0200, measured -0.0100\n"
            "  head 17 (d_k +4) grown from head 3 in #5: no growth recorded\n"
            "  head 3 (d_k +0) set up by the gradient initialiser (d_k 8) in #2: scale 1, loss "
            "change predicted -0.5000, measured +0.1250\n");
  // A head that neither grew nor has records shows no growth section.
  EXPECT_EQ(FormatGrowthChain(chain({{root, 2, {}}})), "");
  EXPECT_EQ(FormatGrowthChain(headevo::v1::GetHeadHistoryResponse()), "");
}

TEST(FormatHeadHistoryTest, UnprunedUncopiedHead) {
  headevo::v1::GetHeadHistoryResponse response;
  response.mutable_head()->set_id(5);
  const std::string text = FormatHeadHistory(response);
  EXPECT_NE(text.find("never pruned\n"), std::string::npos);
  EXPECT_NE(text.find("copies made from it: none\n"), std::string::npos);
  EXPECT_EQ(FormatHeadHistory({}), "no such head\n");
}

headevo::v1::GetParetoFrontResponse Front(const std::vector<std::pair<int64_t, double>>& points) {
  headevo::v1::GetParetoFrontResponse response;
  int64_t id = 1;
  for (const auto& [connections, loss] : points) {
    *response.add_front() =
        Summary(id++, 0, 0, headevo::v1::CANDIDATE_STATE_DONE, loss, connections, "");
  }
  return response;
}

// The plot's rows: the lines between "val_loss" and the "+---" axis.
std::vector<std::string> PlotRows(const std::string& text) {
  const std::vector<std::string> lines = Lines(text);
  auto top = std::find(lines.begin(), lines.end(), "val_loss");
  auto axis = std::find_if(
      top, lines.end(), [](const std::string& l) { return l.find("+---") != std::string::npos; });
  if (top == lines.end() || axis == lines.end()) return {};
  return std::vector<std::string>(top + 1, axis);
}

TEST(FormatParetoFrontTest, TableAndPlotWithCornersAtTheExtremes) {
  const std::string text = FormatParetoFront(Front({{19, 0.15}, {24, 0.05}, {40, 0.01}}));
  const std::vector<std::string> lines = Lines(text);
  EXPECT_EQ(lines[0], "CONN  VAL_LOSS  CANDIDATE  GEN");
  EXPECT_EQ(lines[1], "19    0.1500    #1         0");
  const std::vector<std::string> rows = PlotRows(text);
  ASSERT_EQ(rows.size(), 12u) << text;
  EXPECT_EQ(Count(text, "*"), 3);
  EXPECT_EQ(rows.front(), "0.15 |*");                             // fewest connections, worst loss
  EXPECT_EQ(rows.back(), "0.01 |" + std::string(49, ' ') + "*");  // most connections, best loss
  EXPECT_EQ(Lines(text).back(), "      19" + std::string(46, ' ') + "40   connections");
}

TEST(FormatParetoFrontTest, OnePointSitsInTheMiddleAndNanIsLeftOut) {
  const std::string text = FormatParetoFront(Front({{24, 0.0234}, {30, kNan}}));
  EXPECT_NE(text.find("30    nan"), std::string::npos) << text;
  const std::vector<std::string> rows = PlotRows(text);
  ASSERT_EQ(rows.size(), 12u) << text;
  EXPECT_EQ(Count(text, "*"), 1);
  EXPECT_EQ(rows[5], "0.0234 |" + std::string(25, ' ') + "*");
  EXPECT_EQ(Lines(text).back(), std::string(8 + 25, ' ') + "24   connections");
}

TEST(FormatParetoFrontTest, EmptyFrontSaysWhy) {
  EXPECT_EQ(FormatParetoFront(headevo::v1::GetParetoFrontResponse()),
            "the Pareto front is empty: no candidate is evaluated yet\n");
}

}  // namespace
}  // namespace headevo::cli
