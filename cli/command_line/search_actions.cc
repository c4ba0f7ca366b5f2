// What a client does to a search on a coordinator: launch, watch, pause, resume, stop.
#include <cstdint>
#include <memory>
#include <string>

#include "cli/client_commands.h"
#include "cli/command_line/client_options.h"
#include "cli/command_line/registrations.h"

namespace headevo::cli {
void RegisterLaunch(CommandTable& commands) {
  struct LaunchFlags {
    ClientFlags client;
    std::string config;
    std::string start_from;
    bool watch = false;
  };
  auto flags = std::make_shared<LaunchFlags>();
  CLI::App* launch = commands.Add("launch",
                                  "Start a search on a coordinator.\n\nExample:  headevo launch "
                                  "examples/quickstart.toml --watch",
                                  [flags] {
                                    return LaunchCommand(flags->client, flags->config,
                                                         flags->start_from, flags->watch);
                                  });
  launch->add_option("config", flags->config, "Search config (TOML)")->required();
  launch->add_option("--start-from", flags->start_from,
                     "A population written by `headevo export` to start generation 0 with");
  launch->add_flag("--watch", flags->watch, "Then follow it as `headevo watch` does");
  AddClientFlags(launch, flags->client, /*offline=*/false);
}

void RegisterWatch(CommandTable& commands) {
  auto flags = std::make_shared<OneSearchFlags>();
  CLI::App* watch = commands.Add(
      "watch",
      "Follow a search live: candidates started and finished, new bests, generations,\n"
      "until it ends.\n\nExample:  headevo watch 3",
      [flags] { return WatchCommand(flags->client, flags->search_id); });
  watch->add_option("search", flags->search_id, "The search id")->required();
  AddClientFlags(watch, flags->client, /*offline=*/false);
}

void RegisterPauseResumeStop(CommandTable& commands) {
  const struct {
    const char* kind;
    const char* what;
  } kControls[] = {
      {"pause", "Pause a search: no new job is handed out; running ones finish."},
      {"resume", "Resume a paused search."},
      {"stop", "Stop a search for good: nothing more is bred."},
  };
  for (const auto& control : kControls) {
    auto flags = std::make_shared<OneSearchFlags>();
    const std::string kind = control.kind;
    CLI::App* command = commands.Add(
        kind, std::string(control.what) + "\n\nExample:  headevo " + kind + " 3",
        [flags, kind] { return ControlCommand(flags->client, kind, flags->search_id); });
    command->add_option("search", flags->search_id, "The search id")->required();
    AddClientFlags(command, flags->client, /*offline=*/false);
  }
}

}  // namespace headevo::cli
