// Byte-level next-byte prediction on documents (the Brown corpus, any text files): inputs are
// bytes [s, s + N), targets bytes [s + 1, s + N + 1) of the concatenated training documents;
// about a tenth of the documents are held out for validation (see SplitDocuments).
#ifndef HEADEVO_WORKER_BYTE_TEXT_TASK_H_
#define HEADEVO_WORKER_BYTE_TEXT_TASK_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/task.h"
#include "worker/text_documents.h"

namespace headevo::worker {

class ByteTextTask : public Task {
 public:
  // The vocabulary: every byte value.
  static constexpr int64_t kVocabSize = 256;

  // Splits the documents with SplitDocuments(documents, seq_len + 1).
  // Errors: InvalidArgument from SplitDocuments (too few or too short documents);
  // ResourceExhausted when the corpus cannot be held in memory. Never throws.
  static absl::StatusOr<std::unique_ptr<ByteTextTask>> Create(
      const std::vector<TextDocument>& documents, int64_t seq_len);

  // Windows starting uniformly at random in the training part.
  Batch TrainingBatch(int64_t batch_size, torch::Generator& generator) const override;

  // batch_size * num_batches windows evenly spaced over the validation part, in order.
  std::vector<Batch> ValidationBatches(int64_t batch_size, int64_t num_batches) const override;

 private:
  ByteTextTask(torch::Tensor train, torch::Tensor validation, int64_t seq_len);

  // Windows of `bytes` ([L] uint8) at `starts` ([B] int64).
  Batch Windows(const torch::Tensor& bytes, const torch::Tensor& starts) const;

  torch::Tensor train_;       // [L_train] uint8
  torch::Tensor validation_;  // [L_val] uint8
  int64_t seq_len_;
};

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_BYTE_TEXT_TASK_H_
