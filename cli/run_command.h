// `headevo run CONFIG`: the embedded mode. A coordinator loop and an in-process LibTorch worker
// in one process, the lineage in a SQLite file (headevo.db in the working directory by default).
#ifndef HEADEVO_CLI_RUN_COMMAND_H_
#define HEADEVO_CLI_RUN_COMMAND_H_

#include <string>

namespace headevo::cli {

struct RunFlags {
  std::string config_path;
  std::string db_path = "headevo.db";
  std::string device = "cpu";
  int threads = 0;  // 0: LibTorch's default (one thread in Debian's build)
  // Empty: "<db_path>.checkpoints" when the config inherits weights, else no checkpoints.
  std::string checkpoint_dir;
  // An exported population (`headevo export`): generation 0 starts with its genomes.
  std::string start_from;
  bool quiet = false;
  // Serve the dashboard (server/http/) while the search runs; empty: none. Loopback only unless
  // --insecure (run has no TLS or token).
  std::string http_listen;
  std::string http_assets = "/usr/share/javascript";
  bool insecure = false;
};

// Runs the search and prints progress and a summary to stdout, errors to stderr.
// Returns the process exit code: 0 done, 1 failed while running, 2 bad config or flags.
int RunCommand(const RunFlags& flags);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_RUN_COMMAND_H_
