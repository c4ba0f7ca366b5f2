// Which reference models a search trains beside its candidates, and how: dense attention and
// the hand-made baselines of [baselines] (local window, strided, Linformer, random heads,
// dilated, window + random).
// Pure: the coordinator queues what these functions plan as jobs (server/engine/coordinator.h).
#ifndef HEADEVO_SEARCH_REFERENCE_MODELS_H_
#define HEADEVO_SEARCH_REFERENCE_MODELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/training.pb.h"
#include "search/search_options.h"

namespace headevo::search {

// Reference.role values.
inline constexpr char kBaselineRole[] = "baseline";
inline constexpr char kKSweepBarRole[] = "k_sweep_bar";

struct ReferencePlan {
  std::string kind;         // "dense", "local", "strided", "linformer", "random", "dilated", ...
  std::string description;  // "local attention (window 8)"
  std::string role;         // kBaselineRole or kKSweepBarRole
  // The search's training spec with this model and its own seed.
  headevo::v1::TrainingSpec training;
  // What the worker receives: heads_per_layer heads in every layer, without offsets (every
  // reference kind ignores them).
  headevo::v1::Genome genome;
};

// The dense model, trained as the search's candidates are, with its own seed stream.
ReferencePlan DenseReference(const SearchOptions& options, const std::string& role);

// The baselines of options.baselines in their order, preceded by dense when `with_dense`. A
// parameter configured as 0 (window, Linformer rank, random k) takes the best candidate's mean
// k per head (1 when `best` is null); the stride defaults to the image width for an image task
// and to sqrt(seq_len) otherwise. window_random's window and random_k, when 0, split that k:
// ceil(k/2) local and floor(k/2) (at least 1) random. Dilated has no parameter.
std::vector<ReferencePlan> BaselineReferences(const SearchOptions& options,
                                              const headevo::v1::Candidate* best, bool with_dense);

// "local attention (window 8)": how people see a reference model.
std::string DescribeReferenceModel(const headevo::v1::ModelSpec& model);
// "dense", "local", ... for an attention kind.
std::string ReferenceKindName(headevo::v1::AttentionKind kind);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_REFERENCE_MODELS_H_
