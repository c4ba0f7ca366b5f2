// What a client reads about searches, from a coordinator or (--db) a database file: status,
// candidates, lineage, head, pareto, export.
#include <cstdint>
#include <memory>
#include <string>

#include "cli/client_commands.h"
#include "cli/command_line/client_options.h"
#include "cli/command_line/registrations.h"

namespace headevo::cli {
void RegisterStatus(CommandTable& commands) {
  auto flags = std::make_shared<OneSearchFlags>();
  CLI::App* status = commands.Add(
      "status",
      "Every search in a table, or one search in detail.\n\nExamples:  headevo status\n"
      "           headevo status 3 --db search.db",
      [flags] { return StatusCommand(flags->client, flags->search_id); });
  status->add_option("search", flags->search_id, "A search id (omit for all)");
  AddClientFlags(status, flags->client, /*offline=*/true);
}

void RegisterCandidates(CommandTable& commands) {
  struct Flags {
    ClientFlags client;
    CandidatesFlags candidates;
  };
  auto flags = std::make_shared<Flags>();
  CandidatesFlags& f = flags->candidates;
  CLI::App* candidates =
      commands.Add("candidates",
                   "List a search's candidates, filtered and paged.\n\nExample:  headevo "
                   "candidates 3 --state done --order loss --limit 10",
                   [flags] { return CandidatesCommand(flags->client, flags->candidates); });
  candidates->add_option("search", f.search_id, "The search id")->required();
  candidates->add_option("--state", f.state, "pending, running, done or failed");
  candidates->add_option("--generation", f.generation, "G or A:B");
  candidates->add_option("--order", f.order, "id or loss")->capture_default_str();
  candidates->add_option("--limit", f.limit, "Rows per page (at most 1000)")->capture_default_str();
  candidates->add_option("--page-token", f.page_token, "The token the previous page printed");
  AddClientFlags(candidates, flags->client, /*offline=*/true);
}

void RegisterLineage(CommandTable& commands) {
  struct Flags {
    ClientFlags client;
    int64_t candidate_id = 0;
    std::string format = "tree";
    int descendants = 0;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* lineage =
      commands.Add("lineage",
                   "Where a candidate came from: its ancestors to the root, each with the heads\n"
                   "pruned and added. --format dot draws it with Graphviz.\n\nExamples:  headevo "
                   "lineage 42\n           headevo lineage 42 --format dot | dot -Tsvg > 42.svg",
                   [flags] {
                     return LineageCommand(flags->client, flags->candidate_id, flags->format,
                                           flags->descendants);
                   });
  lineage->add_option("candidate", flags->candidate_id, "The candidate id")->required();
  lineage->add_option("--format", flags->format, "tree, dot or json")->capture_default_str();
  lineage->add_option("--descendants", flags->descendants,
                      "Also its descendants, this many levels down (-1: all)");
  AddClientFlags(lineage, flags->client, /*offline=*/true);
}

void RegisterHead(CommandTable& commands) {
  struct Flags {
    ClientFlags client;
    int64_t head_id = 0;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* head = commands.Add(
      "head",
      "A head's history: where it was made (sampler, source), every candidate that\n"
      "carried it with its statistics, who pruned it; for a head the growth sampler\n"
      "widened, how it grew (predicted vs measured loss change) and from which heads.\n\n"
      "Example:  headevo head 7",
      [flags] { return HeadCommand(flags->client, flags->head_id); });
  head->add_option("head", flags->head_id, "The head id")->required();
  AddClientFlags(head, flags->client, /*offline=*/true);
}

void RegisterPareto(CommandTable& commands) {
  auto flags = std::make_shared<OneSearchFlags>();
  CLI::App* pareto =
      commands.Add("pareto",
                   "The loss-vs-connections Pareto front of a search, as a table and a plot.\n\n"
                   "Example:  headevo pareto 3 --db search.db",
                   [flags] { return ParetoCommand(flags->client, flags->search_id); });
  pareto->add_option("search", flags->search_id, "The search id")->required();
  AddClientFlags(pareto, flags->client, /*offline=*/true);
}

void RegisterExport(CommandTable& commands) {
  struct Flags {
    ClientFlags client;
    int64_t search_id = 0;
    int count = 1;
    std::string output;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* export_command = commands.Add(
      "export",
      "Write a search's best genome(s) as JSON, which `run --start-from` and\n"
      "`launch --start-from` accept as a starting population.\n\nExample:  headevo "
      "export 3 -o best.json && headevo run next.toml --start-from best.json",
      [flags] {
        return ExportCommand(flags->client, flags->search_id, flags->count, flags->output);
      });
  export_command->add_option("search", flags->search_id, "The search id")->required();
  export_command->add_option("--count", flags->count, "How many of the best")
      ->capture_default_str();
  export_command->add_option("-o,--output", flags->output, "File to write (default: stdout)");
  AddClientFlags(export_command, flags->client, /*offline=*/true);
}

}  // namespace headevo::cli
