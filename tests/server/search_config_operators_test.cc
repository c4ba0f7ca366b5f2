// The config keys of the operators that let a search find local structure: a k-spread first
// generation, proportional shifts, the local_plus_far prior and windows that grow with depth.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/config/search_config.h"

namespace headevo::server {
namespace {

absl::StatusOr<search::SearchOptions> Parse(const std::string& text) {
  return ParseSearchConfig(text, "ops.toml");
}

void ExpectError(const std::string& text, const std::vector<std::string>& fragments) {
  auto options = Parse(text);
  ASSERT_FALSE(options.ok()) << "accepted:\n" << text;
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& fragment : fragments) {
    EXPECT_NE(options.status().message().find(fragment), std::string::npos)
        << "'" << fragment << "' missing from: " << options.status().message();
  }
}

TEST(SearchConfigOperatorsTest, DefaultsKeepTodaysBehaviour) {
  auto o = Parse("");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->initial_k_spread);
  EXPECT_FALSE(o->initial.local.enabled());
  EXPECT_EQ(o->initial.offsets.family, search::OffsetFamily::kUniform);
  EXPECT_DOUBLE_EQ(o->initial.layer_windows.growth, 1.0);
  EXPECT_EQ(o->initial.ForLayer(1).window, o->initial.window);
  EXPECT_EQ(o->resampling.mutation.shift_scaling, search::ShiftScaling::kConstant);
  EXPECT_DOUBLE_EQ(o->resampling.mutation.shift_fraction, 0.25);
}

TEST(SearchConfigOperatorsTest, ReadsEveryNewKey) {
  auto o = Parse(R"(
[model]
layers = 3
seq_len = 64
[initial]
window = 8
k_spread = true
window_growth = 3.0
offset_distribution = "local_plus_far"
local_width = 3
local_probability = 0.75
far_distribution = "gamma"
[resampling]
sampler = "best"
shift_scaling = "proportional"
shift_fraction = 0.5
)");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->initial_k_spread);
  EXPECT_EQ(o->initial.local.width, 3);
  EXPECT_DOUBLE_EQ(o->initial.local.probability, 0.75);
  EXPECT_EQ(o->initial.offsets.family, search::OffsetFamily::kGamma);
  EXPECT_DOUBLE_EQ(o->initial.layer_windows.growth, 3.0);
  EXPECT_EQ(o->initial.ForLayer(0).window, 8);
  EXPECT_EQ(o->initial.ForLayer(1).window, 24);
  EXPECT_EQ(o->initial.ForLayer(2).window, 63) << "capped at seq_len - 1";
  EXPECT_EQ(o->resampling.mutation.shift_scaling, search::ShiftScaling::kProportional);
  EXPECT_DOUBLE_EQ(o->resampling.mutation.shift_fraction, 0.5);
}

TEST(SearchConfigOperatorsTest, LocalPlusFarDefaultsToALogUniformFarPartOfWidthFour) {
  auto o = Parse("[initial]\noffset_distribution = \"local_plus_far\"\n");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->initial.local.width, 4);
  EXPECT_DOUBLE_EQ(o->initial.local.probability, 1.0);
  EXPECT_EQ(o->initial.offsets.family, search::OffsetFamily::kLogUniform);
  // The block keys alone do nothing without local_plus_far.
  auto plain = Parse("[initial]\nlocal_width = 6\nfar_distribution = \"normal\"\n");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->initial.local.enabled());
  EXPECT_EQ(plain->initial.offsets.family, search::OffsetFamily::kUniform);
}

TEST(SearchConfigOperatorsTest, BadValuesNameTheKeyAndWhatIsAllowed) {
  ExpectError("[resampling]\nshift_scaling = \"linear\"\n",
              {"ops.toml:2:", "resampling.shift_scaling", "\"constant\"", "\"proportional\""});
  ExpectError("[resampling]\nshift_fraction = 0\n", {"resampling.shift_fraction", "got 0"});
  ExpectError("[resampling]\nshift_fraction = 2.0\n", {"resampling.shift_fraction"});
  ExpectError("[initial]\noffset_distribution = \"local\"\n",
              {"initial.offset_distribution", "\"local_plus_far\"", "\"log_uniform\""});
  ExpectError("[initial]\nfar_distribution = \"mixture\"\n",
              {"initial.far_distribution", "\"dilated\""});
  ExpectError("[initial]\nlocal_width = 0\n", {"initial.local_width", "got 0"});
  ExpectError("[initial]\noffset_distribution = \"local_plus_far\"\nlocal_width = 17\n",
              {"local_width", "window 16", "got 17"});
  ExpectError("[initial]\nlocal_probability = 1.5\n", {"initial.local_probability"});
  ExpectError("[initial]\nwindow_growth = 0.5\n", {"initial.window_growth", "got 0.5"});
  ExpectError("[initial]\nk_spread = \"yes\"\n", {"initial.k_spread", "true or false"});
}

}  // namespace
}  // namespace headevo::server
