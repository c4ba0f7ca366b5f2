#include "cli/report_command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/client_commands.h"
#include "cli/report_data.h"
#include "cli/report_figures.h"
#include "cli/report_page.h"
#include "cli/search_client.h"
#include "storage/store.h"

namespace headevo::cli {
namespace {

namespace fs = std::filesystem;

int Fail(int code, const std::string& message) {
  std::cerr << "headevo: " << message << "\n";
  return code;
}

// Creates `dir` if needed and proves it writable. PermissionDenied naming it and why not.
absl::Status PrepareOutputDir(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error || !fs::is_directory(dir)) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the output directory ", dir, ": ",
                     error ? error.message() : "a file of that name is in the way"));
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write to the output directory ", dir, ": permission denied"));
  }
  return absl::OkStatus();
}

// Writes `text` to `path` whole: a temporary file renamed into place.
absl::Status WriteFileAtomically(const fs::path& path, const std::string& text) {
  const fs::path temporary = fs::path(path.string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return absl::PermissionDeniedError(absl::StrCat("cannot write ", temporary.string()));
    }
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace

int ReportCommand(const ClientFlags& flags, const ReportFlags& report) {
  for (const ExternalTool& tool : {kGnuplot, kGraphviz}) {
    absl::StatusOr<std::string> found = FindTool(tool);
    if (!found.ok()) {
      return Fail(2, absl::StrCat(found.status().message(),
                                  "; headevo report draws its "
                                  "figures with it"));
    }
  }
  absl::StatusOr<std::unique_ptr<SearchClient>> client = OpenClient(flags);
  if (!client.ok()) return Fail(2, std::string(client.status().message()));
  absl::StatusOr<ReportData> data = GatherReportData(**client, report.search_id);
  if (!data.ok()) {
    std::string message(data.status().message());
    if (absl::IsNotFound(data.status())) {
      absl::StrAppend(&message, " (`headevo status",
                      flags.db_path.empty() ? "" : " --db " + flags.db_path,
                      "` lists the searches)");
    }
    return Fail(1, message);
  }
  std::string source = absl::StrCat("coordinator ", flags.coordinator);
  if (!flags.db_path.empty()) {
    source = absl::StrCat("database ", flags.db_path);
    storage::StoreOptions options;
    options.read_only = true;
    absl::StatusOr<std::unique_ptr<storage::Store>> store =
        storage::Store::Open(flags.db_path, options);
    if (!store.ok()) return Fail(2, std::string(store.status().message()));
    if (absl::Status s = AddStoreDetails(**store, report.search_id, &*data); !s.ok()) {
      return Fail(1, std::string(s.message()));
    }
  }
  if (absl::Status s = PrepareOutputDir(report.out_dir); !s.ok()) {
    return Fail(2, std::string(s.message()));
  }
  absl::StatusOr<std::vector<Figure>> figures = DrawFigures(*data, report.out_dir);
  if (!figures.ok()) return Fail(1, std::string(figures.status().message()));
  const fs::path page = fs::path(report.out_dir) / "index.html";
  if (absl::Status s = WriteFileAtomically(page, ReportPage(*data, *figures, source)); !s.ok()) {
    return Fail(2, std::string(s.message()));
  }
  std::printf("wrote %s (search %lld, %zu figures): open it in a browser\n", page.c_str(),
              static_cast<long long>(report.search_id), figures->size());
  return 0;
}

}  // namespace headevo::cli
