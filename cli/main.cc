// headevo: evolutionary search over sparse attention heads. Thin: parses flags, calls a command.
#include <CLI/CLI.hpp>

#include "cli/backup_command.h"
#include "cli/client_commands.h"
#include "cli/probe_command.h"
#include "cli/report_command.h"
#include "cli/run_command.h"
#include "cli/serve_command.h"
#include "cli/worker_command.h"
#include "worker/allocator_tuning.h"

namespace {

// --coordinator, TLS and token flags shared by every client command; --db for offline reads.
void AddClientFlags(CLI::App* command, headevo::cli::ClientFlags& flags, bool offline) {
  command->add_option("--coordinator", flags.coordinator, "The coordinator's HOST:PORT")
      ->capture_default_str();
  if (offline) {
    command->add_option("--db", flags.db_path,
                        "Read this database file directly (read-only; no coordinator needed)");
  }
  command->add_option("--tls-ca", flags.tls_ca_file,
                      "PEM of the CA that signed the coordinator's certificate (turns TLS on)");
  command->add_option("--tls-cert", flags.tls_cert_file, "Client certificate (PEM), for mTLS");
  command->add_option("--tls-key", flags.tls_key_file, "Client key (PEM), for mTLS");
  command->add_option("--tls-server-name", flags.tls_server_name,
                      "Verify the coordinator's certificate for this name instead of the host");
  command->add_option("--token-file", flags.token_file,
                      "File holding the bearer token (else $HEADEVO_TOKEN)");
  command->add_option("--timeout", flags.timeout_seconds, "Deadline of each call, in seconds")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  headevo::worker::KeepFreedMemoryInProcess();
  CLI::App app{
      "headevo: evolutionary search over sparse attention heads.\n\n"
      "A sparse head attends to a small set of relative offsets (k per query), so it costs\n"
      "O(n*k) instead of O(n^2). headevo trains candidate models, ranks every head (attention\n"
      "entropy, independence, output-weight norm, gate importance), prunes the worst, resamples\n"
      "replacements, and records every candidate and every head's lineage in SQLite.\n\n"
      "One process:   headevo run examples/quickstart.toml\n"
      "A cluster:     headevo serve --db search.db            (on the coordinator host)\n"
      "               headevo worker --coordinator HOST:50051 (on each GPU host)\n"
      "               headevo launch examples/quickstart.toml --watch\n"
      "Look around:   headevo status | candidates 1 | lineage 42 | head 7 | pareto 1\n"
      "               headevo report 1 --out report   (an HTML page with figures)\n"
      "               (add --db FILE to read a database without a coordinator)",
      "headevo"};
  app.require_subcommand(1);

  headevo::cli::RunFlags run_flags;
  CLI::App* run = app.add_subcommand(
      "run",
      "Run a search in this process: coordinator + local worker, lineage in a SQLite file.\n"
      "Prints one line per evaluated candidate and a summary beside a dense-attention model\n"
      "(and the baselines the config's [baselines] section asks for).\n\n"
      "Example:  headevo run examples/quickstart.toml --db quick.db");
  run->add_option("config", run_flags.config_path,
                  "Search config (TOML); see examples/quickstart.toml for every key")
      ->required();
  run->add_option("--db", run_flags.db_path,
                  "SQLite file holding the lineage; created if absent, reopened (a new search is "
                  "added) if present. Must be on a local disk.")
      ->capture_default_str();
  run->add_option("--device", run_flags.device, "Where the worker trains: cpu or cuda[:i]")
      ->capture_default_str();
  run->add_option("--threads", run_flags.threads,
                  "CPU threads for training; 0 = LibTorch's default (1 in Debian's build; small "
                  "models rarely gain from more)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  run->add_option("--checkpoints", run_flags.checkpoint_dir,
                  "Keep every candidate's trained weights and optimiser state here, one file per "
                  "candidate named by its SHA-256. Default: DB.checkpoints when the config sets "
                  "search.inherit_weights (children start from their parent's heads), else none");
  run->add_option("--start-from", run_flags.start_from,
                  "A population written by `headevo export`: generation 0 starts with its "
                  "genomes, filled up with samples");
  run->add_flag("-q,--quiet", run_flags.quiet, "Print only the summary");

  headevo::cli::ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the coordinator: searches, the job queue and the lineage database, served over gRPC\n"
      "to workers (`headevo worker`) and clients (launch, status, watch, ...). Restarted on the\n"
      "same database it resumes every running search. SIGTERM stops it cleanly.\n"
      "Without TLS and a token it listens on loopback only.\n\n"
      "Example:  headevo serve --db search.db --listen 127.0.0.1:50051\n"
      "Cluster:  headevo serve --listen 0.0.0.0:50051 --tls-cert server.pem --tls-key server.key "
      "--token-file token");
  serve->add_option("--listen", serve_flags.listen, "HOST:PORT to listen on (port 0: any free)")
      ->capture_default_str();
  serve->add_option("--db", serve_flags.db_path, "The lineage database (SQLite, local disk)")
      ->capture_default_str();
  serve->add_option("--checkpoints", serve_flags.checkpoint_dir,
                    "Directory of uploaded checkpoints (default: DB.checkpoints)");
  serve->add_option("--tls-cert", serve_flags.tls_cert_file, "Server certificate (PEM)");
  serve->add_option("--tls-key", serve_flags.tls_key_file, "Server key (PEM)");
  serve->add_option("--client-ca", serve_flags.client_ca_file,
                    "CA (PEM) whose client certificates are required (mTLS)");
  serve->add_option("--token-file", serve_flags.token_file,
                    "File holding the bearer token every call must carry (else $HEADEVO_TOKEN)");
  serve->add_flag("--insecure", serve_flags.insecure,
                  "Allow a non-loopback address without TLS and a token (trusted networks only)");
  serve->add_option("--lease-seconds", serve_flags.lease_seconds,
                    "A job whose worker sends no heartbeat this long is queued again")
      ->capture_default_str();
  serve->add_option("--max-attempts", serve_flags.max_attempts,
                    "Leases a job gets before its candidate is marked failed")
      ->capture_default_str();
  serve->add_option("--keep-best", serve_flags.keep_best,
                    "Checkpoints kept per search (its best candidates') once nothing else needs "
                    "them")
      ->capture_default_str();
  serve->add_option("--gc-seconds", serve_flags.gc_seconds,
                    "How often unneeded checkpoints are collected")
      ->capture_default_str();
  serve->add_option("--metrics-listen", serve_flags.metrics_listen,
                    "HOST:PORT for Prometheus metrics at /metrics (e.g. 0.0.0.0:9464; off when "
                    "empty)");
  serve->add_option("--health-listen", serve_flags.health_listen,
                    "HOST:PORT for a plaintext gRPC health service for probes (service \"\": "
                    "live, \"headevo.ready\": ready; e.g. 0.0.0.0:8081; off when empty)");

  headevo::cli::WorkerFlags worker_flags;
  CLI::App* worker = app.add_subcommand(
      "worker",
      "Train candidates for a coordinator: lease a job, fetch the parent's checkpoint if\n"
      "needed, train on the device, upload the checkpoint, report, repeat. Survives coordinator\n"
      "restarts (it retries). SIGTERM hands the running job back at once.\n\n"
      "Example:  headevo worker --coordinator 10.0.0.5:50051 --device cuda:0 --tls-ca ca.pem "
      "--token-file token");
  worker->add_option("--coordinator", worker_flags.coordinator, "The coordinator's HOST:PORT")
      ->capture_default_str();
  worker->add_option("--device", worker_flags.device, "cpu or cuda[:i]")->capture_default_str();
  worker->add_option("--threads", worker_flags.threads, "CPU threads for training (0: default)")
      ->check(CLI::NonNegativeNumber);
  worker->add_option("--checkpoints", worker_flags.checkpoint_dir,
                     "Local checkpoint cache (default: ./headevo-worker-PID.checkpoints)");
  worker->add_option("--tls-ca", worker_flags.tls_ca_file,
                     "PEM of the CA that signed the coordinator's certificate (turns TLS on)");
  worker->add_option("--tls-cert", worker_flags.tls_cert_file, "Client certificate, for mTLS");
  worker->add_option("--tls-key", worker_flags.tls_key_file, "Client key, for mTLS");
  worker->add_option("--tls-server-name", worker_flags.tls_server_name,
                     "Verify the coordinator's certificate for this name");
  worker->add_option("--token-file", worker_flags.token_file,
                     "File holding the bearer token (else $HEADEVO_TOKEN)");
  worker->add_option("--name", worker_flags.name, "How the coordinator lists this worker");
  worker->add_option("--max-jobs", worker_flags.max_jobs, "Exit after this many jobs (0: never)");
  worker->add_option("--exit-when-idle", worker_flags.exit_when_idle_seconds,
                     "Exit after this many seconds without a job (0: never)");
  worker->add_option("--health-listen", worker_flags.health_listen,
                     "HOST:PORT for a plaintext gRPC health service for probes (service \"\": "
                     "live, \"headevo.ready\": registered with the coordinator; off when empty)");
  worker->add_flag("-q,--quiet", worker_flags.quiet, "Print only errors and the final count");

  headevo::cli::ClientFlags client_flags;
  std::string launch_config;
  std::string launch_start_from;
  bool launch_watch = false;
  CLI::App* launch = app.add_subcommand(
      "launch", "Start a search on a coordinator.\n\nExample:  headevo launch "
                "examples/quickstart.toml --watch");
  launch->add_option("config", launch_config, "Search config (TOML)")->required();
  launch->add_option("--start-from", launch_start_from,
                     "A population written by `headevo export` to start generation 0 with");
  launch->add_flag("--watch", launch_watch, "Then follow it as `headevo watch` does");
  AddClientFlags(launch, client_flags, /*offline=*/false);

  int64_t search_id = 0;
  CLI::App* status = app.add_subcommand(
      "status", "Every search in a table, or one search in detail.\n\nExamples:  headevo status\n"
                "           headevo status 3 --db search.db");
  status->add_option("search", search_id, "A search id (omit for all)");
  AddClientFlags(status, client_flags, /*offline=*/true);

  CLI::App* watch = app.add_subcommand(
      "watch", "Follow a search live: candidates started and finished, new bests, generations,\n"
               "until it ends.\n\nExample:  headevo watch 3");
  watch->add_option("search", search_id, "The search id")->required();
  AddClientFlags(watch, client_flags, /*offline=*/false);

  std::string control_kind;
  for (const char* kind : {"pause", "resume", "stop"}) {
    CLI::App* control = app.add_subcommand(
        kind, std::string(kind == std::string("pause")
                              ? "Pause a search: no new job is handed out; running ones finish."
                          : kind == std::string("resume")
                              ? "Resume a paused search."
                              : "Stop a search for good: nothing more is bred.") +
                  "\n\nExample:  headevo " + kind + " 3");
    control->add_option("search", search_id, "The search id")->required();
    AddClientFlags(control, client_flags, /*offline=*/false);
    control->callback([&control_kind, kind] { control_kind = kind; });
  }

  headevo::cli::CandidatesFlags candidates_flags;
  CLI::App* candidates = app.add_subcommand(
      "candidates", "List a search's candidates, filtered and paged.\n\nExample:  headevo "
                    "candidates 3 --state done --order loss --limit 10");
  candidates->add_option("search", candidates_flags.search_id, "The search id")->required();
  candidates->add_option("--state", candidates_flags.state, "pending, running, done or failed");
  candidates->add_option("--generation", candidates_flags.generation, "G or A:B");
  candidates->add_option("--order", candidates_flags.order, "id or loss")->capture_default_str();
  candidates->add_option("--limit", candidates_flags.limit, "Rows per page (at most 1000)")
      ->capture_default_str();
  candidates->add_option("--page-token", candidates_flags.page_token,
                         "The token the previous page printed");
  AddClientFlags(candidates, client_flags, /*offline=*/true);

  int64_t candidate_id = 0;
  std::string lineage_format = "tree";
  int descendants = 0;
  CLI::App* lineage = app.add_subcommand(
      "lineage", "Where a candidate came from: its ancestors to the root, each with the heads\n"
                 "pruned and added. --format dot draws it with Graphviz.\n\nExamples:  headevo "
                 "lineage 42\n           headevo lineage 42 --format dot | dot -Tsvg > 42.svg");
  lineage->add_option("candidate", candidate_id, "The candidate id")->required();
  lineage->add_option("--format", lineage_format, "tree, dot or json")->capture_default_str();
  lineage->add_option("--descendants", descendants,
                      "Also its descendants, this many levels down (-1: all)");
  AddClientFlags(lineage, client_flags, /*offline=*/true);

  int64_t head_id = 0;
  CLI::App* head = app.add_subcommand(
      "head", "A head's history: where it was made (sampler, source), every candidate that\n"
              "carried it with its statistics, who pruned it; for a head the growth sampler\n"
              "widened, how it grew (predicted vs measured loss change) and from which heads.\n\n"
              "Example:  headevo head 7");
  head->add_option("head", head_id, "The head id")->required();
  AddClientFlags(head, client_flags, /*offline=*/true);

  CLI::App* pareto = app.add_subcommand(
      "pareto", "The loss-vs-connections Pareto front of a search, as a table and a plot.\n\n"
                "Example:  headevo pareto 3 --db search.db");
  pareto->add_option("search", search_id, "The search id")->required();
  AddClientFlags(pareto, client_flags, /*offline=*/true);

  int export_count = 1;
  std::string export_output;
  CLI::App* export_command = app.add_subcommand(
      "export", "Write a search's best genome(s) as JSON, which `run --start-from` and\n"
                "`launch --start-from` accept as a starting population.\n\nExample:  headevo "
                "export 3 -o best.json && headevo run next.toml --start-from best.json");
  export_command->add_option("search", search_id, "The search id")->required();
  export_command->add_option("--count", export_count, "How many of the best")
      ->capture_default_str();
  export_command->add_option("-o,--output", export_output, "File to write (default: stdout)");
  AddClientFlags(export_command, client_flags, /*offline=*/true);

  headevo::cli::ReportFlags report_flags;
  CLI::App* report = app.add_subcommand(
      "report",
      "Write one self-contained HTML page about a search (DIR/index.html; styles, figures and\n"
      "script inline, nothing fetched from the network) to open in any browser or attach to a\n"
      "message. A summary table (state, config, counts, best candidate) and five figures, each\n"
      "with a caption saying how to read it:\n"
      "  1. fitness over time: every candidate's val_loss, the best so far, failures marked;\n"
      "  2. the Pareto front: val_loss against connections per query;\n"
      "  3. the best candidate's lineage tree back to generation 0 (Graphviz);\n"
      "  4. surviving offsets per layer: how long heads with each offset lived (heat map);\n"
      "  5. sampler usage: heads each sampler made per generation, and how many reached the\n"
      "     best candidates (with --db, also the adaptive sampler's bandit arms).\n"
      "Needs gnuplot (Debian: gnuplot-nox) and dot (Debian: graphviz) on PATH.\n\n"
      "Examples:  headevo report 1 --db headevo.db --out report && xdg-open report/index.html\n"
      "           headevo report 3 --coordinator 10.0.0.5:50051 --tls-ca ca.pem --out r3");
  report->add_option("search", report_flags.search_id, "The search id")->required();
  report->add_option("--out", report_flags.out_dir,
                     "Directory to write index.html into (created if absent; an existing "
                     "index.html is replaced)")
      ->capture_default_str();
  AddClientFlags(report, client_flags, /*offline=*/true);

  headevo::cli::BackupFlags backup_flags;
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Copy a lineage database safely, even while a search is writing it: SQLite writes the\n"
      "copy from one consistent snapshot, checks it (PRAGMA integrity_check) and only then\n"
      "moves it into place. Never copy the .db file with cp: it misses the -wal file and can\n"
      "catch a page half-written.\n\n"
      "Example:  headevo backup headevo.db /backups/headevo-$(date +%F).db");
  backup->add_option("db", backup_flags.db_path, "The database to copy (opened read-only)")
      ->required();
  backup
      ->add_option("destination", backup_flags.destination_path,
                   "The new file to write; an existing file is never overwritten")
      ->required();

  headevo::cli::ProbeFlags probe_flags;
  CLI::App* probe = app.add_subcommand(
      "probe",
      "Ask a gRPC health service (grpc.health.v1) whether a server is SERVING: a coordinator's\n"
      "or worker's --health-listen port, or the coordinator's own port. Prints the status;\n"
      "exit code 0 when SERVING, 1 otherwise. For container health checks and scripts.\n\n"
      "Example:  headevo probe --address 127.0.0.1:8081 --service headevo.ready");
  probe->add_option("--address", probe_flags.address, "The server's HOST:PORT")
      ->capture_default_str();
  probe->add_option("--service", probe_flags.service,
                    "\"\" (default): alive; \"headevo.ready\": ready (see serve/worker "
                    "--health-listen)");
  probe->add_option("--timeout", probe_flags.timeout_seconds, "Seconds to wait for the answer")
      ->capture_default_str();
  probe->add_option("--tls-ca", probe_flags.tls_ca_file, "CA PEM, for a TLS server");
  probe->add_option("--tls-server-name", probe_flags.tls_server_name,
                    "Verify the server's certificate for this name");
  probe->add_option("--token-file", probe_flags.token_file,
                    "Bearer token file (else $HEADEVO_TOKEN)");

  CLI11_PARSE(app, argc, argv);
  using namespace headevo::cli;
  if (run->parsed()) return RunCommand(run_flags);
  if (serve->parsed()) return ServeCommand(serve_flags);
  if (worker->parsed()) return WorkerCommand(worker_flags);
  if (launch->parsed()) {
    return LaunchCommand(client_flags, launch_config, launch_start_from, launch_watch);
  }
  if (status->parsed()) return StatusCommand(client_flags, search_id);
  if (watch->parsed()) return WatchCommand(client_flags, search_id);
  if (!control_kind.empty()) return ControlCommand(client_flags, control_kind, search_id);
  if (candidates->parsed()) return CandidatesCommand(client_flags, candidates_flags);
  if (lineage->parsed()) {
    return LineageCommand(client_flags, candidate_id, lineage_format, descendants);
  }
  if (head->parsed()) return HeadCommand(client_flags, head_id);
  if (pareto->parsed()) return ParetoCommand(client_flags, search_id);
  if (export_command->parsed()) {
    return ExportCommand(client_flags, search_id, export_count, export_output);
  }
  if (report->parsed()) return ReportCommand(client_flags, report_flags);
  if (backup->parsed()) return BackupCommand(backup_flags);
  if (probe->parsed()) return ProbeCommand(probe_flags);
  return 2;
}
