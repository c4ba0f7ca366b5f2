#include "cli/backup_command.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "storage/backup.h"

namespace headevo::cli {

int BackupCommand(const BackupFlags& flags) {
  if (absl::Status s = storage::BackupDatabase(flags.db_path, flags.destination_path); !s.ok()) {
    std::cerr << "headevo backup: " << s.message() << "\n";
    return 1;
  }
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(flags.destination_path, ec);
  std::printf("backed up %s to %s (%llu bytes, integrity checked)\n", flags.db_path.c_str(),
              flags.destination_path.c_str(), ec ? 0ULL : static_cast<unsigned long long>(bytes));
  return 0;
}

}  // namespace headevo::cli
