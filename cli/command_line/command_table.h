// The subcommands of the `headevo` binary and what each runs. Each command's Register*
// function (registrations.h) adds its subcommand here with its flags and the call it makes;
// main() parses the command line and runs the one subcommand given.
//
// Flags are written by CLI11 through references while parsing, so a Register* function keeps
// its flags in a std::shared_ptr that its run function captures: they live as long as the table.
#ifndef HEADEVO_CLI_COMMAND_LINE_COMMAND_TABLE_H_
#define HEADEVO_CLI_COMMAND_LINE_COMMAND_TABLE_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace headevo::cli {

class CommandTable {
 public:
  // `app` must outlive the table.
  explicit CommandTable(CLI::App& app) : app_(app) {}

  // Adds subcommand `name` (listed in --help in the order added). `run` returns the process
  // exit code and is called by RunParsed() only when this subcommand was given.
  CLI::App* Add(const std::string& name, const std::string& description, std::function<int()> run);

  // After parsing: the exit code of the subcommand given; 2 (bad flags) when none was.
  int RunParsed() const;

 private:
  CLI::App& app_;
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
};

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_COMMAND_LINE_COMMAND_TABLE_H_
