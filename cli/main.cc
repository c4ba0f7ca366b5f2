// headevo: evolutionary search over sparse attention heads. Thin: each subcommand's flags and
// the command it calls are registered by one function (cli/command_line/registrations.h).
#include <CLI/CLI.hpp>

#include "cli/command_line/command_table.h"
#include "cli/command_line/registrations.h"
#include "worker/allocator_tuning.h"
#include "worker/thread_tuning.h"

namespace {

constexpr char kAbout[] =
    "headevo: evolutionary search over sparse attention heads.\n\n"
    "A sparse head attends to a small set of relative offsets (k per query), so it costs\n"
    "O(n*k) instead of O(n^2). headevo trains candidate models, ranks every head (attention\n"
    "entropy, independence, output-weight norm, gate importance), prunes the worst, resamples\n"
    "replacements, and records every candidate and every head's lineage in SQLite.\n\n"
    "One process:   headevo run examples/quickstart.toml\n"
    "A cluster:     headevo serve --db search.db            (on the coordinator host)\n"
    "               headevo worker --coordinator HOST:50051 (on each GPU host)\n"
    "               headevo launch examples/quickstart.toml --watch\n"
    "Look around:   headevo status | candidates 1 | candidate 42 | lineage 42 | head 7 |\n"
    "               pareto 1 | workers | config 1\n"
    "               headevo report 1 --out report   (an HTML page with figures)\n"
    "               (add --db FILE to read a database without a coordinator)\n"
    "Into Python:   headevo export-model 42 --db search.db -o model.pt  (python/headevo)\n"
    "Clean up:      headevo delete 1 --yes   (a finished search and its checkpoints)";

}  // namespace

int main(int argc, char** argv) {
  headevo::worker::RestartWithSleepingOpenMpThreads(argv);
  headevo::worker::KeepFreedMemoryInProcess();
  CLI::App app{kAbout, "headevo"};
  app.require_subcommand(1);

  using namespace headevo::cli;
  CommandTable commands(app);  // --help lists the subcommands in this order
  RegisterRun(commands);
  RegisterServe(commands);
  RegisterWorker(commands);
  RegisterLaunch(commands);
  RegisterStatus(commands);
  RegisterWatch(commands);
  RegisterPauseResumeStop(commands);
  RegisterCandidates(commands);
  RegisterLineage(commands);
  RegisterHead(commands);
  RegisterPareto(commands);
  RegisterExport(commands);
  RegisterExportModel(commands);
  RegisterCandidate(commands);
  RegisterCurve(commands);
  RegisterWorkers(commands);
  RegisterConfig(commands);
  RegisterDelete(commands);
  RegisterReport(commands);
  RegisterBackup(commands);
  RegisterProbe(commands);

  CLI11_PARSE(app, argc, argv);
  return commands.RunParsed();
}
