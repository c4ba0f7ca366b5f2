#include "server/search_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace headevo::server {
namespace {

absl::StatusOr<search::SearchOptions> Parse(const std::string& text) {
  return ParseSearchConfig(text, "test.toml");
}

// Expects `text` to be rejected with a message containing each of `fragments`.
void ExpectError(const std::string& text, const std::vector<std::string>& fragments) {
  auto options = Parse(text);
  ASSERT_FALSE(options.ok()) << "accepted:\n" << text;
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& fragment : fragments) {
    EXPECT_NE(options.status().message().find(fragment), std::string::npos)
        << "'" << fragment << "' missing from: " << options.status().message();
  }
}

TEST(SearchConfigTest, EmptyConfigGivesTheDefaults) {
  auto options = Parse("");
  ASSERT_TRUE(options.ok()) << options.status();
  const search::SearchOptions defaults;
  EXPECT_EQ(options->population_size, defaults.population_size);
  EXPECT_EQ(options->training.SerializeAsString(),
            search::DefaultTrainingSpec().SerializeAsString());
}

TEST(SearchConfigTest, ReadsEverySection) {
  auto options = Parse(R"(
[search]
name = "planted"
seed = 99
population = 6
generations = 3
parents = 2
connection_cost = 0.01
compare_with_dense = false
inherit_weights = true

[baselines]
run = ["local", "random", "strided"]
window = 5
stride = 4
random_k = 3

[model]
vocab_size = 12
d_model = 24
layers = 3
heads_per_layer = 5
d_head = 6
mlp_ratio = 3
seq_len = 40
causal = false

[task]
kind = "planted_offsets"
planted_offsets = [-3, 7]

[training]
steps = 50
batch_size = 8
learning_rate = 1      # an integer where a float is expected is fine
weight_decay = 0.1
eval_batches = 2
lr_schedule = "constant"
warmup_steps = 3
final_lr_fraction = 0.2
max_grad_norm = 0.5
entropy_weight = 0.01
new_head_init = "random"

[initial]
k_distribution = "fixed"
k_mean = 4
offset_distribution = "normal"
offset_stddev = 3.5
window = 20
allow_zero = true

[ranking]
entropy = -2.0
independence = 0.5
weight_norm = 0
importance = 3
cost_per_connection = 0.25

[pruning]
fraction = 0.5
min_heads_per_layer = 2
)");
  ASSERT_TRUE(options.ok()) << options.status();
  const search::SearchOptions& o = *options;
  EXPECT_EQ(o.name, "planted");
  EXPECT_EQ(o.seed, 99u);
  EXPECT_EQ(o.population_size, 6);
  EXPECT_EQ(o.generations, 3);
  EXPECT_EQ(o.selection.num_parents, 2);
  EXPECT_DOUBLE_EQ(o.selection.connection_cost, 0.01);
  EXPECT_FALSE(o.compare_with_dense);
  EXPECT_TRUE(o.inherit_weights);
  EXPECT_EQ(o.baselines, (std::vector<headevo::v1::AttentionKind>{
                             headevo::v1::ATTENTION_KIND_LOCAL, headevo::v1::ATTENTION_KIND_RANDOM,
                             headevo::v1::ATTENTION_KIND_STRIDED}));
  EXPECT_EQ(o.baseline_window, 5);
  EXPECT_EQ(o.baseline_stride, 4);
  EXPECT_EQ(o.baseline_random_k, 3);
  EXPECT_EQ(o.baseline_linformer_rank, 0);
  const auto& m = o.training.model();
  EXPECT_EQ(m.vocab_size(), 12);
  EXPECT_EQ(m.d_model(), 24);
  EXPECT_EQ(m.num_layers(), 3);
  EXPECT_EQ(m.heads_per_layer(), 5);
  EXPECT_EQ(m.d_head(), 6);
  EXPECT_EQ(m.mlp_ratio(), 3);
  EXPECT_EQ(m.seq_len(), 40);
  EXPECT_FALSE(m.causal());
  EXPECT_EQ(m.attention(), headevo::v1::ATTENTION_KIND_SPARSE);
  ASSERT_EQ(o.training.task().planted_offsets_size(), 2);
  EXPECT_EQ(o.training.task().planted_offsets(1), 7);
  EXPECT_EQ(o.training.steps(), 50);
  EXPECT_EQ(o.training.batch_size(), 8);
  EXPECT_DOUBLE_EQ(o.training.learning_rate(), 1.0);
  EXPECT_DOUBLE_EQ(o.training.weight_decay(), 0.1);
  EXPECT_EQ(o.training.eval_batches(), 2);
  EXPECT_EQ(o.training.lr_schedule(), headevo::v1::LEARNING_RATE_SCHEDULE_CONSTANT);
  EXPECT_EQ(o.training.warmup_steps(), 3);
  EXPECT_DOUBLE_EQ(o.training.final_lr_fraction(), 0.2);
  EXPECT_DOUBLE_EQ(o.training.max_grad_norm(), 0.5);
  EXPECT_DOUBLE_EQ(o.training.entropy_weight(), 0.01);
  EXPECT_EQ(o.training.new_head_init(), headevo::v1::NEW_HEAD_INIT_RANDOM);
  EXPECT_EQ(o.initial.count, search::CountDistribution::kFixed);
  EXPECT_DOUBLE_EQ(o.initial.mean_k, 4.0);
  EXPECT_EQ(o.initial.offsets, search::OffsetDistribution::kNormal);
  EXPECT_DOUBLE_EQ(o.initial.offset_stddev, 3.5);
  EXPECT_EQ(o.initial.window, 20);
  EXPECT_TRUE(o.initial.allow_zero);
  EXPECT_FALSE(o.initial.causal) << "the sampler follows model.causal";
  EXPECT_DOUBLE_EQ(o.ranking.entropy_weight, -2.0);
  EXPECT_DOUBLE_EQ(o.ranking.independence_weight, 0.5);
  EXPECT_DOUBLE_EQ(o.ranking.weight_norm_weight, 0.0);
  EXPECT_DOUBLE_EQ(o.ranking.importance_weight, 3.0);
  EXPECT_DOUBLE_EQ(o.ranking.cost_per_connection, 0.25);
  EXPECT_DOUBLE_EQ(o.pruning.fraction, 0.5);
  EXPECT_EQ(o.pruning.min_heads_per_layer, 2);
}

TEST(SearchConfigTest, TextFilesTaskAndBaselineErrors) {
  auto text = Parse(
      "[model]\nvocab_size = 256\n[task]\nkind = \"text_files\"\ntext_path = \"/data/books\"\n");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->training.task().kind(), headevo::v1::TASK_KIND_TEXT_FILES);
  EXPECT_EQ(text->training.task().text_path(), "/data/books");
  ExpectError("[model]\nvocab_size = 256\n[task]\nkind = \"text_files\"\n", {"task.text_path"});
  ExpectError("[baselines]\nrun = [\"local\", \"sparse\"]\n",
              {"test.toml:2:", "baselines.run", "\"local\", \"strided\", \"linformer\", \"random\"",
               "got \"sparse\""});
  ExpectError("[baselines]\nrun = [\"linformer\"]\n", {"linformer", "model.causal = false"});
  ExpectError("[training]\nlr_schedule = \"step\"\n", {"training.lr_schedule", "cosine"});
}

TEST(SearchConfigTest, SyntaxErrorNamesFileAndLine) {
  ExpectError("[search]\npopulation = 4\nseed = = 3\n", {"test.toml:3:"});
}

TEST(SearchConfigTest, WrongTypeNamesLineAndKey) {
  ExpectError("[search]\n\npopulation = \"eight\"\n",
              {"test.toml:3:", "search.population", "expected an integer"});
  ExpectError("[model]\ncausal = 1\n", {"test.toml:2:", "model.causal", "true or false"});
  ExpectError("[task]\nplanted_offsets = [-1, \"x\"]\n",
              {"test.toml:2:", "task.planted_offsets", "array of integers"});
}

TEST(SearchConfigTest, OutOfRangeNamesTheBounds) {
  ExpectError("[model]\nd_model = 0\n", {"test.toml:2:", "model.d_model", "got 0"});
  ExpectError("[pruning]\nfraction = 1.5\n", {"pruning.fraction", "got 1.5"});
  ExpectError("[search]\nseed = -1\n", {"search.seed"});
}

TEST(SearchConfigTest, UnknownChoiceListsTheChoices) {
  ExpectError("[task]\nkind = \"wikitext\"\n",
              {"task.kind", "\"planted_offsets\", \"brown_corpus\"", "got \"wikitext\""});
}

TEST(SearchConfigTest, TyposAreErrorsNotSilentDefaults) {
  ExpectError("[search]\npopulaton = 8\n", {"test.toml:2:", "search.populaton", "unknown key"});
  ExpectError("[serach]\npopulation = 8\n", {"test.toml:1:", "unknown section [serach]"});
  ExpectError("model = 3\n", {"test.toml:1", "must be a [model] section"});
}

TEST(SearchConfigTest, CrossFieldChecksRunAfterParsing) {
  ExpectError("[search]\npopulation = 2\nparents = 3\n", {"test.toml", "search.parents"});
  ExpectError("[model]\nseq_len = 16\n[initial]\nwindow = 16\n", {"initial.window"});
  ExpectError("[task]\nplanted_offsets = [2]\n", {"looks ahead"});
}

TEST(SearchConfigTest, MissingFileIsNamed) {
  std::string text;
  auto options = LoadSearchConfigFile("/nonexistent/quick.toml", &text);
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(options.status().message().find("/nonexistent/quick.toml"), std::string::npos);
}

TEST(SearchConfigTest, ShippedExamplesParse) {
  const char* source_dir = std::getenv("HEADEVO_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "ctest sets HEADEVO_SOURCE_DIR";
  std::string text;
  auto options = LoadSearchConfigFile(std::string(source_dir) + "/examples/quickstart.toml", &text);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(text.empty());
  EXPECT_GE(options->generations, 1);
}

}  // namespace
}  // namespace headevo::server
