#include "worker/text_documents.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::worker {
namespace {

namespace fs = std::filesystem;

class TextDocumentsTest : public ::testing::Test {
 protected:
  void Write(const fs::path& relative, const std::string& contents) {
    fs::create_directories((dir_ / relative).parent_path());
    std::ofstream(dir_ / relative, std::ios::binary) << contents;
  }

  headevo::testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(TextDocumentsTest, DirectoryGivesOneDocumentPerNonEmptyVisibleFileRecursively) {
  Write("b.txt", "bee\n");
  Write("a/z.txt", "zed\n");
  Write("a/empty.txt", "");
  Write(".git/config", "hidden\n");
  Write(".hidden.txt", "hidden\n");
  ASSERT_OK_AND_ASSIGN(const std::vector<TextDocument> documents, ReadTextDocuments(dir_.string()));
  ASSERT_EQ(documents.size(), 2u);
  EXPECT_EQ(documents[0].name, "a/z.txt");
  EXPECT_EQ(documents[0].text, "zed\n");
  EXPECT_EQ(documents[1].name, "b.txt");
}

TEST_F(TextDocumentsTest, FileIsSplitIntoParagraphsAtBlankLines) {
  Write("book.txt", "one\nline two\n\n  \nsecond para\n\n\nthird");
  ASSERT_OK_AND_ASSIGN(const std::vector<TextDocument> documents,
                       ReadTextDocuments((dir_ / "book.txt").string()));
  ASSERT_EQ(documents.size(), 3u);
  EXPECT_EQ(documents[0].name, "book.txt#0");
  EXPECT_EQ(documents[0].text, "one\nline two\n");
  EXPECT_EQ(documents[1].text, "second para\n");
  EXPECT_EQ(documents[2].name, "book.txt#2");
  EXPECT_EQ(documents[2].text, "third\n");
}

TEST_F(TextDocumentsTest, MissingOrEmptyPathIsNotFoundNamingIt) {
  const std::string missing = (dir_ / "nowhere").string();
  const auto none = ReadTextDocuments(missing);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find(missing), std::string::npos) << none.status();
  const auto empty = ReadTextDocuments(dir_.string());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kNotFound);
}

std::set<std::string> HeldOutNames(const std::vector<TextDocument>& documents,
                                   const DocumentSplit& split) {
  std::set<std::string> names;
  for (const TextDocument& document : documents) {
    if (split.validation.find(document.text) != std::string::npos) names.insert(document.name);
  }
  return names;
}

TEST(SplitDocumentsTest, HoldsOutATenthChosenByNameAlone) {
  std::vector<TextDocument> documents;
  for (int i = 0; i < 40; ++i) {
    documents.push_back({"doc" + std::to_string(i), "<" + std::to_string(i) + ">"});
  }
  ASSERT_OK_AND_ASSIGN(const DocumentSplit split, SplitDocuments(documents, 1));
  EXPECT_EQ(split.validation_documents, 4);
  EXPECT_EQ(split.train_documents, 36);
  EXPECT_EQ(split.train.size() + split.validation.size(), [&] {
    size_t bytes = 0;
    for (const auto& d : documents) bytes += d.text.size() + 1;
    return bytes;
  }());
  std::vector<TextDocument> shuffled(documents.rbegin(), documents.rend());
  ASSERT_OK_AND_ASSIGN(const DocumentSplit again, SplitDocuments(shuffled, 1));
  EXPECT_EQ(HeldOutNames(documents, split), HeldOutNames(shuffled, again));
  EXPECT_EQ(HeldOutNames(documents, split).size(), 4u);
}

TEST(SplitDocumentsTest, HoldsOutMoreDocumentsUntilValidationIsLongEnough) {
  std::vector<TextDocument> documents;
  for (int i = 0; i < 10; ++i) documents.push_back({"d" + std::to_string(i), "abcd"});  // 5 bytes
  ASSERT_OK_AND_ASSIGN(const DocumentSplit split, SplitDocuments(documents, 12));
  EXPECT_EQ(split.validation_documents, 3);  // 15 bytes >= 12
  EXPECT_GE(split.validation.size(), 12u);
}

}  // namespace
}  // namespace headevo::worker
