// The flags every client command shares: where the coordinator is, TLS, the bearer token, the
// call deadline, and (for reads) --db to read a database file without a coordinator.
#ifndef HEADEVO_CLI_COMMAND_LINE_CLIENT_OPTIONS_H_
#define HEADEVO_CLI_COMMAND_LINE_CLIENT_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <cstdint>

#include "cli/client_commands.h"

namespace headevo::cli {

// Adds the client flags to `command`, writing into `flags` (which must outlive parsing);
// `offline` adds --db, for commands that only read.
void AddClientFlags(CLI::App* command, ClientFlags& flags, bool offline);

// The flags of a client command about one search (status, watch, pause, pareto, ...).
struct OneSearchFlags {
  ClientFlags client;
  int64_t search_id = 0;  // status: 0 for every search
};

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_COMMAND_LINE_CLIENT_OPTIONS_H_
