// `headevo run`: flags and help.
#include <memory>

#include "cli/command_line/registrations.h"
#include "cli/run_command.h"

namespace headevo::cli {

void RegisterRun(CommandTable& commands) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = commands.Add(
      "run",
      "Run a search in this process: coordinator + local worker, lineage in a SQLite file.\n"
      "Prints one line per evaluated candidate and a summary beside a dense-attention model\n"
      "(and the baselines the config's [baselines] section asks for).\n\n"
      "Example:  headevo run examples/quickstart.toml --db quick.db",
      [flags] { return RunCommand(*flags); });
  run->add_option("config", flags->config_path,
                  "Search config (TOML); see examples/quickstart.toml for every key")
      ->required();
  run->add_option("--db", flags->db_path,
                  "SQLite file holding the lineage; created if absent, reopened (a new search is "
                  "added) if present. Must be on a local disk.")
      ->capture_default_str();
  run->add_option("--device", flags->device, "Where the worker trains: cpu or cuda[:i]")
      ->capture_default_str();
  run->add_option("--threads", flags->threads,
                  "CPU threads for training; 0 = LibTorch's default (1 in Debian's build; small "
                  "models rarely gain from more)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  run->add_option("--checkpoints", flags->checkpoint_dir,
                  "Keep every candidate's trained weights and optimiser state here, one file per "
                  "candidate named by its SHA-256. Default: DB.checkpoints when the config sets "
                  "search.inherit_weights (children start from their parent's heads) or fidelity.enabled "
                  "(promotions continue from a checkpoint), else none");
  run->add_option("--start-from", flags->start_from,
                  "A population written by `headevo export`: generation 0 starts with its "
                  "genomes, filled up with samples");
  run->add_flag("-q,--quiet", flags->quiet, "Print only the summary");
  run->add_option("--http-listen", flags->http_listen,
                  "HOST:PORT for the live dashboard in a browser while the search runs (e.g. "
                  "127.0.0.1:8080; docs/dashboard.md). Loopback only unless --insecure");
  run->add_option("--http-assets", flags->http_assets,
                  "Where the dashboard finds chart.js/ and d3/ (Debian: libjs-chart.js, libjs-d3)")
      ->capture_default_str();
  run->add_flag("--insecure", flags->insecure,
                "Serve the dashboard on a non-loopback address without TLS or a token (trusted "
                "networks only)");
}

}  // namespace headevo::cli
