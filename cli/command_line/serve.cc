// `headevo serve`: flags and help.
#include <memory>

#include "cli/command_line/registrations.h"
#include "cli/serve_command.h"

namespace headevo::cli {

void RegisterServe(CommandTable& commands) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = commands.Add(
      "serve",
      "Run the coordinator: searches, the job queue and the lineage database, served over gRPC\n"
      "to workers (`headevo worker`) and clients (launch, status, watch, ...). Restarted on the\n"
      "same database it resumes every running search. SIGTERM stops it cleanly.\n"
      "Without TLS and a token it listens on loopback only.\n\n"
      "Example:  headevo serve --db search.db --listen 127.0.0.1:50051\n"
      "Cluster:  headevo serve --listen 0.0.0.0:50051 --tls-cert server.pem --tls-key server.key "
      "--token-file token",
      [flags] { return ServeCommand(*flags); });
  serve->add_option("--listen", flags->listen, "HOST:PORT to listen on (port 0: any free)")
      ->capture_default_str();
  serve->add_option("--db", flags->db_path, "The lineage database (SQLite, local disk)")
      ->capture_default_str();
  serve->add_option("--checkpoints", flags->checkpoint_dir,
                    "Directory of uploaded checkpoints (default: DB.checkpoints)");
  serve->add_option("--tls-cert", flags->tls_cert_file, "Server certificate (PEM)");
  serve->add_option("--tls-key", flags->tls_key_file, "Server key (PEM)");
  serve->add_option("--client-ca", flags->client_ca_file,
                    "CA (PEM) whose client certificates are required (mTLS)");
  serve->add_option("--token-file", flags->token_file,
                    "File holding the bearer token every call must carry (else $HEADEVO_TOKEN)");
  serve->add_flag("--insecure", flags->insecure,
                  "Allow a non-loopback address without TLS and a token (trusted networks only)");
  serve
      ->add_option("--lease-seconds", flags->lease_seconds,
                   "A job whose worker sends no heartbeat this long is queued again")
      ->capture_default_str();
  serve
      ->add_option("--max-attempts", flags->max_attempts,
                   "Leases a job gets before its candidate is marked failed")
      ->capture_default_str();
  serve
      ->add_option("--keep-best", flags->keep_best,
                   "Checkpoints kept per search (its best candidates') once nothing else needs "
                   "them")
      ->capture_default_str();
  serve
      ->add_option("--gc-seconds", flags->gc_seconds,
                   "How often unneeded checkpoints are collected")
      ->capture_default_str();
  serve->add_option("--metrics-listen", flags->metrics_listen,
                    "HOST:PORT for Prometheus metrics at /metrics (e.g. 0.0.0.0:9464; off when "
                    "empty)");
  serve->add_option("--health-listen", flags->health_listen,
                    "HOST:PORT for a plaintext gRPC health service for probes (service \"\": "
                    "live, \"headevo.ready\": ready; e.g. 0.0.0.0:8081; off when empty)");
  serve->add_option("--http-listen", flags->http_listen,
                    "HOST:PORT for the live dashboard in a browser and its JSON API under /api/ "
                    "(e.g. 127.0.0.1:8080; docs/dashboard.md). Same rule as --listen: loopback "
                    "only unless TLS and a token (or --insecure); off when empty");
  serve->add_option("--http-assets", flags->http_assets,
                    "Where the dashboard finds chart.js/ and d3/ (Debian: libjs-chart.js, "
                    "libjs-d3)")
      ->capture_default_str();
}

}  // namespace headevo::cli
