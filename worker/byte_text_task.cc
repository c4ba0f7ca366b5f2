#include "worker/byte_text_task.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::worker {

namespace {

torch::Tensor Bytes(const std::string& text) {
  torch::Tensor bytes = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
  std::copy(text.begin(), text.end(), reinterpret_cast<char*>(bytes.data_ptr<uint8_t>()));
  return bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ByteTextTask>> ByteTextTask::Create(
    const std::vector<TextDocument>& documents, int64_t seq_len) {
  absl::StatusOr<DocumentSplit> split = SplitDocuments(documents, seq_len + 1);
  if (!split.ok()) return split.status();
  // A corpus too large to hold is the only way this fails, and it is the caller's to handle.
  try {
    return std::unique_ptr<ByteTextTask>(
        new ByteTextTask(Bytes(split->train), Bytes(split->validation), seq_len));
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat("holding the corpus's ",
                                                     split->train.size() + split->validation.size(),
                                                     " bytes: ", e.what()));
  }
}

ByteTextTask::ByteTextTask(torch::Tensor train, torch::Tensor validation, int64_t seq_len)
    : train_(std::move(train)), validation_(std::move(validation)), seq_len_(seq_len) {}

Batch ByteTextTask::Windows(const torch::Tensor& bytes, const torch::Tensor& starts) const {
  const torch::Tensor index =
      starts.unsqueeze(1) + torch::arange(seq_len_ + 1, torch::kInt64).unsqueeze(0);
  const torch::Tensor windows = bytes.index_select(0, index.reshape({-1}))
                                    .view({starts.size(0), seq_len_ + 1})
                                    .to(torch::kInt64);
  return {windows.slice(1, 0, seq_len_).contiguous(),
          windows.slice(1, 1, seq_len_ + 1).contiguous()};
}

Batch ByteTextTask::TrainingBatch(int64_t batch_size, torch::Generator& generator) const {
  const int64_t last_start = train_.size(0) - (seq_len_ + 1);
  const torch::Tensor starts = torch::randint(0, last_start + 1, {batch_size}, generator,
                                              torch::TensorOptions().dtype(torch::kInt64));
  return Windows(train_, starts);
}

std::vector<Batch> ByteTextTask::ValidationBatches(int64_t batch_size, int64_t num_batches) const {
  const int64_t count = batch_size * num_batches;
  const int64_t last_start = validation_.size(0) - (seq_len_ + 1);
  // Evenly spaced starts from 0 to last_start inclusive (all 0 when there is one window).
  const torch::Tensor starts =
      count == 1 ? torch::zeros({1}, torch::kInt64)
                 : torch::arange(count, torch::kInt64).mul(last_start).div(count - 1, "floor");
  std::vector<Batch> batches;
  for (int64_t i = 0; i < num_batches; ++i) {
    batches.push_back(Windows(validation_, starts.slice(0, i * batch_size, (i + 1) * batch_size)));
  }
  return batches;
}

}  // namespace headevo::worker
