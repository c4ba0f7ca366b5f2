// The CLI's client commands: launch, status, watch, pause, resume, stop, candidates, lineage,
// head, pareto, export. Each talks to a coordinator (--coordinator) or, for reads, to a
// database file directly (--db). Each returns the process exit code: 0 done, 1 the request
// failed (the message says why and what to do), 2 bad flags or files.
#ifndef HEADEVO_CLI_CLIENT_COMMANDS_H_
#define HEADEVO_CLI_CLIENT_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/genome.pb.h"

namespace headevo::cli {

struct ClientFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string db_path;  // non-empty: read this database offline instead
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  std::string token_file;  // or $HEADEVO_TOKEN
  double timeout_seconds = 30;
};

class SearchClient;

// --db offline (read-only), else the coordinator with the TLS and token flags. Every read
// command opens its client so.
absl::StatusOr<std::unique_ptr<SearchClient>> OpenClient(const ClientFlags& flags);

int LaunchCommand(const ClientFlags& client, const std::string& config_path,
                  const std::string& start_from, bool watch);
int StatusCommand(const ClientFlags& client, int64_t search_id);  // 0: every search
int WatchCommand(const ClientFlags& client, int64_t search_id);
int ControlCommand(const ClientFlags& client, const std::string& kind, int64_t search_id);

struct CandidatesFlags {
  int64_t search_id = 0;
  std::string state;       // "", pending, running, done, failed
  std::string generation;  // "", "G" or "A:B"
  std::string order = "id";  // id | loss
  int limit = 50;
  std::string page_token;
};
int CandidatesCommand(const ClientFlags& client, const CandidatesFlags& flags);
int LineageCommand(const ClientFlags& client, int64_t candidate_id, const std::string& format,
                   int descendants);
int HeadCommand(const ClientFlags& client, int64_t head_id);
int ParetoCommand(const ClientFlags& client, int64_t search_id);
int ExportCommand(const ClientFlags& client, int64_t search_id, int count,
                  const std::string& output_path);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_CLIENT_COMMANDS_H_
