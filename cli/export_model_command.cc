#include "cli/export_model_command.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/search_client.h"
#include "worker/checkpoint.h"
#include "worker/model_export.h"

namespace headevo::cli {
namespace {

int Fail(int code, const std::string& message) {
  std::cerr << "headevo export-model: " << message << "\n";
  return code;
}

}  // namespace

int ExportModelCommand(const ExportModelFlags& flags) {
  if (flags.output_path.empty()) return Fail(2, "give the file to write with -o FILE");
  std::string checkpoint_dir = flags.checkpoint_dir;
  if (checkpoint_dir.empty()) {
    if (flags.client.db_path.empty()) {
      return Fail(2, "give --checkpoints DIR: the coordinator's checkpoint directory (its "
                     "--checkpoints flag)");
    }
    checkpoint_dir = flags.client.db_path + ".checkpoints";
  }
  absl::StatusOr<std::unique_ptr<SearchClient>> client = OpenClient(flags.client);
  if (!client.ok()) return Fail(2, std::string(client.status().message()));
  absl::StatusOr<headevo::v1::Candidate> candidate = (*client)->GetCandidate(flags.candidate_id);
  if (!candidate.ok()) return Fail(1, std::string(candidate.status().message()));
  const std::string& sha256 = candidate->checkpoint_sha256();
  if (sha256.empty()) {
    return Fail(1, absl::StrCat("candidate ", flags.candidate_id,
                                " has no checkpoint: it is not DONE, or its search kept no "
                                "weights (run it with --checkpoints DIR)"));
  }
  const std::string path = (std::filesystem::path(checkpoint_dir) / (sha256 + ".ckpt")).string();
  absl::StatusOr<worker::Checkpoint> checkpoint = worker::Checkpoint::Load(path, sha256);
  if (!checkpoint.ok()) {
    return Fail(1, absl::StrCat("candidate ", flags.candidate_id, "'s checkpoint: ",
                                checkpoint.status().message(),
                                absl::IsNotFound(checkpoint.status())
                                    ? " (is --checkpoints the search's checkpoint directory? "
                                      "a finished search keeps only some checkpoints)"
                                    : ""));
  }
  worker::ModelExportOptions options;
  options.candidate_id = flags.candidate_id;
  options.reference_batch = flags.reference_batch;
  absl::StatusOr<std::string> bytes = worker::ExportModel(*checkpoint, options);
  if (!bytes.ok()) return Fail(1, std::string(bytes.status().message()));
  if (absl::Status status = worker::WriteFileAtomically(flags.output_path, *bytes); !status.ok()) {
    return Fail(1, std::string(status.message()));
  }
  std::printf("wrote candidate %lld (%d heads, checkpoint %s) to %s: load it with "
              "headevo.model.load(\"%s\") in Python\n",
              static_cast<long long>(flags.candidate_id), candidate->genome().heads_size(),
              sha256.substr(0, 12).c_str(), flags.output_path.c_str(),
              flags.output_path.c_str());
  return 0;
}

}  // namespace headevo::cli
