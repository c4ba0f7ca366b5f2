// One candidate, the workers, a search's config, and deleting a search: from a coordinator or
// (--db) a database file.
#include <cstdint>
#include <memory>
#include <string>

#include "cli/command_line/client_options.h"
#include "cli/command_line/registrations.h"
#include "cli/record_commands.h"

namespace headevo::cli {

void RegisterCandidate(CommandTable& commands) {
  struct Flags {
    ClientFlags client;
    int64_t candidate_id = 0;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* candidate = commands.Add(
      "candidate",
      "One candidate whole: its search, generation, parent and state; its mutation; its\n"
      "metrics (val_loss, train_loss, connections, steps) once evaluated, checkpoint and\n"
      "error; a table of its heads (layer, origin, k, offsets, sampler, and each head's\n"
      "entropy, independence, weight norm and importance); the heads it pruned from its\n"
      "parent; and what the growth step did.\n\n"
      "Examples:  headevo candidate 42\n           headevo candidate 42 --db search.db",
      [flags] { return CandidateCommand(flags->client, flags->candidate_id); });
  candidate->add_option("candidate", flags->candidate_id, "The candidate id")->required();
  AddClientFlags(candidate, flags->client, /*offline=*/true);
}

void RegisterCurve(CommandTable& commands) {
  struct Flags {
    ClientFlags client;
    int64_t candidate_id = 0;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* curve = commands.Add(
      "curve",
      "A candidate's learning curve: every rung it finished (multi-fidelity, [fidelity] in\n"
      "the config) with its steps, tokens, val_loss, train_loss, wall time and checkpoint,\n"
      "and val_loss plotted against steps. Without rungs a candidate has one point, its\n"
      "full budget.\n\n"
      "Examples:  headevo curve 42\n           headevo curve 42 --db search.db",
      [flags] { return CurveCommand(flags->client, flags->candidate_id); });
  curve->add_option("candidate", flags->candidate_id, "The candidate id")->required();
  AddClientFlags(curve, flags->client, /*offline=*/true);
}

void RegisterWorkers(CommandTable& commands) {
  auto flags = std::make_shared<ClientFlags>();
  CLI::App* workers = commands.Add(
      "workers",
      "Every worker that registered: id, name, device, memory, when it registered and was\n"
      "last heard from (UTC), and the job it holds now (job id, candidate or reference\n"
      "model, search, attempt, lease expiry) or \"idle\".\n\n"
      "Examples:  headevo workers\n           headevo workers --db search.db",
      [flags] { return WorkersCommand(*flags); });
  AddClientFlags(workers, *flags, /*offline=*/true);
}

void RegisterConfig(CommandTable& commands) {
  auto flags = std::make_shared<OneSearchFlags>();
  CLI::App* config =
      commands.Add("config",
                   "Print a search's config (TOML) exactly as it was launched, byte for byte.\n\n"
                   "Example:  headevo config 3 > again.toml && headevo launch again.toml",
                   [flags] { return ConfigCommand(flags->client, flags->search_id); });
  config->add_option("search", flags->search_id, "The search id")->required();
  AddClientFlags(config, flags->client, /*offline=*/true);
}

void RegisterDelete(CommandTable& commands) {
  struct Flags {
    ClientFlags client;
    DeleteFlags del;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* del = commands.Add(
      "delete",
      "Delete a finished (done, failed or stopped) search for good: its candidates, heads,\n"
      "statistics, jobs, reference models and events, and the checkpoint files no other\n"
      "search uses. Other searches are untouched. A running or paused search is refused:\n"
      "stop it first. Without --yes it only prints what would be deleted (exit code 2).\n"
      "With --db it edits the file directly, which is refused while a coordinator has it\n"
      "open: ask that coordinator instead.\n\n"
      "Examples:  headevo delete 3            (says what would go)\n"
      "           headevo delete 3 --yes\n"
      "           headevo delete 3 --yes --db search.db",
      [flags] { return DeleteCommand(flags->client, flags->del); });
  del->add_option("search", flags->del.search_id, "The search id")->required();
  del->add_flag("--yes", flags->del.yes, "Really delete (without it nothing is deleted)");
  del->add_option("--checkpoints", flags->del.checkpoint_dir,
                  "With --db: the checkpoint directory to remove the search's files from "
                  "(default: DB.checkpoints)");
  del->add_option("--db", flags->client.db_path,
                  "Delete from this database file directly, opened for writing (no coordinator "
                  "may have it open)");
  AddClientFlags(del, flags->client, /*offline=*/false);
}

}  // namespace headevo::cli
