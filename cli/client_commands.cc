#include "cli/client_commands.h"

#include "cli/exported_genomes.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/formatting.h"
#include "cli/lineage_format.h"
#include "cli/search_client.h"
#include "google/protobuf/util/json_util.h"
#include "headevo/v1/search_service.pb.h"

namespace headevo::cli {
namespace {

int Fail(int code, const std::string& message) {
  std::cerr << "headevo: " << message << "\n";
  return code;
}

int Fail(const absl::Status& status) { return Fail(1, std::string(status.message())); }

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `body` with an open client, turning a failure to open into exit code 2.
template <typename Body>
int WithClient(const ClientFlags& flags, Body body) {
  absl::StatusOr<std::unique_ptr<SearchClient>> client = OpenClient(flags);
  if (!client.ok()) return Fail(2, std::string(client.status().message()));
  return body(**client);
}

int PrintWatch(SearchClient& client, int64_t search_id) {
  absl::Status status = client.Watch(search_id, [](const headevo::v1::SearchEvent& event) {
    std::printf("%s\n", FormatEventLine(event).c_str());
    std::fflush(stdout);
    return true;
  });
  if (!status.ok()) return Fail(status);
  absl::StatusOr<headevo::v1::SearchSummary> summary = client.GetSearch(search_id);
  if (summary.ok()) std::printf("%s", FormatSearchDetail(*summary).c_str());
  return 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SearchClient>> OpenClient(const ClientFlags& flags) {
  if (!flags.db_path.empty()) return OpenOffline(flags.db_path);
  worker::ChannelOptions channel;
  channel.address = flags.coordinator;
  channel.tls_ca_file = flags.tls_ca_file;
  channel.tls_cert_file = flags.tls_cert_file;
  channel.tls_key_file = flags.tls_key_file;
  channel.tls_server_name = flags.tls_server_name;
  absl::StatusOr<std::string> token = worker::TokenFromFileOrEnvironment(flags.token_file);
  if (!token.ok()) return token.status();
  channel.token = *token;
  return ConnectToCoordinator(channel, static_cast<int64_t>(flags.timeout_seconds * 1000));
}

int LaunchCommand(const ClientFlags& flags, const std::string& config_path,
                  const std::string& start_from, bool watch) {
  absl::StatusOr<std::string> config = ReadText(config_path);
  if (!config.ok()) return Fail(2, std::string(config.status().message()));
  headevo::v1::CreateSearchRequest request;
  request.set_config_toml(*config);
  request.set_source_name(config_path);
  if (!start_from.empty()) {
    absl::StatusOr<std::vector<headevo::v1::Genome>> genomes = ReadExportedGenomes(start_from);
    if (!genomes.ok()) return Fail(2, std::string(genomes.status().message()));
    for (headevo::v1::Genome& g : *genomes) *request.add_initial_genomes() = std::move(g);
  }
  return WithClient(flags, [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::CreateSearchResponse> created = client.CreateSearch(request);
    if (!created.ok()) return Fail(created.status());
    std::printf("launched search %lld from %s\n  follow it:  headevo watch %lld\n",
                static_cast<long long>(created->search_id()), config_path.c_str(),
                static_cast<long long>(created->search_id()));
    std::fflush(stdout);
    return watch ? PrintWatch(client, created->search_id()) : 0;
  });
}

int StatusCommand(const ClientFlags& flags, int64_t search_id) {
  return WithClient(flags, [&](SearchClient& client) {
    if (search_id == 0) {
      absl::StatusOr<headevo::v1::ListSearchesResponse> list = client.ListSearches();
      if (!list.ok()) return Fail(list.status());
      std::printf("%s", FormatSearchTable(*list).c_str());
      return 0;
    }
    absl::StatusOr<headevo::v1::SearchSummary> summary = client.GetSearch(search_id);
    if (!summary.ok()) return Fail(summary.status());
    std::printf("%s", FormatSearchDetail(*summary).c_str());
    return 0;
  });
}

int WatchCommand(const ClientFlags& flags, int64_t search_id) {
  return WithClient(flags, [&](SearchClient& client) { return PrintWatch(client, search_id); });
}

int ControlCommand(const ClientFlags& flags, const std::string& kind, int64_t search_id) {
  return WithClient(flags, [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::SearchSummary> summary = client.Control(kind, search_id);
    if (!summary.ok()) return Fail(summary.status());
    std::printf("%s", FormatSearchDetail(*summary).c_str());
    return 0;
  });
}

int CandidatesCommand(const ClientFlags& flags, const CandidatesFlags& candidates) {
  headevo::v1::ListCandidatesRequest request;
  request.set_search_id(candidates.search_id);
  request.set_page_size(candidates.limit);
  request.set_page_token(candidates.page_token);
  if (candidates.order == "loss") {
    request.set_order(headevo::v1::CANDIDATE_ORDER_VAL_LOSS);
  } else if (candidates.order != "id") {
    return Fail(2, absl::StrCat("--order must be id or loss, got '", candidates.order, "'"));
  }
  if (!candidates.state.empty()) {
    const std::string name = "CANDIDATE_STATE_" + absl::AsciiStrToUpper(candidates.state);
    headevo::v1::CandidateState state;
    if (!headevo::v1::CandidateState_Parse(name, &state)) {
      return Fail(2, absl::StrCat("--state must be pending, running, done or failed, got '",
                                  candidates.state, "'"));
    }
    request.set_state(state);
  }
  if (!candidates.generation.empty()) {
    std::vector<std::string> parts = absl::StrSplit(candidates.generation, ':');
    int low = 0;
    int high = 0;
    if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], &low) ||
        !absl::SimpleAtoi(parts.back(), &high) || low < 0 || high < low) {
      return Fail(2, absl::StrCat("--generation must be G or A:B with 0 <= A <= B, got '",
                                  candidates.generation, "'"));
    }
    request.set_min_generation(low);
    request.set_max_generation(high);
  }
  return WithClient(flags, [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::ListCandidatesResponse> page = client.ListCandidates(request);
    if (!page.ok()) return Fail(page.status());
    std::printf("%s", FormatCandidateTable(*page).c_str());
    // The reference models are trained beside the candidates but are not candidates: shown
    // once, under the first page.
    if (request.page_token().empty()) {
      absl::StatusOr<headevo::v1::SearchSummary> search = client.GetSearch(request.search_id());
      if (!search.ok()) return Fail(search.status());
      if (search->references_size() > 0) std::printf("reference models (outside the lineage):\n");
      for (const headevo::v1::Reference& r : search->references()) {
        std::printf("  %s\n", FormatReference(r).c_str());
      }
    }
    return 0;
  });
}

int LineageCommand(const ClientFlags& flags, int64_t candidate_id, const std::string& format,
                   int descendants) {
  if (format != "tree" && format != "dot" && format != "json") {
    return Fail(2, absl::StrCat("--format must be tree, dot or json, got '", format, "'"));
  }
  headevo::v1::GetLineageRequest request;
  request.set_candidate_id(candidate_id);
  request.set_descendant_depth(descendants);
  return WithClient(flags, [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::GetLineageResponse> lineage = client.GetLineage(request);
    if (!lineage.ok()) return Fail(lineage.status());
    const std::string text = format == "tree"  ? FormatLineageTree(*lineage)
                             : format == "dot" ? FormatLineageDot(*lineage)
                                               : FormatLineageJson(*lineage);
    std::printf("%s", text.c_str());
    if (!text.empty() && text.back() != '\n') std::printf("\n");
    return 0;
  });
}

int HeadCommand(const ClientFlags& flags, int64_t head_id) {
  return WithClient(flags, [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::GetHeadHistoryResponse> history = client.GetHeadHistory(head_id);
    if (!history.ok()) return Fail(history.status());
    std::printf("%s", FormatHeadHistory(*history).c_str());
    std::printf("%s", FormatGrowthChain(*history).c_str());
    return 0;
  });
}

int ParetoCommand(const ClientFlags& flags, int64_t search_id) {
  return WithClient(flags, [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::GetParetoFrontResponse> front = client.GetParetoFront(search_id);
    if (!front.ok()) return Fail(front.status());
    std::printf("%s", FormatParetoFront(*front).c_str());
    return 0;
  });
}

int ExportCommand(const ClientFlags& flags, int64_t search_id, int count,
                  const std::string& output_path) {
  headevo::v1::ExportBestRequest request;
  request.set_search_id(search_id);
  request.set_count(count);
  return WithClient(flags, [&](SearchClient& client) {
    absl::StatusOr<headevo::v1::ExportedPopulation> best = client.ExportBest(request);
    if (!best.ok()) return Fail(best.status());
    google::protobuf::util::JsonPrintOptions json;
    json.add_whitespace = true;
    json.preserve_proto_field_names = true;
    std::string text;
    if (!google::protobuf::util::MessageToJsonString(*best, &text, json).ok()) {
      return Fail(1, "cannot write the population as JSON");
    }
    if (output_path.empty() || output_path == "-") {
      std::printf("%s", text.c_str());
      return 0;
    }
    std::ofstream out(output_path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return Fail(1, absl::StrCat("cannot write ", output_path));
    std::printf("wrote the best %d genome(s) of search %lld to %s\n  start from them:  headevo "
                "run CONFIG --start-from %s   (or: headevo launch CONFIG --start-from %s)\n",
                best->candidates_size(), static_cast<long long>(search_id),
                output_path.c_str(), output_path.c_str(), output_path.c_str());
    return 0;
  });
}

}  // namespace headevo::cli
