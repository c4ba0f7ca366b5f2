// The CLI's commands about single records and the coordinator's bookkeeping: candidate (one
// candidate whole), workers (who is registered and what each holds), config (a search's TOML as
// launched), delete (a finished search and everything of it). Each talks to a coordinator
// (--coordinator) or a database file (--db). Exit codes as cli/client_commands.h: 0 done, 1 the
// request failed (the message says why and what to do), 2 bad flags or files, or a delete not
// confirmed with --yes.
#ifndef HEADEVO_CLI_RECORD_COMMANDS_H_
#define HEADEVO_CLI_RECORD_COMMANDS_H_

#include <cstdint>
#include <string>

#include "cli/client_commands.h"

namespace headevo::cli {

int CandidateCommand(const ClientFlags& client, int64_t candidate_id);
// The candidate's learning curve: each rung it finished, and val_loss against steps.
int CurveCommand(const ClientFlags& client, int64_t candidate_id);
int WorkersCommand(const ClientFlags& client);
// Prints the config byte for byte, so `headevo config 3 > again.toml` gives the file back.
int ConfigCommand(const ClientFlags& client, int64_t search_id);

struct DeleteFlags {
  int64_t search_id = 0;
  bool yes = false;            // without it: say what would go, delete nothing, exit 2
  std::string checkpoint_dir;  // --db only: where the files are ("": DB.checkpoints)
};
// With --db the database is opened for writing (refused while a coordinator holds it).
int DeleteCommand(const ClientFlags& client, const DeleteFlags& flags);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_RECORD_COMMANDS_H_
