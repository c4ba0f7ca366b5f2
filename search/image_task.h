// Facts of the image_pixels task that the coordinator, the config and the worker share: the
// image's shape (for the strided baseline's default stride and the seq_len check) and the loss
// in bits per pixel.
#ifndef HEADEVO_SEARCH_IMAGE_TASK_H_
#define HEADEVO_SEARCH_IMAGE_TASK_H_

#include "absl/status/status.h"
#include "headevo/v1/training.pb.h"

namespace headevo::search {

// MNIST digits are 28 x 28 pixels.
inline constexpr int kMnistSide = 28;
// TaskSpec.levels = 0 means this many grey levels.
inline constexpr int kDefaultImageLevels = 16;
// TaskSpec.patch_width / patch_height = 0 mean this many pixels.
inline constexpr int kDefaultPatchSide = 28;

bool IsImageTask(const headevo::v1::TaskSpec& task);

// The grey levels of an image task (TaskSpec.levels, 0 meaning kDefaultImageLevels).
int ImageLevels(const headevo::v1::TaskSpec& task);

// The width and height of one image of an image task in pixels: 28 x 28 for MNIST, the patch
// size for a directory of images; 0 for any other task.
int ImageWidth(const headevo::v1::TaskSpec& task);
int ImageHeight(const headevo::v1::TaskSpec& task);

// The config's checks of an image task: levels in [2, 256] and model.vocab_size >= levels,
// patch sizes >= 1, model.causal (a next-pixel model must not see the pixel it predicts) and
// seq_len <= the pixels of one image. InvalidArgument naming the field otherwise.
absl::Status ValidateImageTask(const headevo::v1::TrainingSpec& training);

// A mean cross-entropy in nats per predicted pixel as bits per pixel (divided by ln 2), the
// unit image models are compared in.
double BitsPerPixel(double nats_per_pixel);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_IMAGE_TASK_H_
