// `headevo backup`: flags and help.
#include <memory>

#include "cli/backup_command.h"
#include "cli/command_line/registrations.h"

namespace headevo::cli {

void RegisterBackup(CommandTable& commands) {
  auto flags = std::make_shared<BackupFlags>();
  CLI::App* backup = commands.Add(
      "backup",
      "Copy a lineage database safely, even while a search is writing it: SQLite writes the\n"
      "copy from one consistent snapshot, checks it (PRAGMA integrity_check) and only then\n"
      "moves it into place. Never copy the .db file with cp: it misses the -wal file and can\n"
      "catch a page half-written.\n\n"
      "Example:  headevo backup headevo.db /backups/headevo-$(date +%F).db",
      [flags] { return BackupCommand(*flags); });
  backup->add_option("db", flags->db_path, "The database to copy (opened read-only)")->required();
  backup
      ->add_option("destination", flags->destination_path,
                   "The new file to write; an existing file is never overwritten")
      ->required();
}

}  // namespace headevo::cli
