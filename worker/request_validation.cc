#include "worker/request_validation.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "worker/genome_layout.h"

namespace headevo::worker {
namespace {

using headevo::v1::Genome;
using headevo::v1::ModelSpec;
using headevo::v1::TrainingSpec;

absl::Status ValidateSizes(const TrainingSpec& training) {
  const ModelSpec& m = training.model();
  const std::tuple<const char*, int64_t> sizes[] = {
      {"training.model.vocab_size", m.vocab_size()},
      {"training.model.d_model", m.d_model()},
      {"training.model.num_layers", m.num_layers()},
      {"training.model.d_head", m.d_head()},
      {"training.model.mlp_ratio", m.mlp_ratio()},
      {"training.model.seq_len", m.seq_len()},
      {"training.steps", training.steps()},
      {"training.batch_size", training.batch_size()},
      {"training.eval_batches", training.eval_batches()},
  };
  for (const auto& [field, value] : sizes) {
    if (value <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(field, " must be > 0, got ", value));
    }
  }
  if (!(training.learning_rate() > 0.0) || !std::isfinite(training.learning_rate())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training.learning_rate must be finite and > 0, got ", training.learning_rate()));
  }
  if (!(training.weight_decay() >= 0.0) || !std::isfinite(training.weight_decay())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training.weight_decay must be finite and >= 0, got ", training.weight_decay()));
  }
  return absl::OkStatus();
}

absl::Status ValidateOffsets(const headevo::v1::Head& head, int index, const ModelSpec& m) {
  const std::string where = absl::StrCat("genome.heads[", index, "] (layer ", head.layer(), ")");
  const auto& offsets = head.offsets().offsets();
  if (offsets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": empty offset set in sparse mode"));
  }
  for (int i = 0; i < offsets.size(); ++i) {
    const int offset = offsets[i];
    if (i > 0 && offset <= offsets[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": offsets must be sorted and unique, got ", offsets[i - 1], " then ", offset));
    }
    if (std::abs(static_cast<int64_t>(offset)) >= m.seq_len()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": offset ", offset, " is outside seq_len ", m.seq_len()));
    }
    if (m.causal() && offset > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": offset ", offset, " looks ahead but model.causal is true"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGenome(const Genome& genome, const ModelSpec& m) {
  if (genome.heads().empty()) return absl::InvalidArgumentError("genome.heads is empty");
  if (genome.num_layers() != 0 && genome.num_layers() != m.num_layers()) {
    return absl::InvalidArgumentError(absl::StrCat("genome.num_layers (", genome.num_layers(),
                                                   ") differs from training.model.num_layers (",
                                                   m.num_layers(), ")"));
  }
  std::vector<int> heads_per_layer(m.num_layers(), 0);
  for (int i = 0; i < genome.heads_size(); ++i) {
    const headevo::v1::Head& head = genome.heads(i);
    if (head.layer() < 0 || head.layer() >= m.num_layers()) {
      return absl::InvalidArgumentError(absl::StrCat("genome.heads[", i, "]: layer index ",
                                                     head.layer(), " is out of range [0, ",
                                                     m.num_layers(), ")"));
    }
    ++heads_per_layer[head.layer()];
    if (IsSparse(m)) {
      if (absl::Status s = ValidateOffsets(head, i, m); !s.ok()) return s;
    }
  }
  for (int layer = 0; layer < m.num_layers(); ++layer) {
    if (heads_per_layer[layer] == 0) {
      return absl::InvalidArgumentError(absl::StrCat("genome: layer ", layer, " has no heads"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTask(const TrainingSpec& training) {
  const ModelSpec& m = training.model();
  const headevo::v1::TaskSpec& task = training.task();
  switch (task.kind()) {
    case headevo::v1::TASK_KIND_PLANTED_OFFSETS:
      if (task.planted_offsets().empty()) {
        return absl::InvalidArgumentError("training.task.planted_offsets is empty");
      }
      for (int offset : task.planted_offsets()) {
        if (std::abs(static_cast<int64_t>(offset)) >= m.seq_len()) {
          return absl::InvalidArgumentError(absl::StrCat("training.task.planted_offsets: offset ",
                                                         offset, " is outside seq_len ",
                                                         m.seq_len()));
        }
      }
      return absl::OkStatus();
    case headevo::v1::TASK_KIND_BROWN_CORPUS:
      if (m.vocab_size() != 256) {
        return absl::InvalidArgumentError(absl::StrCat(
            "training.model.vocab_size must be 256 for the byte-level brown corpus task, got ",
            m.vocab_size()));
      }
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("training.task.kind ", task.kind(), " is not a known task"));
  }
}

}  // namespace

absl::Status ValidateRequest(const headevo::v1::EvaluationRequest& request) {
  const TrainingSpec& training = request.training();
  if (absl::Status s = ValidateSizes(training); !s.ok()) return s;
  if (absl::Status s = ValidateGenome(request.genome(), training.model()); !s.ok()) return s;
  return ValidateTask(training);
}

}  // namespace headevo::worker
