// Checks that an EvaluationRequest describes a model and task the worker can train, before
// any tensor is allocated.
#ifndef HEADEVO_WORKER_REQUEST_VALIDATION_H_
#define HEADEVO_WORKER_REQUEST_VALIDATION_H_

#include "absl/status/status.h"
#include "headevo/v1/candidate.pb.h"

namespace headevo::worker {

// Bounds on growth that keep a request's memory and time sane: a head's query/key columns
// beyond d_head, and the batches the growth step reads.
inline constexpr int kMaxExtraKeyWidth = 1024;
inline constexpr int kMaxGrowthBatches = 1000;

// Returns OK, or InvalidArgument whose message names the offending field, e.g.
// "training.batch_size must be > 0, got 0" or "genome.heads[3] (layer 1): offset 2 looks
// ahead but model.causal is true". Checks: positive model sizes, steps, batch size,
// eval_batches and learning rate; weight_decay, max_grad_norm, entropy_weight >= 0,
// final_lr_fraction in [0, 1], warmup_steps >= 0, known schedule and new-head initialiser,
// growth_batches in [0, kMaxGrowthBatches], every head's extra_key_width in
// [0, kMaxExtraKeyWidth];
// the parameter of a baseline attention kind in [1, seq_len] (and linformer not causal); a
// non-empty genome whose num_layers (when set) matches the model's; every head's layer in
// range and every layer with a head; in sparse mode non-empty, sorted, unique offsets with
// |offset| < seq_len and none positive when causal; a known task whose parameters fit the
// model (no look-ahead planted offset in a causal model, byte tasks with vocab_size 256).
// Offsets are ignored by the dense and baseline kinds. A parent_checkpoint_sha256 or
// resume_checkpoint_sha256, when set, must be 64 lower-case hex digits, and not both may be set
// (a resumed run takes every weight from its checkpoint). training.schedule_steps is 0 or
// >= training.steps. What only the resume checkpoint can tell (same model and genome, optimiser
// state, trained_steps < steps) is checked when it is loaded (worker/resume.h CheckResumable).
absl::Status ValidateRequest(const headevo::v1::EvaluationRequest& request);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_REQUEST_VALIDATION_H_
