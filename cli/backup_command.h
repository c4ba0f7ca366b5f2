// `headevo backup DB DEST`: a consistent copy of a lineage database, safe while a coordinator
// is writing it (storage/backup.h: SQLite writes the copy from one read snapshot; the file's
// bytes are never copied directly).
#ifndef HEADEVO_CLI_BACKUP_COMMAND_H_
#define HEADEVO_CLI_BACKUP_COMMAND_H_

#include <string>

namespace headevo::cli {

struct BackupFlags {
  std::string db_path;
  std::string destination_path;
};

// Prints what it copied to stdout, errors to stderr. Returns the process exit code: 0 copied,
// 1 failed (nothing is written at the destination).
int BackupCommand(const BackupFlags& flags);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_BACKUP_COMMAND_H_
