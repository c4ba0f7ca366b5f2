#include "cli/learning_curve.h"
#include "cli/record_commands.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/record_format.h"
#include "cli/search_client.h"

namespace headevo::cli {
namespace {

int Fail(int code, const std::string& message) {
  std::cerr << "headevo: " << message << "\n";
  return code;
}

int Fail(const absl::Status& status) { return Fail(1, std::string(status.message())); }

// Runs `body` with an open client, turning a failure to open into exit code 2.
template <typename Body>
int WithClient(absl::StatusOr<std::unique_ptr<SearchClient>> client, Body body) {
  if (!client.ok()) return Fail(2, std::string(client.status().message()));
  return body(**client);
}

}  // namespace

int CandidateCommand(const ClientFlags& flags, int64_t candidate_id) {
  return WithClient(OpenClient(flags), [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::Candidate> candidate = client.GetCandidate(candidate_id);
    if (!candidate.ok()) return Fail(candidate.status());
    std::printf("%s", FormatCandidateDetail(*candidate).c_str());
    return 0;
  });
}

int CurveCommand(const ClientFlags& flags, int64_t candidate_id) {
  return WithClient(OpenClient(flags), [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::Candidate> candidate = client.GetCandidate(candidate_id);
    if (!candidate.ok()) return Fail(candidate.status());
    std::printf("%s", FormatLearningCurve(*candidate).c_str());
    return 0;
  });
}

int WorkersCommand(const ClientFlags& flags) {
  return WithClient(OpenClient(flags), [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::ListWorkersResponse> workers = client.ListWorkers();
    if (!workers.ok()) return Fail(workers.status());
    std::printf("%s", FormatWorkerTable(*workers).c_str());
    return 0;
  });
}

int ConfigCommand(const ClientFlags& flags, int64_t search_id) {
  return WithClient(OpenClient(flags), [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::SearchConfig> config = client.GetSearchConfig(search_id);
    if (!config.ok()) return Fail(config.status());
    std::fwrite(config->config_toml().data(), 1, config->config_toml().size(), stdout);
    return 0;
  });
}

int DeleteCommand(const ClientFlags& flags, const DeleteFlags& del) {
  if (!del.yes) {
    // Describe what would go, from a read-only look: nothing is locked or written.
    return WithClient(OpenClient(flags), [&](SearchClient& client) {
      absl::StatusOr<headevo::v1::SearchSummary> search = client.GetSearch(del.search_id);
      if (!search.ok()) return Fail(search.status());
      return Fail(2, FormatDeletionPlan(*search));
    });
  }
  absl::StatusOr<std::unique_ptr<SearchClient>> client =
      flags.db_path.empty() ? OpenClient(flags)
                            : OpenOfflineForDelete(flags.db_path, del.checkpoint_dir);
  return WithClient(std::move(client), [&](SearchClient& opened) {
    absl::StatusOr<headevo::v1::DeleteSearchResponse> deleted = opened.DeleteSearch(del.search_id);
    if (!deleted.ok()) return Fail(deleted.status());
    std::printf("%s", FormatDeleted(del.search_id, *deleted).c_str());
    return 0;
  });
}

}  // namespace headevo::cli
