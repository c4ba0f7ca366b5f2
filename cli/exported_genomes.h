// Populations exported by `headevo export` (JSON of headevo.v1.ExportedPopulation), read back
// as the genomes a new search starts from (`headevo run --start-from`, `headevo launch
// --start-from`).
#ifndef HEADEVO_CLI_EXPORTED_GENOMES_H_
#define HEADEVO_CLI_EXPORTED_GENOMES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/genome.pb.h"

namespace headevo::cli {

// The genomes of an exported population file, best first. NotFound naming the path;
// InvalidArgument when it is not such a file.
absl::StatusOr<std::vector<headevo::v1::Genome>> ReadExportedGenomes(const std::string& path);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_EXPORTED_GENOMES_H_
