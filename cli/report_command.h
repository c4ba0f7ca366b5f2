// `headevo report SEARCH --out DIR`: one self-contained HTML page about a search
// (DIR/index.html: summary table and five figures or more, everything inline, no network),
// drawn with gnuplot and Graphviz run as child processes. Reads through a coordinator
// (--coordinator) or a database file (--db, read-only; adds the config as written and the adaptive
// sampler's arms).
#ifndef HEADEVO_CLI_REPORT_COMMAND_H_
#define HEADEVO_CLI_REPORT_COMMAND_H_

#include <cstdint>
#include <string>

#include "cli/client_commands.h"

namespace headevo::cli {

struct ReportFlags {
  int64_t search_id = 0;
  std::string out_dir = "headevo-report";  // created if absent; index.html is replaced
};

// Prints the page's path to stdout, errors to stderr ("headevo: ..."). Returns the exit code:
// 0 written; 1 the search could not be read (unknown id, coordinator down) or a plotting
// program failed; 2 bad input: gnuplot or dot missing (the message names the Debian package),
// the database or coordinator cannot be opened, DIR cannot be created or written.
int ReportCommand(const ClientFlags& client, const ReportFlags& flags);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_REPORT_COMMAND_H_
