// The image_pixels task: a causal pixel model over images read row by row (the Sparse
// Transformer's image experiments). Each pixel is quantised to one of `levels` tokens,
// min(levels - 1, floor(v * levels)) for v in [0, 1]. A sequence is seq_len consecutive pixels
// of one image starting at a row boundary (row r of an image of width W: pixels
// [r W, r W + seq_len), r uniform over the rows where it fits); its targets are the pixels one
// further on, the image's last pixel having none (kIgnoreTarget). At seq_len = W * H a sequence
// is the whole image and every pixel but the first is predicted.
//
// About a tenth of the images (at least one) are held out for validation: those first in the
// order of NameHash of their names, so the choice depends on the names alone. A held-out image
// never appears in a training batch.
#ifndef HEADEVO_WORKER_IMAGE_PIXELS_TASK_H_
#define HEADEVO_WORKER_IMAGE_PIXELS_TASK_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/gray_image.h"
#include "worker/task.h"

namespace headevo::worker {

// The token of a grey value v in [0, 1] (clipped into it) at `levels` levels.
int64_t QuantisePixel(float v, int levels);

// The names of the images held out for validation (see above), in input order.
// Requires at least two names.
std::vector<bool> HeldOutImages(const std::vector<std::string>& names);

class ImagePixelsTask : public Task {
 public:
  // Errors: InvalidArgument when there are fewer than two images, their sizes differ (naming
  // the first that differs), levels is outside [2, 256] or seq_len is outside [1, W * H].
  // ResourceExhausted when the images cannot be held in memory. Never throws.
  static absl::StatusOr<std::unique_ptr<ImagePixelsTask>> Create(
      const std::vector<GrayImage>& images, int levels, int64_t seq_len);

  // batch_size sequences: an image uniformly from the training images, a start row uniformly
  // among those where seq_len pixels fit.
  Batch TrainingBatch(int64_t batch_size, torch::Generator& generator) const override;

  // batch_size * num_batches sequences evenly spaced over the (validation image, start row)
  // pairs, in order.
  std::vector<Batch> ValidationBatches(int64_t batch_size, int64_t num_batches) const override;

  int64_t train_images() const { return train_.size(0); }
  int64_t validation_images() const { return validation_.size(0); }

 private:
  ImagePixelsTask(torch::Tensor train, torch::Tensor validation, int64_t width, int64_t seq_len);

  // The sequences of `images` ([I, W H + 1] int16 tokens, the last kIgnoreTarget) at image
  // `rows` ([B] int64) and start rows `starts` ([B] int64).
  Batch Sequences(const torch::Tensor& images, const torch::Tensor& rows,
                  const torch::Tensor& starts) const;

  int64_t StartRows() const;  // how many start rows a sequence has

  torch::Tensor train_;       // [I_train, W H + 1] int16
  torch::Tensor validation_;  // [I_val, W H + 1] int16
  int64_t width_;
  int64_t seq_len_;
};

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_IMAGE_PIXELS_TASK_H_
