// `headevo report`: a real (tiny) search run by the real binary, its report written, checked as
// text, then opened in headless Chromium, which must lay out every figure (the page's own
// script marks each figure data-rendered="yes" when its SVG has a non-empty box) and take a
// screenshot. Skipped only where Chromium is not installed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/external_tool.h"
#include "cli/report_charts.h"
#include "cli/report_figures.h"
#include "cli/report_page.h"
#include "storage/store.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"

namespace headevo {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::Slurp;

constexpr const char* kChromium = "/usr/bin/chromium";
const char* const kFigureIds[] = {"fitness", "pareto", "lineage", "survival", "samplers", "policy"};

// One search for the whole file: 4 candidates x 3 generations, the adaptive sampler (so every
// sampler, the bandit's arms and the offset policy show up), pruning a third of the heads.
class ReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::ofstream(dir_->File("tiny.toml"))
        << testing::TinySearchConfig("name = \"tiny\"\nseed = 5\npopulation = 4\ngenerations = 2")
        << "\n[pruning]\nfraction = 0.34\n\n[resampling]\nsampler = \"adaptive\"\n"
        << "arms = [\"uniform\", \"best\", \"fitted\", \"policy\"]\n";
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

  // Headless Chromium's command line, its profile in `profile`, before the page's flags.
  static std::vector<std::string> Headless(const std::string& profile) {
    return {kChromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=" + profile};
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
  // The offset policy's bins: one cell per (layer, bin, snapshot), from update 0 on.
  EXPECT_GT(Count(FigureText(page, "policy"), "<path"), 6u);
  EXPECT_NE(FigureText(page, "policy").find("L1 2-3"), std::string::npos);
  // One rung (no [fidelity]): every candidate is one point at the same step count, so there
  // is no learning-curves figure and no rung row.
  EXPECT_TRUE(FigureText(page, "curves").empty());
  EXPECT_EQ(page.find("<th>Rungs</th>"), std::string::npos);
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
  const std::vector<std::string> headless = Headless(out.File("profile"));

  std::vector<std::string> dump = headless;
  dump.push_back("--dump-dom");
  dump.push_back("file://" + (dir / "index.html").string());
  std::string dom;
  ASSERT_EQ(RunCommand(dump, &dom, std::chrono::seconds(60)), 0) << dom;
  EXPECT_NE(dom.find("data-figures-rendered=\"6\""), std::string::npos) << dom.substr(0, 2000);
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
  ASSERT_GT(png.size(), 50000u) << "a screenshot of six figures should not be this small";
  EXPECT_EQ(png.substr(1, 3), "PNG");
  if (const char* keep = std::getenv("HEADEVO_KEEP_REPORT")) {
    fs::copy(dir, keep, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
}

// A search with rungs of 10 and 30 steps, run by the real binary: the report has the
// learning-curves figure, one legend entry per rung a candidate stopped at, with as many
// candidates as the database holds at that rung, drawn in that rung's colour; the summary
// lists each rung's finishers and the compute committed against budget_steps.
TEST_F(ReportTest, MultiFidelitySearchHasLearningCurvesAndRungs) {
  testing::TempDir dir;
  std::ofstream(dir.File("rungs.toml"))
      << testing::TinySearchConfig(
             "name = \"rungs\"\nseed = 7\npopulation = 4\ngenerations = 2\n"
             "compare_with_dense = false\nbudget_steps = 1000",
             /*parents=*/2, /*steps=*/30)
      << "\n[fidelity]\nenabled = true\nmin_steps = 10\nreduction_factor = 3\n";
  const std::string db = dir.File("rungs.db");
  std::string output;
  ASSERT_EQ(RunCommand({HEADEVO_BINARY, "run", dir.File("rungs.toml"), "--db", db, "--quiet"},
                       &output, std::chrono::seconds(120)),
            0)
      << output;
  const fs::path out = dir.path() / "report";
  ASSERT_EQ(RunCommand({HEADEVO_BINARY, "report", "1", "--db", db, "--out", out}, &output,
                       std::chrono::seconds(60)),
            0)
      << output;
  const std::string page = Slurp(out / "index.html");

  // What the database says: candidates by the highest rung they finished.
  int at_rung[2] = {0, 0};
  {
    absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(db);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::vector<headevo::v1::Candidate>> candidates = (*store)->ListCandidates(1);
    ASSERT_TRUE(candidates.ok()) << candidates.status();
    for (const headevo::v1::Candidate& c : *candidates) {
      if (c.state() != headevo::v1::CANDIDATE_STATE_DONE) continue;
      ASSERT_EQ(c.rungs_size(), c.rung() + 1) << c.DebugString();
      ASSERT_LT(c.rung(), 2);
      ++at_rung[c.rung()];
    }
  }
  ASSERT_GT(at_rung[1], 0) << "ASHA promoted the top third of rung 0";

  const std::string curves = FigureText(page, "curves");
  ASSERT_FALSE(curves.empty()) << "no learning-curves figure";
  EXPECT_NE(curves.find("<svg"), std::string::npos);
  EXPECT_LT(page.find("id=\"pareto\""), page.find("id=\"curves\"")) << "after the front";
  const std::string colour[] = {"rgb(187, 187, 187)", "rgb( 68, 119, 170)"};  // #bbbbbb, #4477aa
  EXPECT_EQ(cli::RungColour(0), "#bbbbbb");
  EXPECT_EQ(cli::RungColour(1), "#4477aa");
  for (int r = 0; r < 2; ++r) {
    const std::string legend =
        absl::StrCat("rung ", r, " = ", r == 0 ? 10 : 30, " steps (", at_rung[r],
                     at_rung[r] == 1 ? " candidate)" : " candidates)");
    EXPECT_EQ(Count(curves, legend), 1u) << legend << " in\n" << curves.substr(0, 3000);
    // The curves and their legend sample in the rung's colour.
    EXPECT_GE(Count(curves, "stroke='" + colour[r] + "'"), 2u) << colour[r];
  }
  EXPECT_NE(curves.find("best candidate #"), std::string::npos);
  EXPECT_EQ(curves.find("no evaluated candidate yet"), std::string::npos);
  if (fs::exists(kChromium)) {  // laid out by a browser, like the other figures
    std::vector<std::string> dump = Headless(dir.File("profile"));
    dump.push_back("--dump-dom");
    dump.push_back("file://" + (out / "index.html").string());
    std::string dom;
    ASSERT_EQ(RunCommand(dump, &dom, std::chrono::seconds(60)), 0) << dom;
    EXPECT_NE(dom.find("data-figures-rendered=\"6\""), std::string::npos) << dom.substr(0, 2000);
    EXPECT_NE(FigureText(dom, "curves").find("data-rendered=\"yes\""), std::string::npos);
  }

  // The summary: each rung's finishers (a candidate at rung 1 finished rung 0 too) and the
  // compute committed against the budget.
  EXPECT_NE(page.find(absl::StrCat("<th>Rungs</th><td>rung 0 = 10 steps: ", at_rung[0] + at_rung[1],
                                   " finished; rung 1 = 30 steps: ", at_rung[1], " finished</td>")),
            std::string::npos)
      << page.substr(0, 4000);
  // 12 first-rung jobs of 10 steps and a promotion of 20 more per candidate at rung 1 (the
  // tiny model's promotions do not fail, so every promotion made is a candidate at rung 1).
  EXPECT_NE(page.find(absl::StrCat("<th>Compute</th><td>", 10 * 12 + 20 * at_rung[1],
                                   " of 1000 training steps committed</td>")),
            std::string::npos)
      << page.substr(0, 4000);
}

// The chart's script, without gnuplot: one datablock per highest rung, a blank line between
// two candidates' curves, each rung in its own colour under its own legend entry, the best on
// top; one rung draws nothing.
TEST(LearningCurvesScriptTest, OneCurvePerCandidateColouredByItsHighestRung) {
  cli::ReportData data;
  for (int steps : {10, 30, 90}) data.summary.add_rung_steps(steps);
  data.summary.set_best_candidate_id(3);
  // Candidate id -> its val_loss at each rung it finished.
  const std::vector<std::pair<int64_t, std::vector<double>>> curves = {
      {3, {2.2, 1.9, 1.7}}, {1, {2.3, 2.1}}, {4, {2.4, 2.2}}, {2, {2.5}}, {5, {2.6}}, {6, {2.7}}};
  for (const auto& [id, losses] : curves) {
    headevo::v1::Candidate& c = data.evaluated.emplace_back();
    c.set_id(id);
    c.set_state(headevo::v1::CANDIDATE_STATE_DONE);
    c.set_rung(static_cast<int>(losses.size()) - 1);
    for (size_t r = 0; r < losses.size(); ++r) {
      headevo::v1::RungResult& result = *c.add_rungs();
      result.set_rung(static_cast<int>(r));
      result.set_steps(data.summary.rung_steps(static_cast<int>(r)));
      result.set_val_loss(losses[r]);
    }
  }
  ASSERT_TRUE(cli::ShowsLearningCurves(data));
  const std::string script = cli::LearningCurvesScript(data);
  // The datablock of rung r, without its header and terminator.
  auto block = [&script](const std::string& name) {
    const size_t start = script.find("$" + name + " << EOD\n");
    if (start == std::string::npos) return std::string("absent");
    const size_t body = script.find('\n', start) + 1;
    return script.substr(body, script.find("EOD\n", body) - body);
  };
  EXPECT_EQ(block("rung0"), "10 2.5\n\n10 2.6\n\n10 2.7\n");
  EXPECT_EQ(block("rung1"), "10 2.3\n30 2.1\n\n10 2.4\n30 2.2\n");
  EXPECT_EQ(block("rung2"), "10 2.2\n30 1.9\n90 1.7\n");
  EXPECT_EQ(block("best"), "10 2.2\n30 1.9\n90 1.7\n");
  const std::string legends[] = {"title 'rung 0 = 10 steps (3 candidates)'",
                                 "title 'rung 1 = 30 steps (2 candidates)'",
                                 "title 'rung 2 = 90 steps (1 candidate)'"};
  size_t previous = 0;
  for (int r = 0; r < 3; ++r) {
    const size_t at = script.find(absl::StrCat("$rung", r, " using 1:2 with linespoints"));
    ASSERT_NE(at, std::string::npos) << r << "\n" << script;
    EXPECT_GT(at, previous) << "lower rungs first, so the higher ones lie on top";
    previous = at;
    const std::string plot = script.substr(at, script.find('\n', at) - at);
    EXPECT_NE(plot.find("lc rgb '" + cli::RungColour(r) + "'"), std::string::npos) << plot;
    EXPECT_NE(plot.find(legends[r]), std::string::npos) << plot;
  }
  EXPECT_GT(script.find("$best using"), previous) << "the best is drawn last";
  EXPECT_NE(script.find("set logscale x\nset xtics (10, 30, 90)\n"), std::string::npos);
  EXPECT_NE(cli::RungColour(0), cli::RungColour(1));
  EXPECT_NE(cli::RungColour(1), cli::RungColour(2));

  // A rung nobody reached yet has no legend entry; one rung is no figure at all.
  data.evaluated.erase(data.evaluated.begin());
  EXPECT_EQ(cli::LearningCurvesScript(data).find("$rung2"), std::string::npos);
  data.summary.clear_rung_steps();
  data.summary.add_rung_steps(10);
  EXPECT_FALSE(cli::ShowsLearningCurves(data));
}

// The summary table with rungs and a compute budget, and without either.
TEST(ReportPageTest, SummaryShowsRungsAndComputeOnlyWithFidelityOrABudget) {
  cli::ReportData data;
  data.summary.add_rung_steps(10);
  data.summary.add_rung_steps(30);
  data.summary.add_rung_finished(9);
  data.summary.add_rung_finished(3);
  data.summary.set_steps_committed(180);
  std::string page = cli::ReportPage(data, {}, "test");
  EXPECT_NE(page.find("<th>Rungs</th><td>rung 0 = 10 steps: 9 finished; rung 1 = 30 steps: 3 "
                      "finished</td>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<th>Compute</th><td>180 training steps committed (no budget_steps "
                      "limit)</td>"),
            std::string::npos);
  data.summary.set_budget_steps(500);
  page = cli::ReportPage(data, {}, "test");
  EXPECT_NE(page.find("<th>Compute</th><td>180 of 500 training steps committed</td>"),
            std::string::npos);

  data.summary.clear_rung_steps();
  data.summary.clear_rung_finished();
  data.summary.add_rung_steps(30);
  data.summary.set_budget_steps(0);
  page = cli::ReportPage(data, {}, "test");
  EXPECT_EQ(page.find("<th>Rungs</th>"), std::string::npos);
  EXPECT_EQ(page.find("<th>Compute</th>"), std::string::npos);
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
