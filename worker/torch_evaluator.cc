#include "worker/torch_evaluator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <map>
#include <new>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "search/image_task.h"
#include "spdlog/spdlog.h"
#include "worker/brown_corpus.h"
#include "worker/byte_text_task.h"
#include "worker/checkpoint.h"
#include "worker/genome_layout.h"
#include "worker/growth.h"
#include "worker/image_files.h"
#include "worker/image_pixels_task.h"
#include "worker/mnist_digits.h"
#include "worker/head_stats.h"
#include "worker/model.h"
#include "worker/planted_offsets_task.h"
#include "worker/request_validation.h"
#include "worker/resume.h"
#include "worker/task.h"
#include "worker/trainer.h"

namespace headevo::worker {
namespace {

// Separates the data stream from the weight-init stream that share training.seed.
constexpr uint64_t kDataSeedSalt = 0x64617461ULL;  // "data"
// The growth step's batches: a stream of their own, so growing changes no training batch.
constexpr uint64_t kGrowthSeedSalt = 0x67726f77ULL;  // "grow"
constexpr int kDefaultGrowthBatches = 4;

// Mean of the losses of the run's last ~10% of `total_steps` (at least one step); of all of
// `losses` (this job's steps) when a continued run took fewer than that.
double TailMean(const std::vector<double>& losses, int64_t total_steps) {
  const size_t tail =
      std::min(losses.size(), std::max<size_t>(1, static_cast<size_t>(total_steps) / 10));
  return std::accumulate(losses.end() - tail, losses.end(), 0.0) / static_cast<double>(tail);
}

// Where a checkpoint with this digest lives in `dir`.
std::string CheckpointPath(const std::string& dir, const std::string& sha256) {
  return (std::filesystem::path(dir) / (sha256 + ".ckpt")).string();
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
  if (!options.checkpoint_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.checkpoint_dir, error);
    if (error || !std::filesystem::is_directory(options.checkpoint_dir)) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint directory ",
                                                     options.checkpoint_dir,
                                                     " cannot be created: ", error.message()));
    }
  }
  if (options.num_threads > 0) torch::set_num_threads(options.num_threads);
  return std::unique_ptr<TorchEvaluator>(new TorchEvaluator(*device, options.checkpoint_dir));
}

absl::StatusOr<headevo::v1::EvaluationResult> TorchEvaluator::Evaluate(
    const headevo::v1::EvaluationRequest& request) {
  return EvaluateCancellable(request, nullptr);
}

absl::StatusOr<headevo::v1::EvaluationResult> TorchEvaluator::EvaluateCancellable(
    const headevo::v1::EvaluationRequest& request, const search::CancelCheck& cancelled) {
  if (absl::Status status = ValidateRequest(request); !status.ok()) return status;
  // The boundary: nothing LibTorch (or `cancelled`) throws gets past here.
  const std::string what =
      absl::StrCat("evaluating candidate ", request.candidate_id(), " on ", device_.str());
  try {
    return EvaluateOrThrow(request, cancelled);
  } catch (const c10::OutOfMemoryError& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": out of memory: ", e.what_without_backtrace()));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(what, ": libtorch: ", e.what_without_backtrace()));
  } catch (const std::bad_alloc& e) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": out of memory: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": an unknown exception"));
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
  if (spec.kind() == headevo::v1::TASK_KIND_IMAGE_PIXELS) return MakeImageTask(training);
  const bool brown = spec.kind() == headevo::v1::TASK_KIND_BROWN_CORPUS;
  const std::string path = !brown                      ? spec.text_path()
                           : spec.corpus_dir().empty() ? DefaultBrownCorpusDir()
                                                       : spec.corpus_dir();
  const std::string key = absl::StrCat(brown ? "brown:" : "text:", path);
  auto& documents = corpora_[key];
  if (documents == nullptr) {
    absl::StatusOr<std::vector<TextDocument>> read =
        brown ? ReadBrownCorpus(path) : ReadTextDocuments(path);
    if (!read.ok()) {
      corpora_.erase(key);
      return read.status();
    }
    documents = std::make_shared<const std::vector<TextDocument>>(*std::move(read));
  }
  absl::StatusOr<std::unique_ptr<ByteTextTask>> task = ByteTextTask::Create(*documents, seq_len);
  if (!task.ok()) return task.status();
  return std::unique_ptr<Task>(*std::move(task));
}

absl::StatusOr<Checkpoint> TorchEvaluator::LoadStoredCheckpoint(const std::string& sha256,
                                                                const char* use) const {
  if (checkpoint_dir_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the request ", use, " checkpoint ", sha256,
                     " but this worker keeps no checkpoint directory; start it with one"));
  }
  return Checkpoint::Load(CheckpointPath(checkpoint_dir_, sha256), sha256);
}

absl::StatusOr<std::unique_ptr<Task>> TorchEvaluator::MakeImageTask(
    const headevo::v1::TrainingSpec& training) {
  const headevo::v1::TaskSpec& spec = training.task();
  const bool mnist = spec.image_dir().empty();
  const std::string dir = !mnist                     ? spec.image_dir()
                          : spec.mnist_dir().empty() ? DefaultMnistDir()
                                                     : spec.mnist_dir();
  const int width = search::ImageWidth(spec), height = search::ImageHeight(spec);
  const std::string key =
      mnist ? absl::StrCat("mnist:", dir) : absl::StrCat("patches:", dir, ":", width, "x", height);
  auto& images = image_sets_[key];
  if (images == nullptr) {
    absl::StatusOr<std::vector<GrayImage>> read =
        mnist ? ReadMnistDigits(dir) : ReadImagePatches(dir, width, height);
    if (!read.ok()) {
      image_sets_.erase(key);
      return read.status();
    }
    images = std::make_shared<const std::vector<GrayImage>>(*std::move(read));
  }
  absl::StatusOr<std::unique_ptr<ImagePixelsTask>> task = ImagePixelsTask::Create(
      *images, search::ImageLevels(spec), training.model().seq_len());
  if (!task.ok()) return task.status();
  return std::unique_ptr<Task>(*std::move(task));
}

absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> TorchEvaluator::InheritFromParent(
    const headevo::v1::EvaluationRequest& request, const Task& task, const GenomeLayout& layout,
    SparseTransformer& model) {
  const std::string& sha256 = request.parent_checkpoint_sha256();
  absl::StatusOr<Checkpoint> parent = LoadStoredCheckpoint(sha256, "inherits weights from");
  if (!parent.ok()) return parent.status();
  const headevo::v1::TrainingSpec& training = request.training();
  // Only the gradient initialiser and grown heads read growth batches: draw none otherwise.
  const bool grows = training.new_head_init() == headevo::v1::NEW_HEAD_INIT_GRADIENT ||
                     std::any_of(request.genome().heads().begin(), request.genome().heads().end(),
                                 [](const headevo::v1::Head& h) {
                                   return h.origin() == headevo::v1::HEAD_ORIGIN_GROWN;
                                 });
  const GrowthBatches batches =
      grows ? DrawGrowthBatches(
                  task, training.batch_size(),
                  training.growth_batches() > 0 ? training.growth_batches() : kDefaultGrowthBatches,
                  training.seed() ^ kGrowthSeedSalt)
            : GrowthBatches{};
  GrowthOptions growth;
  growth.device = device_;
  const std::unique_ptr<NewHeadInitializer> initializer =
      MakeNewHeadInitializer(training.new_head_init(), training.seed(), &batches, growth);
  absl::StatusOr<InheritanceReport> report =
      InheritWeights(*parent, training.model(), request.genome(), layout, model, *initializer);
  if (!report.ok()) return report.status();
  std::vector<headevo::v1::HeadGrowth> records = std::move(report->growth);
  for (const GrownHeadSlot& grown : report->grown) {
    absl::StatusOr<headevo::v1::HeadGrowth> record = GrowHead(model, grown, batches, growth);
    if (!record.ok()) return record.status();
    spdlog::debug(
        "candidate {}: head {} grew by {}: scale {}, loss change {:.5f} (predicted {:.5f})",
        request.candidate_id(), record->head_id(), record->added_key_width(), record->scale(),
        record->measured_loss_change(), record->predicted_loss_change());
    records.push_back(*std::move(record));
  }
  std::map<int64_t, int> genome_index;
  for (int i = 0; i < request.genome().heads_size(); ++i) {
    genome_index[request.genome().heads(i).id()] = i;
  }
  std::stable_sort(records.begin(), records.end(), [&](const auto& a, const auto& b) {
    return genome_index[a.head_id()] < genome_index[b.head_id()];
  });
  spdlog::debug("candidate {}: inherited {} heads from {}, {} new, {} grown",
                request.candidate_id(), report->inherited_heads, sha256.substr(0, 12),
                report->new_heads, report->grown.size());
  return records;
}

absl::StatusOr<std::string> TorchEvaluator::SaveCheckpoint(
    const headevo::v1::EvaluationRequest& request, SparseTransformer& model,
    torch::optim::AdamW& optimizer, const TrainingProgress& progress) {
  const std::string bytes = SerializeCheckpoint(model, request.training().model(), request.genome(),
                                                &optimizer, progress);
  const std::string sha256 = Sha256Hex(bytes);
  const std::string path = CheckpointPath(checkpoint_dir_, sha256);
  std::error_code error;
  // Content-addressed: an existing file of that name already holds these bytes.
  if (!std::filesystem::exists(path, error)) {
    if (absl::Status s = WriteFileAtomically(path, bytes); !s.ok()) return s;
  }
  return sha256;
}

absl::StatusOr<headevo::v1::EvaluationResult> TorchEvaluator::EvaluateOrThrow(
    const headevo::v1::EvaluationRequest& request, const search::CancelCheck& cancelled) {
  const auto start = std::chrono::steady_clock::now();
  const headevo::v1::TrainingSpec& training = request.training();
  absl::StatusOr<std::unique_ptr<Task>> task = MakeTask(training);
  if (!task.ok()) return task.status();

  torch::manual_seed(training.seed());
  torch::Generator data = at::detail::createCPUGenerator(training.seed() ^ kDataSeedSalt);
  const GenomeLayout layout = MakeGenomeLayout(request.genome(), training.model(), training.seed());
  SparseTransformer model(ModelOptionsFor(training.model(), layout, device_));
  TrainerOptions trainer = TrainerOptionsFor(training, device_);
  trainer.cancelled = cancelled;
  std::vector<headevo::v1::HeadGrowth> growth;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  TrainingProgress progress;
  if (const std::string& resume = request.resume_checkpoint_sha256(); !resume.empty()) {
    // A continued run: everything comes from the checkpoint; nothing grows.
    absl::StatusOr<Checkpoint> checkpoint = LoadStoredCheckpoint(resume, "resumes training from");
    if (!checkpoint.ok()) return checkpoint.status();
    optimizer = MakeOptimizer(model, trainer);
    absl::StatusOr<TrainingProgress> resumed =
        ResumeTraining(*checkpoint, request, model, *optimizer, &data);
    if (!resumed.ok()) return resumed.status();
    progress = *std::move(resumed);
    trainer.first_step = progress.trained_steps;
    spdlog::debug("candidate {}: resuming at step {} from {}", request.candidate_id(),
                  progress.trained_steps, resume.substr(0, 12));
  } else {
    if (!request.parent_checkpoint_sha256().empty()) {
      absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> grown =
          InheritFromParent(request, **task, layout, model);
      if (!grown.ok()) return grown.status();
      growth = *std::move(grown);
    }
    optimizer = MakeOptimizer(model, trainer);
  }
  absl::StatusOr<std::vector<double>> losses =
      Train(model, **task, trainer, &data, optimizer.get(), &progress.trained_tokens);
  if (!losses.ok()) return losses.status();
  progress.trained_steps = training.steps();
  progress.data_stream_state = EncodeDataStream(data);

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
  metrics->set_train_loss(TailMean(*losses, training.steps()));
  metrics->set_val_loss(val_loss);
  metrics->set_connections(CountConnections(layout, training.model()));
  metrics->set_steps(training.steps());
  metrics->set_tokens(progress.trained_tokens);
  metrics->set_train_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  // A reference model (dense, a baseline) has no heads in the lineage: the coordinator keeps
  // its metrics only, so neither statistics nor weights are sent for it.
  const bool reference = request.reference_id() != 0;
  if (!reference) {
    for (headevo::v1::HeadStats& s : stats) *result.add_head_stats() = std::move(s);
    for (headevo::v1::HeadGrowth& g : growth) *result.add_growth() = std::move(g);
  }
  if (!checkpoint_dir_.empty() && !reference) {
    absl::StatusOr<std::string> sha256 = SaveCheckpoint(request, model, *optimizer, progress);
    if (!sha256.ok()) return sha256.status();
    result.set_checkpoint_sha256(*sha256);
  }
  spdlog::debug("candidate {}: val_loss {:.4f} train_loss {:.4f} in {:.2f} s on {}",
                request.candidate_id(), metrics->val_loss(), metrics->train_loss(),
                metrics->train_seconds(), device_.str());
  return result;
}

}  // namespace headevo::worker
