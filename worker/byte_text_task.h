// Byte-level next-byte prediction on a text (the Brown corpus task): inputs are bytes
// [s, s + N), targets bytes [s + 1, s + N + 1). The last 10% of the text is held out for
// validation.
#ifndef HEADEVO_WORKER_BYTE_TEXT_TASK_H_
#define HEADEVO_WORKER_BYTE_TEXT_TASK_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/task.h"

namespace headevo::worker {

class ByteTextTask : public Task {
 public:
  // The vocabulary: every byte value.
  static constexpr int64_t kVocabSize = 256;

  // Splits `text` into the first 90% (training) and last 10% (validation) of its bytes.
  // Errors: InvalidArgument when either part is shorter than seq_len + 1 bytes.
  static absl::StatusOr<std::unique_ptr<ByteTextTask>> Create(const std::string& text,
                                                              int64_t seq_len);

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
