// Checkpoints of trained candidate models, and a child's inheritance of its parent's heads.
//
// A checkpoint file holds every parameter of the model by name, the model spec and genome it
// was built from, optionally the AdamW state, how far training had come (TrainingProgress:
// what worker/resume.h needs to continue the run exactly), and a SHA-256 digest of all of it,
// so a corrupt file is refused instead of silently training from damaged weights. Layout:
//   "HEVOCKPT" | uint64 little-endian header size | CheckpointHeader (proto) | tensor bytes |
//   SHA-256 of everything before it (32 bytes)
// The bytes are a function of the weights alone (no timestamps, no pointers), so the same
// training gives the same file, and files are named by the SHA-256 of their bytes where a
// store of them is kept (see TorchEvaluatorOptions).
#ifndef HEADEVO_WORKER_CHECKPOINT_H_
#define HEADEVO_WORKER_CHECKPOINT_H_

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"
#include "headevo/v1/training.pb.h"
#include "worker/genome_layout.h"
#include "worker/model.h"

namespace headevo::worker {

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(const std::string& bytes);

// Lower-case hex SHA-256 of a file's bytes, read in pieces. NotFound naming the path when it
// cannot be opened; Internal when reading fails part way.
absl::StatusOr<std::string> Sha256HexOfFile(const std::string& path);

// How far the training run a checkpoint saves had come. All zero / empty: unknown (a
// checkpoint written before runs could be continued), and such a checkpoint cannot be resumed.
struct TrainingProgress {
  int64_t trained_steps = 0;   // optimiser steps taken in all
  int64_t trained_tokens = 0;  // target positions trained on in all (see Train)
  // The training data generator's position (EncodeDataStream, worker/resume.h).
  std::string data_stream_state;
};

// Serialises `model` (built from `spec` and `genome`), when non-null `optimizer` (made by
// MakeOptimizer for this model), and `progress` into the bytes of a checkpoint file. Throws
// c10::Error from LibTorch: an internal helper, called only inside TorchEvaluator's catching
// boundary.
std::string SerializeCheckpoint(SparseTransformer& model, const headevo::v1::ModelSpec& spec,
                                const headevo::v1::Genome& genome, torch::optim::AdamW* optimizer,
                                const TrainingProgress& progress = {});

// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed, then
// renamed over `path`, so a crash leaves either the old file or the new one.
// Errors: ResourceExhausted "disk full writing <path>" when the filesystem is full (space may
// come back: not a permanent failure); Internal naming the path and the system's reason
// otherwise. Nothing is left behind on error.
absl::Status WriteFileAtomically(const std::string& path, const std::string& bytes);

class Checkpoint {
 public:
  // Reads and checks a checkpoint file. When expected_sha256 is non-empty the file's bytes
  // must hash to it.
  // Errors: NotFound when the file does not exist; DataLoss, naming the file, when it is not a
  // checkpoint, is truncated or damaged (a tensor shape LibTorch refuses included), or does
  // not hash to expected_sha256; FailedPrecondition for another format version. Never throws.
  static absl::StatusOr<Checkpoint> Load(const std::string& path,
                                         const std::string& expected_sha256 = "");
  // The same from bytes already read; `name` is used in error messages.
  static absl::StatusOr<Checkpoint> Parse(const std::string& bytes, const std::string& name);

  const headevo::v1::ModelSpec& model_spec() const { return spec_; }
  const headevo::v1::Genome& genome() const { return genome_; }
  bool has_optimizer_state() const { return has_optimizer_; }
  const TrainingProgress& progress() const { return progress_; }
  // The name it was loaded under (its path, or Parse's `name`), for messages.
  const std::string& name() const { return name_; }

  // Parameter `name` (as model->named_parameters() names it); undefined when absent.
  torch::Tensor Tensor(const std::string& name) const;

  // Copies every parameter into `model`, which must have been built from the same spec and
  // genome, and, when `optimizer` is non-null, the saved optimiser state into it (for a model
  // that resumes training exactly where the saved one stopped).
  // Errors: FailedPrecondition when the model's parameters differ in name or shape, or when
  // an optimiser is given but none was saved. May throw c10::Error from LibTorch (a device
  // out of memory while copying): call it inside a catching boundary (TorchEvaluator).
  absl::Status Restore(SparseTransformer& model, torch::optim::AdamW* optimizer) const;

 private:
  Checkpoint() = default;

  std::string name_;
  headevo::v1::ModelSpec spec_;
  headevo::v1::Genome genome_;
  std::map<std::string, torch::Tensor> tensors_;  // "model/<name>" and "adamw/<i>/<moment>"
  bool has_optimizer_ = false;
  std::vector<int64_t> optimizer_steps_;
  TrainingProgress progress_;
};

// A head of a child model that its parent did not have: where it sits and what it is.
struct NewHeadSlot {
  int layer = 0;
  int slot = 0;
  headevo::v1::Head head;
};

// Sets up the heads a child did not inherit, once every inherited weight is in place (so an
// initialiser may look at what the rest of the model does). Implementations are pluggable:
// RandomHeadInitializer below, GradientHeadInitializer (worker/growth.h).
class NewHeadInitializer {
 public:
  virtual ~NewHeadInitializer() = default;
  // Initialises every head of `heads` in `model`: its Q/K/V rows (extra query/key columns
  // included), its W_O columns and its offset biases. Returns what a functional-gradient
  // step did per head (empty for initialisers that take no such step).
  // Errors: whatever the initialiser's own computation reports, naming the head.
  virtual absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> Initialize(
      SparseTransformer& model, const std::vector<NewHeadSlot>& heads) const = 0;
};

// Draws a new head's weights as a freshly built layer would (uniform in +-1/sqrt(fan_in),
// offset biases 0) from a generator seeded by (seed, head id): the same head gets the same
// weights whatever its slot or its neighbours.
class RandomHeadInitializer : public NewHeadInitializer {
 public:
  explicit RandomHeadInitializer(uint64_t seed) : seed_(seed) {}
  absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> Initialize(
      SparseTransformer& model, const std::vector<NewHeadSlot>& heads) const override;

  // The same for one head of one layer; called without gradient tracking.
  static void InitializeHead(SparseSelfAttentionImpl& attention, int slot,
                             const headevo::v1::Head& head, uint64_t seed);

 private:
  uint64_t seed_;
};

// A child head that grows from a parent head (origin GROWN): it starts as a copy of its
// source with zero extra query/key columns [first_new_column, key width).
struct GrownHeadSlot {
  int layer = 0;
  int slot = 0;
  headevo::v1::Head head;
  int64_t first_new_column = 0;  // d_head + the source's extra_key_width
};

struct InheritanceReport {
  int inherited_heads = 0;  // heads copied from the parent by id
  int new_heads = 0;        // heads set up by the initializer
  // Heads copied from their source head whose new columns the growth step still has to
  // choose (worker/growth.h), in genome order.
  std::vector<GrownHeadSlot> grown;
  // What the initializer reported.
  std::vector<headevo::v1::HeadGrowth> growth;
};

// Makes `child` (freshly built for `child_genome` / `child_spec`) the parent's model with the
// child's heads: every non-head parameter (embedding, norms, MLPs, W_O's bias, unembedding) is
// copied; each child head whose id the parent has in the same layer gets the parent head's
// Q/K/V rows (extra query/key columns included), W_O columns and the biases of the offsets
// both share; a GROWN head whose source_head_id the parent has in the same layer gets its
// source's weights the same way, with its new query/key columns zero (so the child computes
// what the parent did until the growth step fills them); every other head is set up by
// `initializer`, after all the copying. Gates stay at 1.
// Errors: FailedPrecondition, naming the field, when the parent's model spec differs from
// the child's in anything but attention parameters that do not apply, or when either is not
// a sparse (genome-offset) model; the initializer's errors. May throw c10::Error from LibTorch
// (and the initializer's exceptions): called inside TorchEvaluator's catching boundary.
absl::StatusOr<InheritanceReport> InheritWeights(const Checkpoint& parent,
                                                 const headevo::v1::ModelSpec& child_spec,
                                                 const headevo::v1::Genome& child_genome,
                                                 const GenomeLayout& child_layout,
                                                 SparseTransformer& child,
                                                 const NewHeadInitializer& initializer);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_CHECKPOINT_H_
