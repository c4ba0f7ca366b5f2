// One function per `headevo` subcommand: each declares the subcommand's flags, defaults and
// help text, and the command function it calls (cli/*_command.h). main() calls them in the
// order --help lists the subcommands.
#ifndef HEADEVO_CLI_COMMAND_LINE_REGISTRATIONS_H_
#define HEADEVO_CLI_COMMAND_LINE_REGISTRATIONS_H_

#include "cli/command_line/command_table.h"

namespace headevo::cli {

// The processes (run.cc, serve.cc, worker.cc).
void RegisterRun(CommandTable& commands);
void RegisterServe(CommandTable& commands);
void RegisterWorker(CommandTable& commands);

// What a client does to a search (search_actions.cc).
void RegisterLaunch(CommandTable& commands);
void RegisterWatch(CommandTable& commands);
void RegisterPauseResumeStop(CommandTable& commands);  // three subcommands

// What a client reads (search_reads.cc); each also reads a database file with --db.
void RegisterStatus(CommandTable& commands);
void RegisterCandidates(CommandTable& commands);
void RegisterLineage(CommandTable& commands);
void RegisterHead(CommandTable& commands);
void RegisterPareto(CommandTable& commands);
void RegisterExport(CommandTable& commands);

// A trained candidate as a PyTorch file (export_model.cc).
void RegisterExportModel(CommandTable& commands);

// One record, the workers, a search's config; deleting a search (search_records.cc).
void RegisterCandidate(CommandTable& commands);
void RegisterCurve(CommandTable& commands);
void RegisterWorkers(CommandTable& commands);
void RegisterConfig(CommandTable& commands);
void RegisterDelete(CommandTable& commands);

// Operators' tools (report.cc, backup.cc, probe.cc).
void RegisterReport(CommandTable& commands);
void RegisterBackup(CommandTable& commands);
void RegisterProbe(CommandTable& commands);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_COMMAND_LINE_REGISTRATIONS_H_
