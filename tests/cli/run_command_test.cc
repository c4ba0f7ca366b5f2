// Runs the real `headevo` binary in a temporary directory and checks what it printed and the
// database it left behind.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "storage/store.h"
#include "tests/testutil/image_fixtures.h"
#include "tests/testutil/status_matchers.h"

namespace headevo {
namespace {

namespace fs = std::filesystem;

// Small enough to train 12 candidates in seconds, large enough to be a real transformer.
constexpr const char* kTinyConfig = R"(
[search]
name = "tiny"
seed = 5
population = 4
generations = 2

[selection]
parents = 2

[model]
vocab_size = 8
d_model = 16
layers = 2
heads_per_layer = 3
d_head = 4
seq_len = 16

[task]
planted_offsets = [-1, -3]

[training]
steps = 15
batch_size = 8
eval_batches = 1

[initial]
window = 6

[pruning]
fraction = 0.34
)";

struct Ran {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class RunCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "headevo-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  static std::string Slurp(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Runs `headevo ARGS` (a `run` gets --threads 1) with the temporary directory as working
  // directory.
  Ran Headevo(const std::string& args) {
    const bool run = args.rfind("run ", 0) == 0;
    const std::string command = "cd '" + dir_.string() + "' && '" HEADEVO_BINARY "' " + args +
                                (run ? " --threads 1" : "") + " >stdout.txt 2>stderr.txt";
    const int status = std::system(command.c_str());
    Ran ran;
    ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ran.out = Slurp(dir_ / "stdout.txt");
    ran.err = Slurp(dir_ / "stderr.txt");
    return ran;
  }

  fs::path dir_;
};

TEST_F(RunCommandTest, BackupCopiesTheLineageAndNeverOverwrites) {
  Write("tiny.toml", kTinyConfig);
  ASSERT_EQ(Headevo("run tiny.toml -q").exit_code, 0);
  Ran ran = Headevo("backup headevo.db copy.db");
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  EXPECT_NE(ran.out.find("backed up headevo.db to copy.db"), std::string::npos) << ran.out;
  storage::StoreOptions read_only;
  read_only.read_only = true;
  ASSERT_OK_AND_ASSIGN(auto copy, storage::Store::Open((dir_ / "copy.db").string(), read_only));
  ASSERT_OK_AND_ASSIGN(auto candidates, copy->ListCandidates(1));
  EXPECT_EQ(candidates.size(), 12u);

  const std::string before = Slurp(dir_ / "copy.db");
  ran = Headevo("backup headevo.db copy.db");
  EXPECT_EQ(ran.exit_code, 1);
  EXPECT_NE(ran.err.find("copy.db"), std::string::npos) << ran.err;
  EXPECT_NE(ran.err.find("exists"), std::string::npos) << ran.err;
  EXPECT_EQ(Slurp(dir_ / "copy.db"), before);
  ran = Headevo("backup missing.db other.db");
  EXPECT_EQ(ran.exit_code, 1);
  EXPECT_NE(ran.err.find("missing.db"), std::string::npos) << ran.err;
  EXPECT_FALSE(fs::exists(dir_ / "other.db"));
}

TEST_F(RunCommandTest, TwoGenerationSearchLeavesAConsistentLineage) {
  Write("tiny.toml", kTinyConfig);
  const Ran ran = Headevo("run tiny.toml");
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;

  // One progress line per candidate, then the summary.
  int progress_lines = 0;
  std::istringstream lines(ran.out);
  for (std::string line; std::getline(lines, line);) progress_lines += line.rfind("[", 0) == 0;
  EXPECT_EQ(progress_lines, 12) << ran.out;
  EXPECT_NE(ran.out.find("best candidate #"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("dense attention, trained the same way"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("planted offsets {-1,-3}"), std::string::npos) << ran.out;

  // The database is in the working directory; read it as a user's query would.
  ASSERT_TRUE(fs::exists(dir_ / "headevo.db"));
  storage::StoreOptions read_only;
  read_only.read_only = true;
  ASSERT_OK_AND_ASSIGN(auto store, storage::Store::Open((dir_ / "headevo.db").string(), read_only));
  ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, store->GetSearch(1));
  EXPECT_EQ(search.name, "tiny");
  EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_DONE);
  EXPECT_EQ(search.config_toml, kTinyConfig) << "the config is stored exactly as written";
  ASSERT_OK_AND_ASSIGN(auto candidates, store->ListCandidates(1));
  ASSERT_EQ(candidates.size(), 12u);

  std::map<int64_t, headevo::v1::Candidate> by_id;
  for (const auto& c : candidates) by_id[c.id()] = c;
  for (const auto& c : candidates) {
    EXPECT_EQ(c.state(), headevo::v1::CANDIDATE_STATE_DONE) << c.error();
    EXPECT_TRUE(std::isfinite(c.metrics().val_loss()));
    EXPECT_EQ(c.head_stats_size(), c.genome().heads_size());
    if (c.generation() == 0) {
      EXPECT_EQ(c.parent_id(), 0);
      continue;
    }
    ASSERT_EQ(by_id.count(c.parent_id()), 1u)
        << "non-initial candidate " << c.id() << " has no parent in the search";
    const auto& parent = by_id[c.parent_id()];
    std::set<int64_t> parent_heads;
    for (const auto& h : parent.genome().heads()) parent_heads.insert(h.id());
    int inherited = 0, sampled = 0;
    for (const auto& head : c.genome().heads()) {
      ASSERT_OK_AND_ASSIGN(headevo::v1::Head first, store->GetHead(head.id()));
      if (head.origin() == headevo::v1::HEAD_ORIGIN_INHERITED) {
        ++inherited;
        EXPECT_EQ(parent_heads.count(head.id()), 1u)
            << "head " << head.id() << " of candidate " << c.id() << " claims inheritance "
            << "but is not a head of parent " << parent.id();
      } else {
        ++sampled;
        EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
        EXPECT_EQ(first.sampler(), headevo::v1::SAMPLER_UNIFORM);
        EXPECT_NE(first.sampler_params().find("uniform[-6,-1]"), std::string::npos);
      }
    }
    EXPECT_GT(inherited, 0);
    EXPECT_EQ(sampled, c.mutation().pruned_head_ids_size());
  }
}

TEST_F(RunCommandTest, RerunAddsAnIdenticalSearchAndKeepsTheFirst) {
  Write("tiny.toml", kTinyConfig);
  ASSERT_EQ(Headevo("run tiny.toml -q").exit_code, 0);
  storage::StoreOptions read_only;
  read_only.read_only = true;
  std::vector<headevo::v1::Candidate> first;
  {
    ASSERT_OK_AND_ASSIGN(auto store,
                         storage::Store::Open((dir_ / "headevo.db").string(), read_only));
    ASSERT_OK_AND_ASSIGN(first, store->ListCandidates(1));
  }
  const Ran again = Headevo("run tiny.toml -q");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("search 2"), std::string::npos) << again.out;
  ASSERT_OK_AND_ASSIGN(auto store, storage::Store::Open((dir_ / "headevo.db").string(), read_only));
  ASSERT_OK_AND_ASSIGN(auto still, store->ListCandidates(1));
  ASSERT_EQ(still.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(still[i].SerializeAsString(), first[i].SerializeAsString());
  }
  ASSERT_OK_AND_ASSIGN(auto second, store->ListCandidates(2));
  ASSERT_EQ(second.size(), first.size());

  // Same config and seed on CPU: the same lineage, up to the ids the database hands out.
  const int64_t shift = second[0].id() - first[0].id();
  for (size_t i = 0; i < first.size(); ++i) {
    const auto& a = first[i];
    const auto& b = second[i];
    EXPECT_EQ(b.generation(), a.generation());
    EXPECT_EQ(b.parent_id(), a.parent_id() == 0 ? 0 : a.parent_id() + shift);
    EXPECT_EQ(b.metrics().val_loss(), a.metrics().val_loss()) << "candidate " << b.id();
    ASSERT_EQ(b.genome().heads_size(), a.genome().heads_size());
    for (int slot = 0; slot < a.genome().heads_size(); ++slot) {
      EXPECT_EQ(b.genome().heads(slot).offsets().SerializeAsString(),
                a.genome().heads(slot).offsets().SerializeAsString());
      EXPECT_EQ(b.genome().heads(slot).origin(), a.genome().heads(slot).origin());
    }
  }
}

TEST_F(RunCommandTest, InheritingSearchKeepsOneCheckpointPerCandidateAndRunsBaselines) {
  std::string config = kTinyConfig;
  config.replace(config.find("generations = 2"), 15, "generations = 2\ninherit_weights = true");
  config += "\n[baselines]\nrun = [\"local\", \"random\"]\n";
  Write("inherit.toml", config);
  const Ran ran = Headevo("run inherit.toml");
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  EXPECT_NE(ran.out.find("checkpoints in headevo.db.checkpoints"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("local attention (window "), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("random heads (mean k "), std::string::npos) << ran.out;

  storage::StoreOptions read_only;
  read_only.read_only = true;
  const auto shas = [&](const std::string& db) {
    auto store = storage::Store::Open((dir_ / db).string(), read_only);
    EXPECT_TRUE(store.ok()) << store.status();
    auto candidates = (*store)->ListCandidates(1);
    EXPECT_TRUE(candidates.ok()) << candidates.status();
    std::vector<std::string> out;
    for (const auto& c : *candidates) out.push_back(c.checkpoint_sha256());
    return out;
  };
  const std::vector<std::string> first = shas("headevo.db");
  ASSERT_EQ(first.size(), 12u);
  for (const std::string& sha : first) {
    ASSERT_EQ(sha.size(), 64u);
    EXPECT_TRUE(fs::exists(dir_ / "headevo.db.checkpoints" / (sha + ".ckpt"))) << sha;
  }
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(), 12u);
  // Same config and seed into a fresh database (so the same head ids): every candidate,
  // inheriting children included, trains to the same bytes.
  ASSERT_EQ(Headevo("run inherit.toml -q --db again.db").exit_code, 0);
  EXPECT_EQ(shas("again.db"), first);
}

// The image_pixels task end to end through `headevo run`, on a miniature of the mnist package
// written here (no network, no cache): candidates, dense and the three image-minded baselines
// train, and the summary gives bits per pixel.
TEST_F(RunCommandTest, ImagePixelsSearchOnFixtureDigitsReportsBitsPerPixel) {
  headevo::testing::WriteMnistFixture(dir_ / "mnist", 2);
  const auto config = [&](const std::string& mnist_dir) {
    return R"(
[search]
name = "digits"
population = 3
generations = 1
compare_with_dense = true

[selection]
parents = 2

[model]
vocab_size = 8
d_model = 16
layers = 1
heads_per_layer = 2
d_head = 4
seq_len = 56

[task]
kind = "image_pixels"
levels = 8
mnist_dir = ")" + (dir_ / mnist_dir).string() + R"("

[training]
steps = 4
batch_size = 4
eval_batches = 1

[initial]
window = 30

[baselines]
run = ["strided", "dilated", "window_random"]
)";
  };
  Write("digits.toml", config("mnist"));
  const Ran ran = Headevo("run digits.toml");
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  EXPECT_NE(ran.out.find("bits per pixel"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("strided attention (stride 28), trained"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("dilated attention (offsets -1, -2, -4, ...), trained"),
            std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("window + random (window "), std::string::npos) << ran.out;
  EXPECT_EQ(ran.out.find("baseline failed"), std::string::npos) << ran.out;

  // A directory without the digits is named, with the script that fetches them.
  Write("nodigits.toml", config("none"));
  const Ran missing = Headevo("run nodigits.toml -q --db missing.db");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE((missing.out + missing.err).find("fetch_mnist.sh"), std::string::npos)
      << missing.out << missing.err;
}

TEST_F(RunCommandTest, BadConfigNamesFileLineAndKeyAndWritesNothing) {
  Write("bad.toml", "[search]\npopulation = 4\n\n[model]\nd_modle = 16\n");
  const Ran ran = Headevo("run bad.toml");
  EXPECT_EQ(ran.exit_code, 2);
  EXPECT_NE(ran.err.find("bad.toml:5:"), std::string::npos) << ran.err;
  EXPECT_NE(ran.err.find("model.d_modle"), std::string::npos) << ran.err;
  EXPECT_FALSE(fs::exists(dir_ / "headevo.db")) << "a rejected config must not create a database";
}

TEST_F(RunCommandTest, MissingConfigAndUnwritableDatabaseAreExplained) {
  Ran ran = Headevo("run nowhere.toml");
  EXPECT_EQ(ran.exit_code, 2);
  EXPECT_NE(ran.err.find("nowhere.toml"), std::string::npos) << ran.err;

  Write("tiny.toml", kTinyConfig);
  ran = Headevo("run tiny.toml --db no/such/dir/x.db");
  EXPECT_EQ(ran.exit_code, 1);
  EXPECT_NE(ran.err.find("no/such/dir/x.db"), std::string::npos) << ran.err;
}

TEST_F(RunCommandTest, BadDeviceIsRefusedBeforeTheDatabaseIsCreated) {
  Write("tiny.toml", kTinyConfig);
  const Ran ran = Headevo("run tiny.toml --device tpu7");
  EXPECT_EQ(ran.exit_code, 2);
  EXPECT_NE(ran.err.find("tpu7"), std::string::npos) << ran.err;
  EXPECT_FALSE(fs::exists(dir_ / "headevo.db"));
}

TEST_F(RunCommandTest, DashboardServesWhileTheSearchRunsAndOnlyOnLoopback) {
  Write("tiny.toml", kTinyConfig);
  Ran ran = Headevo("run tiny.toml --http-listen 0.0.0.0:0");
  EXPECT_EQ(ran.exit_code, 2);
  EXPECT_NE(ran.err.find("--insecure"), std::string::npos) << ran.err;
  EXPECT_FALSE(fs::exists(dir_ / "headevo.db")) << "refused before the database is created";

  // Its threads start beside LibTorch's in this process, and stop with the search.
  ran = Headevo("run tiny.toml --http-listen 127.0.0.1:0");
  EXPECT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_NE(ran.out.find("headevo run: dashboard on http://127.0.0.1:"), std::string::npos)
      << ran.out;
}

TEST_F(RunCommandTest, HelpTeachesTheCommand) {
  const Ran ran = Headevo("run --help");
  EXPECT_EQ(ran.exit_code, 0);
  EXPECT_NE(ran.out.find("--db"), std::string::npos);
  EXPECT_NE(ran.out.find("quickstart.toml"), std::string::npos) << ran.out;
}

}  // namespace
}  // namespace headevo
