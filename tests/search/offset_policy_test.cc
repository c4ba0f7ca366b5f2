#include "search/offset_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace headevo::search {
namespace {

HeadDistribution Window16() {
  HeadDistribution d;
  d.window = 16;
  d.causal = true;
  d.count.mean = 3.0;
  return d;
}

const std::vector<SurvivingHead> kSurvivors = {{{-1, -2}, 0.9}, {{-4, -9, -16}, 0.1}};

double ProbabilityOf(const OffsetPolicy& policy, int layer, int offset) {
  for (const auto& [o, p] : policy.OffsetProbabilities(kSurvivors, layer)) {
    if (o == offset) return p;
  }
  return 0.0;
}

TEST(OffsetPolicyTest, UntrainedItProposesUniformOffsetsWithinTheWindow) {
  OffsetPolicy policy(PolicyOptions{}, Window16(), 2, 4, 7);
  const auto probabilities = policy.OffsetProbabilities(kSurvivors, 1);
  ASSERT_EQ(probabilities.size(), 16u);
  EXPECT_EQ(probabilities.front().first, -16);
  EXPECT_EQ(probabilities.back().first, -1);
  for (const auto& [offset, p] : probabilities) EXPECT_NEAR(p, 1.0 / 16, 1e-12) << offset;
  // k follows the initial count distribution: normal(3, 1) is highest at 3.
  const std::vector<double> k = policy.KProbabilities(kSurvivors, 1);
  EXPECT_EQ(std::max_element(k.begin(), k.end()) - k.begin(), 2);

  Rng rng(3);
  const headevo::v1::Head head = policy.Propose(kSurvivors, 1, rng);
  EXPECT_EQ(head.sampler(), headevo::v1::SAMPLER_POLICY);
  EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
  EXPECT_EQ(head.layer(), 1);
  EXPECT_EQ(PolicyProposalOf(head), 0);
  EXPECT_GE(head.offsets().offsets_size(), 1);
  for (int o : head.offsets().offsets()) EXPECT_TRUE(o >= -16 && o <= -1) << o;
  EXPECT_EQ(PolicyProposalOf(policy.Propose(kSurvivors, 0, rng)), 1);
}

TEST(OffsetPolicyTest, LogProbabilityGradientMatchesFiniteDifferences) {
  PolicyOptions options;
  options.hidden = 5;
  options.slots_per_bin = 3;
  HeadDistribution bidirectional = Window16();
  bidirectional.causal = false;
  bidirectional.allow_zero = true;
  OffsetPolicy policy(options, bidirectional, 3, 4, 11);
  // Every parameter away from its start, so no output layer is zero.
  Rng rng(5);
  for (double& p : policy.network().mutable_parameters()) p = 0.5 * rng.Normal();
  const std::vector<int> offsets = {-13, -3, 0, 2, 3, 9};
  const std::vector<double> gradient = policy.LogProbabilityGradient(kSurvivors, 2, offsets);
  ASSERT_EQ(static_cast<int>(gradient.size()), policy.NumParameters());
  std::vector<double>& parameters = policy.network().mutable_parameters();
  const double h = 1e-6;
  int nonzero = 0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const double saved = parameters[i];
    parameters[i] = saved + h;
    const double up = policy.LogProbability(kSurvivors, 2, offsets);
    parameters[i] = saved - h;
    const double down = policy.LogProbability(kSurvivors, 2, offsets);
    parameters[i] = saved;
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(gradient[i], numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "parameter " << i;
    nonzero += std::abs(gradient[i]) > 1e-9 ? 1 : 0;
  }
  EXPECT_GT(nonzero, policy.NumParameters() / 2);
}

// A fake fitness that rewards heads holding offset -5 and charges every connection.
double Reward(const headevo::v1::Head& head) {
  const auto& o = head.offsets().offsets();
  return (std::find(o.begin(), o.end(), -5) != o.end() ? 1.0 : 0.0) - 0.02 * o.size();
}

TEST(OffsetPolicyTest, LearnsToProposeTheRewardedOffset) {
  OffsetPolicy policy(PolicyOptions{}, Window16(), 2, 4, 21);
  const double before = ProbabilityOf(policy, 0, -5);
  Rng rng(8);
  for (int update = 0; update < 300; ++update) {
    const headevo::v1::Head head = policy.Propose(kSurvivors, 0, rng);
    ASSERT_TRUE(policy.Learn({&head}, Reward(head)));
  }
  EXPECT_EQ(policy.updates(), 300);
  const double after = ProbabilityOf(policy, 0, -5);
  RecordProperty("p_rewarded_offset_after_300_updates", std::to_string(after));
  EXPECT_NEAR(before, 1.0 / 16, 1e-12);
  EXPECT_GT(after, 4 * before) << "P(-5) went from " << before << " to " << after;
  for (const auto& [offset, p] : policy.OffsetProbabilities(kSurvivors, 0)) {
    if (offset != -5) {
      EXPECT_LT(p, after) << offset;
    }
  }
}

TEST(OffsetPolicyTest, RestoredPolicyProposesBitIdentically) {
  const PolicyOptions options;
  const auto run = [](OffsetPolicy& policy, Rng& rng, int steps) {
    std::string proposals;
    for (int i = 0; i < steps; ++i) {
      const headevo::v1::Head a = policy.Propose(kSurvivors, i % 2, rng);
      const headevo::v1::Head b = policy.Propose(kSurvivors, 1, rng);
      policy.Learn({&a, &b}, Reward(a) + Reward(b));
      proposals += a.SerializeAsString() + b.SerializeAsString();
    }
    // A proposal still waiting for its reward travels with the state too.
    proposals += policy.Propose(kSurvivors, 0, rng).SerializeAsString();
    return proposals;
  };
  OffsetPolicy first(options, Window16(), 2, 4, 99);
  Rng rng(1);
  run(first, rng, 40);
  std::string saved;
  ASSERT_TRUE(first.SaveState().SerializeToString(&saved));
  const Rng::State rng_state = rng.GetState();
  const std::string continued = run(first, rng, 30);

  headevo::v1::PolicyState state;
  ASSERT_TRUE(state.ParseFromString(saved));
  EXPECT_EQ(state.pending_size(), 1);
  OffsetPolicy restored(options, Window16(), 2, 4, 99);
  ASSERT_TRUE(restored.RestoreState(state).ok());
  Rng restored_rng(0);
  restored_rng.SetState(rng_state);
  EXPECT_EQ(run(restored, restored_rng, 30), continued);
  EXPECT_EQ(restored.SaveState().SerializeAsString(), first.SaveState().SerializeAsString());

  // Another seed starts from other parameters.
  OffsetPolicy other(options, Window16(), 2, 4, 100);
  EXPECT_NE(other.SaveState().parameters(0),
            OffsetPolicy(options, Window16(), 2, 4, 99).SaveState().parameters(0));
}

TEST(OffsetPolicyTest, ForgetsProposalsOnceTheirChildIsSettled) {
  OffsetPolicy policy(PolicyOptions{}, Window16(), 1, 4, 3);
  Rng rng(2);
  const headevo::v1::Head a = policy.Propose(kSurvivors, 0, rng);
  const headevo::v1::Head b = policy.Propose(kSurvivors, 0, rng);
  const headevo::v1::Head c = policy.Propose(kSurvivors, 0, rng);
  policy.Forget({&b});  // b's child failed: a's is older, so it is settled too
  EXPECT_EQ(policy.SaveState().pending_size(), 1);
  EXPECT_FALSE(policy.Learn({&a}, 1.0));  // forgotten: nothing to learn from
  EXPECT_TRUE(policy.Learn({&c}, 1.0));
  EXPECT_EQ(policy.SaveState().pending_size(), 0);
  headevo::v1::Head uniform = a;
  uniform.set_sampler(headevo::v1::SAMPLER_UNIFORM);
  EXPECT_EQ(PolicyProposalOf(uniform), std::nullopt);
}

TEST(OffsetPolicyTest, HistoryStaysWithinItsLimitAndKeepsTheStart) {
  PolicyOptions options;
  options.history = 6;
  OffsetPolicy policy(options, Window16(), 2, 4, 5);
  Rng rng(4);
  for (int i = 0; i < 100; ++i) {
    const headevo::v1::Head a = policy.Propose(kSurvivors, 0, rng);
    const headevo::v1::Head b = policy.Propose(kSurvivors, 1, rng);
    policy.Learn({&a, &b}, Reward(a));
  }
  const headevo::v1::PolicyState state = policy.SaveState();
  std::set<int64_t> times;
  for (const headevo::v1::PolicySnapshot& s : state.history()) {
    times.insert(s.updates());
    ASSERT_EQ(s.bin_probabilities_size(), 5);  // window 16: bins 0-1 .. 16-31
    double sum = 0;
    for (double p : s.bin_probabilities()) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-12);
  }
  EXPECT_LE(static_cast<int>(times.size()), 6);
  EXPECT_GE(times.size(), 3u);
  EXPECT_EQ(*times.begin(), 0);
  EXPECT_EQ(state.history(0).layer(), 0);
  EXPECT_EQ(state.history(1).layer(), 1);
}

TEST(OffsetPolicyTest, MismatchedStateAndBadOptionsAreNamed) {
  OffsetPolicy policy(PolicyOptions{}, Window16(), 2, 4, 5);
  PolicyOptions wider;
  wider.hidden = 17;
  const headevo::v1::PolicyState state = OffsetPolicy(wider, Window16(), 2, 4, 5).SaveState();
  const absl::Status s = policy.RestoreState(state);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("policy_hidden"), std::string::npos) << s;

  const auto message = [](auto set) {
    PolicyOptions o;
    set(o);
    return std::string(o.Validate().message());
  };
  EXPECT_TRUE(PolicyOptions{}.Validate().ok());
  EXPECT_NE(message([](PolicyOptions& o) { o.hidden = 0; }).find("policy_hidden"),
            std::string::npos);
  EXPECT_NE(message([](PolicyOptions& o) {
              o.learning_rate = std::nan("");
            }).find("policy_learning_rate"),
            std::string::npos);
  EXPECT_NE(message([](PolicyOptions& o) { o.max_k = 0; }).find("policy_max_k"), std::string::npos);
  EXPECT_NE(message([](PolicyOptions& o) { o.slots_per_bin = 65; }).find("policy_slots_per_bin"),
            std::string::npos);
  EXPECT_NE(message([](PolicyOptions& o) { o.history = 1; }).find("policy_history"),
            std::string::npos);
}

TEST(OffsetPolicyTest, BinsAreLogSpaced) {
  EXPECT_EQ(PolicyBinOf(0), 0);
  EXPECT_EQ(PolicyBinOf(-1), 0);
  EXPECT_EQ(PolicyBinOf(2), 1);
  EXPECT_EQ(PolicyBinOf(-3), 1);
  EXPECT_EQ(PolicyBinOf(-4), 2);
  EXPECT_EQ(PolicyBinOf(15), 3);
  EXPECT_EQ(PolicyBinOf(-16), 4);
  EXPECT_EQ(PolicyBinLabel(0), "0-1");
  EXPECT_EQ(PolicyBinLabel(3), "8-15");
}

}  // namespace
}  // namespace headevo::search
