#include "cli/command_line/command_table.h"

namespace headevo::cli {

CLI::App* CommandTable::Add(const std::string& name, const std::string& description,
                            std::function<int()> run) {
  CLI::App* command = app_.add_subcommand(name, description);
  commands_.emplace_back(command, std::move(run));
  return command;
}

int CommandTable::RunParsed() const {
  for (const auto& [command, run] : commands_) {
    if (command->parsed()) return run();
  }
  return 2;
}

}  // namespace headevo::cli
