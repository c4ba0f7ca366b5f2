// `headevo export-model CANDIDATE -o model.pt`: a trained candidate's weights and genome in a
// file Python's torch.load reads (worker/model_export.h says what it holds), for
// python/headevo/model.py or a user's own PyTorch code.
#ifndef HEADEVO_CLI_EXPORT_MODEL_COMMAND_H_
#define HEADEVO_CLI_EXPORT_MODEL_COMMAND_H_

#include <cstdint>
#include <string>

#include "cli/client_commands.h"

namespace headevo::cli {

struct ExportModelFlags {
  ClientFlags client;  // where the candidate's record is: --db or a coordinator
  int64_t candidate_id = 0;
  // The directory holding "<sha256>.ckpt" files. Empty: <db>.checkpoints with --db (where
  // `headevo run` keeps them), else required.
  std::string checkpoint_dir;
  std::string output_path;
  // > 0: also store the C++ model's logits on this many fixed token sequences (a check for
  // reimplementations; hidden from --help).
  int64_t reference_batch = 0;
};

// Prints what it wrote to stdout, errors to stderr. Exit code 0 written; 1 the candidate has
// no checkpoint, its file is missing or damaged, or the output cannot be written (nothing is
// left at the output path); 2 bad flags.
int ExportModelCommand(const ExportModelFlags& flags);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_EXPORT_MODEL_COMMAND_H_
