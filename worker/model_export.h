// A trained candidate as a file Python's torch.load reads (torch::pickle_save of a plain dict),
// for the plain-PyTorch model in python/headevo/model.py. The dict:
//   "format":       "headevo.model/1"
//   "candidate_id": the candidate (0 when unknown)
//   "config":       {"vocab_size", "d_model", "d_head", "mlp_ratio", "seq_len", "num_layers"}
//   "heads":        [{"head_id", "layer", "slot", "offsets": [int, ...], "extra_key_width"}],
//                   genome order (a head's slot is its position within its layer)
//   "state_dict":   {name: tensor}: every parameter and buffer under the names
//                   SparseTransformer gives them ("block0.attention.qkv.weight", ...)
//   "reference":    only with reference_batch > 0: {"tokens": [B, seq_len] int64, "logits":
//                   [B, seq_len, vocab_size] float}, this model's output on fixed tokens, so a
//                   reimplementation can check it computes the same function.
// Adding a key is compatible; changing one's meaning bumps the format.
#ifndef HEADEVO_WORKER_MODEL_EXPORT_H_
#define HEADEVO_WORKER_MODEL_EXPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "worker/checkpoint.h"

namespace headevo::worker {

inline constexpr char kModelExportFormat[] = "headevo.model/1";

struct ModelExportOptions {
  int64_t candidate_id = 0;  // recorded in the file
  // > 0: also store this many sequences of tokens (drawn from a fixed seed) and the model's
  // logits on them.
  int64_t reference_batch = 0;
};

// The bytes of the file for the model `checkpoint` holds. Errors: FailedPrecondition naming
// the checkpoint when its model does not attend by genome offsets (a dense or baseline
// reference model; only candidates are exported) or its weights do not fit its own spec;
// Internal with LibTorch's message for anything LibTorch throws. Never throws.
absl::StatusOr<std::string> ExportModel(const Checkpoint& checkpoint,
                                        const ModelExportOptions& options);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_MODEL_EXPORT_H_
