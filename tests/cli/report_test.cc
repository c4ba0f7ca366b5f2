// `headevo report`: a real (tiny) search run by the real binary, its report written, checked as
// text, then opened in headless Chromium, which must lay out every figure (the page's own
// script marks each figure data-rendered="yes" when its SVG has a non-empty box) and take a
// screenshot. Skipped only where Chromium is not installed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/external_tool.h"
#include "cli/report_figures.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"

namespace headevo {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::Slurp;

constexpr const char* kChromium = "/usr/bin/chromium";
const char* const kFigureIds[] = {"fitness", "pareto", "lineage", "survival", "samplers"};

// One search for the whole file: 4 candidates x 3 generations, the adaptive sampler (so every
// sampler and the bandit's arms show up), pruning a third of the heads.
class ReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::ofstream(dir_->File("tiny.toml"))
        << testing::TinySearchConfig("name = \"tiny\"\nseed = 5\npopulation = 4\ngenerations = 2")
        << "\n[pruning]\nfraction = 0.34\n\n[resampling]\nsampler = \"adaptive\"\n";
    std::string output;
    const int code =
        RunCommand({HEADEVO_BINARY, "run", dir_->File("tiny.toml"), "--db", Db(), "--quiet"},
                   &output, std::chrono::seconds(120));
    ASSERT_EQ(code, 0) << output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Db() { return dir_->File("search.db"); }

  // Runs `headevo report 1 --db DB --out DIR`, expecting success; the page's text.
  static std::string Report(const fs::path& out) {
    std::string output;
    const int code = RunCommand({HEADEVO_BINARY, "report", "1", "--db", Db(), "--out", out},
                                &output, std::chrono::seconds(60));
    EXPECT_EQ(code, 0) << output;
    EXPECT_NE(output.find("index.html"), std::string::npos) << output;
    return Slurp(out / "index.html");
  }

  // The text of <figure ... id="ID"> up to its </figure>; "" when absent.
  static std::string FigureText(const std::string& page, const std::string& id) {
    const size_t start = page.find("<figure class=\"headevo-figure\" id=\"" + id + "\"");
    if (start == std::string::npos) return "";
    return page.substr(start, page.find("</figure>", start) - start);
  }

  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t i = text.find(what); i != std::string::npos; i = text.find(what, i + 1)) ++n;
    return n;
  }

  static testing::TempDir* dir_;
};
testing::TempDir* ReportTest::dir_ = nullptr;

TEST_F(ReportTest, WritesEveryFigureAsInlineSvg) {
  testing::TempDir out;
  const std::string page = Report(out.path() / "report");
  ASSERT_FALSE(page.empty());
  for (const char* id : kFigureIds) {
    const std::string figure = FigureText(page, id);
    ASSERT_FALSE(figure.empty()) << "no figure " << id;
    EXPECT_NE(figure.find("<svg"), std::string::npos) << id;
    EXPECT_NE(figure.find("<figcaption>"), std::string::npos) << id;
    EXPECT_EQ(figure.find("<?xml"), std::string::npos) << id << ": prolog left in";
  }
  // Plot elements, not an empty frame: gnuplot draws data as paths and point symbols (<use>),
  // Graphviz draws each candidate as a node group.
  EXPECT_GT(Count(FigureText(page, "fitness"), "<use "), 12u);
  EXPECT_GT(Count(FigureText(page, "pareto"), "<use "), 12u);
  EXPECT_GE(Count(FigureText(page, "lineage"), "class=\"node\""), 3u);
  EXPECT_GT(Count(FigureText(page, "survival"), "<path"), 6u);
  EXPECT_GT(Count(FigureText(page, "samplers"), "<path"), 6u);
  EXPECT_NE(FigureText(page, "samplers").find("adaptive arm"), std::string::npos);
  EXPECT_EQ(page.find("no evaluated candidate yet"), std::string::npos);
  // The dense model the config compares with is a reference model of the search.
  EXPECT_NE(page.find("dense attention (reference #"), std::string::npos);
  // Self-contained: nothing is fetched.
  for (const char* fetch : {"<link", "src=\"http", "src='http", "@import", "href=\"http"}) {
    EXPECT_EQ(page.find(fetch), std::string::npos) << fetch;
  }
  // Scratch files of gnuplot and dot are gone.
  for (const auto& entry : fs::directory_iterator(out.path() / "report")) {
    EXPECT_EQ(entry.path().filename(), "index.html");
  }
}

TEST_F(ReportTest, ChromiumRendersEveryFigure) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " is not installed (Debian: chromium)";
  testing::TempDir out;
  const fs::path dir = out.path() / "report";
  Report(dir);
  const std::vector<std::string> headless = {kChromium,
                                             "--headless",
                                             "--no-sandbox",
                                             "--disable-gpu",
                                             "--disable-quic",
                                             "--no-first-run",
                                             "--disable-background-networking",
                                             "--disable-component-update",
                                             "--disable-sync",
                                             "--user-data-dir=" + out.File("profile")};

  std::vector<std::string> dump = headless;
  dump.push_back("--dump-dom");
  dump.push_back("file://" + (dir / "index.html").string());
  std::string dom;
  ASSERT_EQ(RunCommand(dump, &dom, std::chrono::seconds(60)), 0) << dom;
  EXPECT_NE(dom.find("data-figures-rendered=\"5\""), std::string::npos) << dom.substr(0, 2000);
  for (const char* id : kFigureIds) {
    const std::string figure = FigureText(dom, id);
    ASSERT_FALSE(figure.empty()) << id;
    EXPECT_NE(figure.find("data-rendered=\"yes\""), std::string::npos)
        << id << ": " << figure.substr(0, 300);
    // The browser laid out the plot's shapes and texts, not just an empty canvas.
    const size_t drawn_at = figure.find("data-drawn=\"");
    ASSERT_NE(drawn_at, std::string::npos) << id;
    EXPECT_GE(std::stoi(figure.substr(drawn_at + 12)), 10) << id << ": " << figure.substr(0, 300);
  }

  std::vector<std::string> shot = headless;
  shot.push_back("--screenshot=" + (dir / "report.png").string());
  shot.push_back("--window-size=1280,4000");
  shot.push_back("file://" + (dir / "index.html").string());
  std::string log;
  ASSERT_EQ(RunCommand(shot, &log, std::chrono::seconds(60)), 0) << log;
  const std::string png = Slurp(dir / "report.png");
  ASSERT_GT(png.size(), 50000u) << "a screenshot of five figures should not be this small";
  EXPECT_EQ(png.substr(1, 3), "PNG");
  if (const char* keep = std::getenv("HEADEVO_KEEP_REPORT")) {
    fs::copy(dir, keep, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
}

TEST_F(ReportTest, UnknownSearchIsAClearError) {
  testing::TempDir out;
  std::string output;
  const int code = RunCommand(
      {HEADEVO_BINARY, "report", "99", "--db", Db(), "--out", out.File("report")}, &output);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("search 99 not found"), std::string::npos) << output;
  EXPECT_NE(output.find("headevo status --db"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(out.path() / "report" / "index.html"));
}

TEST_F(ReportTest, UnwritableOutputDirectoryIsAClearError) {
  testing::TempDir out;
  std::ofstream(out.File("file")) << "in the way";
  std::string output;
  const int code = RunCommand(
      {HEADEVO_BINARY, "report", "1", "--db", Db(), "--out", out.File("file") + "/report"},
      &output);
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find("cannot create the output directory"), std::string::npos) << output;
}

TEST(ExternalToolTest, MissingProgramNamesItsPackage) {
  testing::TempDir scratch;
  absl::StatusOr<std::string> out = cli::RunTool({"headevo-no-such-plotter", "headevo-plotter-pkg"},
                                                 {}, "", scratch.path().string());
  ASSERT_TRUE(absl::IsNotFound(out.status())) << out.status();
  EXPECT_NE(out.status().message().find("headevo-no-such-plotter not found"), std::string::npos);
  EXPECT_NE(out.status().message().find("apt-get install headevo-plotter-pkg"), std::string::npos);
}

TEST(ExternalToolTest, FailingProgramReportsItsExitStatusAndStderr) {
  testing::TempDir scratch;
  absl::StatusOr<std::string> out =
      cli::RunTool({"sh", "dash"}, {"-c", "echo broken >&2; exit 3"}, "", scratch.path().string());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("exit status 3"), std::string::npos) << out.status();
  EXPECT_NE(out.status().message().find("broken"), std::string::npos) << out.status();
}

TEST(ExternalToolTest, PassesStdinAndReturnsStdout) {
  testing::TempDir scratch;
  absl::StatusOr<std::string> out =
      cli::RunTool({"cat", "coreutils"}, {}, "hello\n", scratch.path().string());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "hello\n");
}

TEST(InlineSvgTest, PrefixesIdsAndTheirReferences) {
  absl::StatusOr<std::string> svg = cli::InlineSvg(
      "<?xml version=\"1.0\"?>\n<!DOCTYPE svg>\n<svg><defs><path id='gpPt0' d='M0,0'/></defs>"
      "<use xlink:href='#gpPt0'/><g clip-path=\"url(#gpPt0)\"/><a href=\"#elsewhere\"/></svg>",
      "fig");
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_EQ(*svg,
            "<svg><defs><path id='fig-gpPt0' d='M0,0'/></defs><use xlink:href='#fig-gpPt0'/>"
            "<g clip-path=\"url(#fig-gpPt0)\"/><a href=\"#elsewhere\"/></svg>");
  EXPECT_FALSE(cli::InlineSvg("not svg", "fig").ok());
}

}  // namespace
}  // namespace headevo
