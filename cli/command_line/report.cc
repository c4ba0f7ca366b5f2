// `headevo report`: flags and help.
#include <memory>

#include "cli/command_line/client_options.h"
#include "cli/command_line/registrations.h"
#include "cli/report_command.h"

namespace headevo::cli {

void RegisterReport(CommandTable& commands) {
  struct Flags {
    ClientFlags client;
    ReportFlags report;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* report = commands.Add(
      "report",
      "Write one self-contained HTML page about a search (DIR/index.html; styles, figures and\n"
      "script inline, nothing fetched from the network) to open in any browser or attach to a\n"
      "message. A summary table (state, config, counts, best candidate) and five figures, each\n"
      "with a caption saying how to read it:\n"
      "  1. fitness over time: every candidate's val_loss, the best so far, failures marked;\n"
      "  2. the Pareto front: val_loss against connections per query;\n"
      "  3. the best candidate's lineage tree back to generation 0 (Graphviz);\n"
      "  4. surviving offsets per layer: how long heads with each offset lived (heat map);\n"
      "  5. sampler usage: heads each sampler made per generation, and how many reached the\n"
      "     best candidates (with --db, also the adaptive sampler's bandit arms);\n"
      "and, when the search uses them, learning curves across [fidelity] rungs and what the\n"
      "learned sampler (\"policy\") learned: its offset-bin distribution per layer over time.\n"
      "Needs gnuplot (Debian: gnuplot-nox) and dot (Debian: graphviz) on PATH.\n\n"
      "Examples:  headevo report 1 --db headevo.db --out report && xdg-open report/index.html\n"
      "           headevo report 3 --coordinator 10.0.0.5:50051 --tls-ca ca.pem --out r3",
      [flags] { return ReportCommand(flags->client, flags->report); });
  report->add_option("search", flags->report.search_id, "The search id")->required();
  report
      ->add_option("--out", flags->report.out_dir,
                   "Directory to write index.html into (created if absent; an existing "
                   "index.html is replaced)")
      ->capture_default_str();
  AddClientFlags(report, flags->client, /*offline=*/true);
}

}  // namespace headevo::cli
