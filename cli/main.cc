// headevo: evolutionary search over sparse attention heads. Thin: parses flags, calls a command.
#include <CLI/CLI.hpp>

#include "cli/backup_command.h"
#include "cli/run_command.h"
#include "worker/allocator_tuning.h"

int main(int argc, char** argv) {
  headevo::worker::KeepFreedMemoryInProcess();
  CLI::App app{
      "headevo: evolutionary search over sparse attention heads.\n\n"
      "A sparse head attends to a small set of relative offsets (k per query), so it costs\n"
      "O(n*k) instead of O(n^2). headevo trains candidate models, ranks every head (attention\n"
      "entropy, independence, output-weight norm, gate importance), prunes the worst, resamples\n"
      "replacements, and records every candidate and every head's lineage in SQLite.\n\n"
      "Start with:  headevo run examples/quickstart.toml\n"
      "Back up a live database:  headevo backup headevo.db copy.db",
      "headevo"};
  app.require_subcommand(1);

  headevo::cli::RunFlags run_flags;
  CLI::App* run = app.add_subcommand(
      "run",
      "Run a search in this process: coordinator + local worker, lineage in a SQLite file.\n"
      "Prints one line per evaluated candidate and a summary beside a dense-attention model\n"
      "(and the baselines the config's [baselines] section asks for).");
  run->add_option("config", run_flags.config_path,
                  "Search config (TOML); see examples/quickstart.toml for every key")
      ->required();
  run->add_option("--db", run_flags.db_path,
                  "SQLite file holding the lineage; created if absent, reopened (a new search is "
                  "added) if present. Must be on a local disk.")
      ->capture_default_str();
  run->add_option("--device", run_flags.device, "Where the worker trains: cpu or cuda[:i]")
      ->capture_default_str();
  run->add_option("--threads", run_flags.threads,
                  "CPU threads for training; 0 = LibTorch's default (1 in Debian's build; small "
                  "models rarely gain from more)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  run->add_option("--checkpoints", run_flags.checkpoint_dir,
                  "Keep every candidate's trained weights and optimiser state here, one file per "
                  "candidate named by its SHA-256. Default: DB.checkpoints when the config sets "
                  "search.inherit_weights (children start from their parent's heads), else none");
  run->add_flag("-q,--quiet", run_flags.quiet, "Print only the summary");

  headevo::cli::BackupFlags backup_flags;
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Copy a lineage database safely, even while a search is writing it: SQLite writes the\n"
      "copy from one consistent snapshot, checks it (PRAGMA integrity_check) and only then\n"
      "moves it into place. Never copy the .db file with cp: it misses the -wal file and can\n"
      "catch a page half-written.\n\n"
      "Example:  headevo backup headevo.db /backups/headevo-$(date +%F).db");
  backup->add_option("db", backup_flags.db_path, "The database to copy (opened read-only)")
      ->required();
  backup
      ->add_option("destination", backup_flags.destination_path,
                   "The new file to write; an existing file is never overwritten")
      ->required();

  CLI11_PARSE(app, argc, argv);
  if (run->parsed()) return headevo::cli::RunCommand(run_flags);
  if (backup->parsed()) return headevo::cli::BackupCommand(backup_flags);
  return 2;
}
