#include "search/reference_models.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "search/image_task.h"
#include "search/random.h"

namespace headevo::search {
namespace {

// The references' training seed streams: negative, so never a candidate's ordinal. Dense
// trains on stream -1, baseline i of options.baselines on -2 - i.
constexpr int64_t kDenseStream = -1;

headevo::v1::Genome HeadCountGenome(const headevo::v1::ModelSpec& model) {
  headevo::v1::Genome genome;
  genome.set_num_layers(model.num_layers());
  for (int layer = 0; layer < model.num_layers(); ++layer) {
    for (int h = 0; h < model.heads_per_layer(); ++h) genome.add_heads()->set_layer(layer);
  }
  return genome;
}

ReferencePlan Plan(const SearchOptions& options, const headevo::v1::ModelSpec& model,
                   std::string role, int64_t stream) {
  ReferencePlan plan;
  plan.kind = ReferenceKindName(model.attention());
  plan.description = DescribeReferenceModel(model);
  plan.role = std::move(role);
  plan.training = options.training;
  *plan.training.mutable_model() = model;
  plan.training.set_seed(DeriveSeed(options.seed, static_cast<uint64_t>(stream)));
  plan.genome = HeadCountGenome(model);
  return plan;
}

// A baseline parameter: the configured value, or when 0 the best candidate's mean k per head.
int BaselineParameter(int configured, const headevo::v1::Candidate* best) {
  if (configured > 0) return configured;
  if (best == nullptr) return 1;
  const int heads = std::max(1, best->genome().heads_size());
  return std::max<int>(1, static_cast<int>(std::lround(
                              static_cast<double>(best->metrics().connections()) / heads)));
}

}  // namespace

std::string DescribeReferenceModel(const headevo::v1::ModelSpec& model) {
  switch (model.attention()) {
    case headevo::v1::ATTENTION_KIND_DENSE: return "dense attention";
    case headevo::v1::ATTENTION_KIND_LOCAL:
      return absl::StrCat("local attention (window ", model.window(), ")");
    case headevo::v1::ATTENTION_KIND_STRIDED:
      return absl::StrCat("strided attention (stride ", model.stride(), ")");
    case headevo::v1::ATTENTION_KIND_LINFORMER:
      return absl::StrCat("Linformer (rank ", model.linformer_rank(), ")");
    case headevo::v1::ATTENTION_KIND_RANDOM:
      return absl::StrCat("random heads (mean k ", model.random_k(), ")");
    case headevo::v1::ATTENTION_KIND_DILATED: return "dilated attention (offsets -1, -2, -4, ...)";
    case headevo::v1::ATTENTION_KIND_WINDOW_RANDOM:
      return absl::StrCat("window + random (window ", model.window(), ", ", model.random_k(),
                          " random)");
    default: return "sparse heads";
  }
}

std::string ReferenceKindName(headevo::v1::AttentionKind kind) {
  switch (kind) {
    case headevo::v1::ATTENTION_KIND_DENSE: return "dense";
    case headevo::v1::ATTENTION_KIND_LOCAL: return "local";
    case headevo::v1::ATTENTION_KIND_STRIDED: return "strided";
    case headevo::v1::ATTENTION_KIND_LINFORMER: return "linformer";
    case headevo::v1::ATTENTION_KIND_RANDOM: return "random";
    case headevo::v1::ATTENTION_KIND_DILATED: return "dilated";
    case headevo::v1::ATTENTION_KIND_WINDOW_RANDOM: return "window_random";
    default: return "sparse";
  }
}

ReferencePlan DenseReference(const SearchOptions& options, const std::string& role) {
  headevo::v1::ModelSpec model = options.training.model();
  model.set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  return Plan(options, model, role, kDenseStream);
}

std::vector<ReferencePlan> BaselineReferences(const SearchOptions& options,
                                              const headevo::v1::Candidate* best,
                                              bool with_dense) {
  std::vector<ReferencePlan> plans;
  if (with_dense) plans.push_back(DenseReference(options, kBaselineRole));
  for (size_t i = 0; i < options.baselines.size(); ++i) {
    headevo::v1::ModelSpec model = options.training.model();
    model.set_attention(options.baselines[i]);
    switch (options.baselines[i]) {
      case headevo::v1::ATTENTION_KIND_LOCAL:
        model.set_window(
            std::min(BaselineParameter(options.baseline_window, best), model.seq_len()));
        break;
      case headevo::v1::ATTENTION_KIND_STRIDED: {
        const int stride = options.baseline_stride > 0 ? options.baseline_stride
                           : IsImageTask(options.training.task())
                               ? ImageWidth(options.training.task())
                               : static_cast<int>(std::lround(std::sqrt(model.seq_len())));
        model.set_stride(std::min(std::max(stride, 1), model.seq_len()));
        break;
      }
      case headevo::v1::ATTENTION_KIND_LINFORMER:
        model.set_linformer_rank(
            std::min(BaselineParameter(options.baseline_linformer_rank, best), model.seq_len()));
        break;
      case headevo::v1::ATTENTION_KIND_DILATED: break;
      case headevo::v1::ATTENTION_KIND_WINDOW_RANDOM: {
        // Half the best candidate's k local, half random, for a parameter configured as 0.
        const int k = BaselineParameter(0, best);
        const int window =
            options.baseline_window > 0 ? options.baseline_window : std::max(1, (k + 1) / 2);
        const int random = options.baseline_random_k > 0 ? options.baseline_random_k
                                                         : std::max(1, k / 2);
        model.set_window(std::min(window, model.seq_len()));
        model.set_random_k(std::min(random, model.seq_len()));
        break;
      }
      default:
        model.set_attention(headevo::v1::ATTENTION_KIND_RANDOM);
        model.set_random_k(
            std::min(BaselineParameter(options.baseline_random_k, best), model.seq_len()));
        break;
    }
    plans.push_back(Plan(options, model, kBaselineRole,
                         kDenseStream - 1 - static_cast<int64_t>(i)));
  }
  return plans;
}

}  // namespace headevo::search
