#include "worker/torch_evaluator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "worker/brown_corpus.h"
#include "worker/byte_text_task.h"
#include "worker/genome_layout.h"
#include "worker/head_stats.h"
#include "worker/model.h"
#include "worker/planted_offsets_task.h"
#include "worker/request_validation.h"
#include "worker/task.h"
#include "worker/trainer.h"

namespace headevo::worker {
namespace {

// Separates the data stream from the weight-init stream that share training.seed.
constexpr uint64_t kDataSeedSalt = 0x64617461ULL;  // "data"

// Mean of the last ~10% (at least one) of the training losses.
double TailMean(const std::vector<double>& losses) {
  const size_t tail = std::max<size_t>(1, losses.size() / 10);
  return std::accumulate(losses.end() - tail, losses.end(), 0.0) / static_cast<double>(tail);
}

SparseTransformerOptions ModelOptions(const headevo::v1::ModelSpec& spec,
                                      const GenomeLayout& layout, const torch::Device& device) {
  SparseTransformerOptions options;
  options.vocab_size = spec.vocab_size();
  options.d_model = spec.d_model();
  options.d_head = spec.d_head();
  options.mlp_ratio = spec.mlp_ratio();
  options.seq_len = spec.seq_len();
  options.offsets = layout.offsets;
  options.device = device;
  return options;
}

TrainerOptions TrainerOptionsFor(const headevo::v1::TrainingSpec& training,
                                 const torch::Device& device) {
  TrainerOptions options;
  options.steps = training.steps();
  options.batch_size = training.batch_size();
  options.learning_rate = training.learning_rate();
  options.weight_decay = training.weight_decay();
  options.device = device;
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TorchEvaluator>> TorchEvaluator::Create(
    const TorchEvaluatorOptions& options) {
  if (options.num_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_threads must be >= 0, got ", options.num_threads));
  }
  std::optional<c10::Device> device;
  try {
    device.emplace(options.device);
  } catch (const std::exception&) {
    return absl::InvalidArgumentError(absl::StrCat("unknown device \"", options.device, "\""));
  }
  if (device->is_cuda() && !torch::cuda::is_available()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "device \"", options.device, "\" requested but CUDA is not available to LibTorch"));
  }
  if (device->is_cuda() && device->has_index() &&
      device->index() >= static_cast<int>(torch::cuda::device_count())) {
    return absl::InvalidArgumentError(absl::StrCat("device \"", options.device, "\": only ",
                                                   torch::cuda::device_count(), " CUDA devices"));
  }
  if (!device->is_cpu() && !device->is_cuda()) {
    return absl::InvalidArgumentError(
        absl::StrCat("device \"", options.device, "\": only cpu and cuda are supported"));
  }
  if (options.num_threads > 0) torch::set_num_threads(options.num_threads);
  return std::unique_ptr<TorchEvaluator>(new TorchEvaluator(*device));
}

absl::StatusOr<headevo::v1::EvaluationResult> TorchEvaluator::Evaluate(
    const headevo::v1::EvaluationRequest& request) {
  if (absl::Status status = ValidateRequest(request); !status.ok()) return status;
  try {
    return EvaluateOrThrow(request);
  } catch (const c10::OutOfMemoryError& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory on ", device_.str(), ": ", e.what_without_backtrace()));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("libtorch: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("evaluation failed: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<Task>> TorchEvaluator::MakeTask(
    const headevo::v1::TrainingSpec& training) {
  const headevo::v1::TaskSpec& spec = training.task();
  const int64_t seq_len = training.model().seq_len();
  if (spec.kind() == headevo::v1::TASK_KIND_PLANTED_OFFSETS) {
    return std::make_unique<PlantedOffsetsTask>(
        training.model().vocab_size(), seq_len,
        std::vector<int32_t>(spec.planted_offsets().begin(), spec.planted_offsets().end()));
  }
  const std::string dir = spec.corpus_dir().empty() ? DefaultBrownCorpusDir() : spec.corpus_dir();
  auto& text = corpora_[dir];
  if (text == nullptr) {
    absl::StatusOr<std::string> read = ReadBrownCorpus(dir);
    if (!read.ok()) {
      corpora_.erase(dir);
      return read.status();
    }
    text = std::make_shared<const std::string>(*std::move(read));
  }
  absl::StatusOr<std::unique_ptr<ByteTextTask>> task = ByteTextTask::Create(*text, seq_len);
  if (!task.ok()) return task.status();
  return std::unique_ptr<Task>(*std::move(task));
}

absl::StatusOr<headevo::v1::EvaluationResult> TorchEvaluator::EvaluateOrThrow(
    const headevo::v1::EvaluationRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  const headevo::v1::TrainingSpec& training = request.training();
  absl::StatusOr<std::unique_ptr<Task>> task = MakeTask(training);
  if (!task.ok()) return task.status();

  torch::manual_seed(training.seed());
  torch::Generator data = at::detail::createCPUGenerator(training.seed() ^ kDataSeedSalt);
  const GenomeLayout layout = MakeGenomeLayout(request.genome(), training.model());
  SparseTransformer model(ModelOptions(training.model(), layout, device_));
  absl::StatusOr<std::vector<double>> losses =
      Train(model, **task, TrainerOptionsFor(training, device_), &data);
  if (!losses.ok()) return losses.status();

  std::vector<Batch> validation =
      (*task)->ValidationBatches(training.batch_size(), training.eval_batches());
  const double val_loss = ValidationLoss(model, validation, device_);
  if (!std::isfinite(val_loss)) {
    return absl::InternalError(absl::StrCat("validation loss is not finite: ", val_loss));
  }
  for (Batch& batch : validation) batch = ToDevice(batch, device_);
  std::vector<headevo::v1::HeadStats> stats =
      ComputeHeadStats(model, validation, request.genome(), layout);

  headevo::v1::EvaluationResult result;
  result.set_candidate_id(request.candidate_id());
  headevo::v1::Metrics* metrics = result.mutable_metrics();
  metrics->set_train_loss(TailMean(*losses));
  metrics->set_val_loss(val_loss);
  metrics->set_connections(CountConnections(request.genome(), training.model()));
  metrics->set_steps(training.steps());
  metrics->set_train_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  for (headevo::v1::HeadStats& s : stats) *result.add_head_stats() = std::move(s);
  spdlog::debug("candidate {}: val_loss {:.4f} train_loss {:.4f} in {:.2f} s on {}",
                request.candidate_id(), metrics->val_loss(), metrics->train_loss(),
                metrics->train_seconds(), device_.str());
  return result;
}

}  // namespace headevo::worker
