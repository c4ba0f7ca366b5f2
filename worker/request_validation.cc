#include "worker/request_validation.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "search/image_task.h"
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
  const std::tuple<const char*, double> non_negative[] = {
      {"training.weight_decay", training.weight_decay()},
      {"training.max_grad_norm", training.max_grad_norm()},
      {"training.entropy_weight", training.entropy_weight()},
      {"training.final_lr_fraction", training.final_lr_fraction()},
  };
  for (const auto& [field, value] : non_negative) {
    if (!(value >= 0.0) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " must be finite and >= 0, got ", value));
    }
  }
  if (training.final_lr_fraction() > 1.0) {
    return absl::InvalidArgumentError(absl::StrCat("training.final_lr_fraction must be <= 1, got ",
                                                   training.final_lr_fraction()));
  }
  if (training.schedule_steps() != 0 && training.schedule_steps() < training.steps()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training.schedule_steps (", training.schedule_steps(),
        ") must be 0 or >= training.steps (", training.steps(),
        "): the learning-rate schedule covers the candidate's whole budget, of which this job "
        "trains up to steps"));
  }
  if (training.warmup_steps() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.warmup_steps must be >= 0, got ", training.warmup_steps()));
  }
  if (!headevo::v1::LearningRateSchedule_IsValid(training.lr_schedule())) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.lr_schedule ", training.lr_schedule(), " is not a known schedule"));
  }
  if (!headevo::v1::NewHeadInit_IsValid(training.new_head_init())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training.new_head_init ", training.new_head_init(), " is not a known initialiser"));
  }
  if (training.growth_batches() < 0 || training.growth_batches() > kMaxGrowthBatches) {
    return absl::InvalidArgumentError(absl::StrCat("training.growth_batches must be in [0, ",
                                                   kMaxGrowthBatches, "], got ",
                                                   training.growth_batches()));
  }
  return absl::OkStatus();
}

// The parameter each baseline needs, in range for the model.
absl::Status ValidateAttentionKind(const ModelSpec& m) {
  const auto require = [](const char* field, int64_t value, int64_t lo, int64_t hi) {
    if (value >= lo && value <= hi) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("training.model.", field, " must be in [", lo, ", ", hi, "], got ", value));
  };
  switch (m.attention()) {
    case headevo::v1::ATTENTION_KIND_UNSPECIFIED:
    case headevo::v1::ATTENTION_KIND_SPARSE:
    case headevo::v1::ATTENTION_KIND_DENSE:
      return absl::OkStatus();
    case headevo::v1::ATTENTION_KIND_LOCAL:
      return require("window (for local attention)", m.window(), 1, m.seq_len());
    case headevo::v1::ATTENTION_KIND_STRIDED:
      return require("stride (for strided attention)", m.stride(), 1, m.seq_len());
    case headevo::v1::ATTENTION_KIND_RANDOM:
      return require("random_k (for random heads)", m.random_k(), 1, m.seq_len());
    case headevo::v1::ATTENTION_KIND_DILATED:
      return absl::OkStatus();
    case headevo::v1::ATTENTION_KIND_WINDOW_RANDOM:
      if (absl::Status s = require("window (for window_random)", m.window(), 1, m.seq_len());
          !s.ok()) {
        return s;
      }
      return require("random_k (for window_random)", m.random_k(), 1, m.seq_len());
    case headevo::v1::ATTENTION_KIND_LINFORMER:
      if (m.causal()) {
        return absl::InvalidArgumentError(
            "training.model.attention linformer needs causal = false: its projection along the "
            "sequence mixes future positions into every key");
      }
      return require("linformer_rank (for linformer)", m.linformer_rank(), 1, m.seq_len());
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("training.model.attention ", m.attention(), " is not a known kind"));
  }
}

absl::Status ValidateOffsets(const headevo::v1::Head& head, int index, const ModelSpec& m) {
  const std::string where = absl::StrCat("genome.heads[", index, "] (layer ", head.layer(), ")");
  const auto& offsets = head.offsets().offsets();
  if (offsets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": empty offset set in sparse mode"));
  }
  if (head.extra_key_width() < 0 || head.extra_key_width() > kMaxExtraKeyWidth) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": extra_key_width ",
                                                   head.extra_key_width(), " is outside [0, ",
                                                   kMaxExtraKeyWidth, "]"));
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
    if (UsesGenomeOffsets(m)) {
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
        if (m.causal() && offset > 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "training.task.planted_offsets: offset ", offset,
              " looks ahead, which a causal model cannot see; set model.causal = false for the "
              "bidirectional task"));
        }
      }
      return absl::OkStatus();
    case headevo::v1::TASK_KIND_TEXT_FILES:
      if (task.text_path().empty()) {
        return absl::InvalidArgumentError(
            "training.task.text_path is empty: name a text file or a directory of them");
      }
      [[fallthrough]];
    case headevo::v1::TASK_KIND_BROWN_CORPUS:
      if (m.vocab_size() != 256) {
        return absl::InvalidArgumentError(
            absl::StrCat("training.model.vocab_size must be 256 for a byte-level text task, got ",
                         m.vocab_size()));
      }
      return absl::OkStatus();
    case headevo::v1::TASK_KIND_IMAGE_PIXELS:
      if (absl::Status s = search::ValidateImageTask(training); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("training.", s.message()));
      }
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("training.task.kind ", task.kind(), " is not a known task"));
  }
}

// It becomes a file name: only a SHA-256 in lower-case hex may reach the filesystem.
absl::Status ValidateSha256(const char* field, const std::string& sha256) {
  if (sha256.empty() ||
      (sha256.size() == 64 && sha256.find_first_not_of("0123456789abcdef") == std::string::npos)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be 64 lower-case hex digits, got \"", sha256.substr(0, 80), "\""));
}

absl::Status ValidateCheckpoints(const headevo::v1::EvaluationRequest& request) {
  if (absl::Status s =
          ValidateSha256("parent_checkpoint_sha256", request.parent_checkpoint_sha256());
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateSha256("resume_checkpoint_sha256", request.resume_checkpoint_sha256());
      !s.ok()) {
    return s;
  }
  if (!request.resume_checkpoint_sha256().empty() && !request.parent_checkpoint_sha256().empty()) {
    return absl::InvalidArgumentError(
        "resume_checkpoint_sha256 and parent_checkpoint_sha256 are both set: a resumed run "
        "takes all its weights from its own checkpoint, so a promotion names no parent");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRequest(const headevo::v1::EvaluationRequest& request) {
  const TrainingSpec& training = request.training();
  if (absl::Status s = ValidateSizes(training); !s.ok()) return s;
  if (absl::Status s = ValidateAttentionKind(training.model()); !s.ok()) return s;
  if (absl::Status s = ValidateCheckpoints(request); !s.ok()) return s;
  if (absl::Status s = ValidateGenome(request.genome(), training.model()); !s.ok()) return s;
  return ValidateTask(training);
}

}  // namespace headevo::worker
