#include "cli/exported_genomes.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "headevo/v1/search_service.pb.h"

namespace headevo::cli {

absl::StatusOr<std::vector<headevo::v1::Genome>> ReadExportedGenomes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  headevo::v1::ExportedPopulation population;
  if (!google::protobuf::util::JsonStringToMessage(text.str(), &population).ok() ||
      population.candidates().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a population exported by `headevo export` (JSON with candidates)"));
  }
  std::vector<headevo::v1::Genome> genomes;
  for (const headevo::v1::Candidate& c : population.candidates()) genomes.push_back(c.genome());
  return genomes;
}

}  // namespace headevo::cli
