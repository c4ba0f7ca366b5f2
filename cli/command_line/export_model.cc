// `headevo export-model`: flags and help.
#include <memory>

#include "cli/command_line/client_options.h"
#include "cli/command_line/registrations.h"
#include "cli/export_model_command.h"

namespace headevo::cli {

void RegisterExportModel(CommandTable& commands) {
  auto flags = std::make_shared<ExportModelFlags>();
  CLI::App* command = commands.Add(
      "export-model",
      "Write a trained candidate (its weights and genome) to a file PyTorch reads with\n"
      "torch.load: a dict with the model's sizes, each head's layer and offsets, and a\n"
      "state_dict. python/headevo/model.py is the same sparse-offset transformer in plain\n"
      "PyTorch and loads it (docs/python.md). The weights are the candidate's checkpoint, so\n"
      "its search must have kept them (headevo run --checkpoints DIR, or a config with\n"
      "inherit_weights or [fidelity]; headevo serve --checkpoints DIR).\n\n"
      "Examples:  headevo export-model 42 --db search.db -o model.pt\n"
      "           headevo export-model 42 --checkpoints /var/lib/headevo/ckpt -o model.pt\n"
      "Then, in Python:  model = headevo.model.load(\"model.pt\")",
      [flags] { return ExportModelCommand(*flags); });
  command->add_option("candidate", flags->candidate_id, "The candidate id")->required();
  command->add_option("-o,--output", flags->output_path, "The file to write (replaced atomically)")
      ->required();
  command->add_option("--checkpoints", flags->checkpoint_dir,
                      "The directory of the search's checkpoint files (<sha256>.ckpt). "
                      "Default with --db: DB.checkpoints, where headevo run keeps them");
  // For tests of reimplementations: the C++ model's logits on fixed tokens, in the file.
  command->add_option("--reference-logits", flags->reference_batch)->group("");
  AddClientFlags(command, flags->client, /*offline=*/true);
}

}  // namespace headevo::cli
