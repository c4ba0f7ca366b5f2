#include "search/image_task.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace headevo::search {

bool IsImageTask(const headevo::v1::TaskSpec& task) {
  return task.kind() == headevo::v1::TASK_KIND_IMAGE_PIXELS;
}

int ImageLevels(const headevo::v1::TaskSpec& task) {
  return task.levels() > 0 ? task.levels() : kDefaultImageLevels;
}

int ImageWidth(const headevo::v1::TaskSpec& task) {
  if (!IsImageTask(task)) return 0;
  if (task.image_dir().empty()) return kMnistSide;
  return task.patch_width() > 0 ? task.patch_width() : kDefaultPatchSide;
}

int ImageHeight(const headevo::v1::TaskSpec& task) {
  if (!IsImageTask(task)) return 0;
  if (task.image_dir().empty()) return kMnistSide;
  return task.patch_height() > 0 ? task.patch_height() : kDefaultPatchSide;
}

absl::Status ValidateImageTask(const headevo::v1::TrainingSpec& training) {
  const headevo::v1::TaskSpec& task = training.task();
  const headevo::v1::ModelSpec& model = training.model();
  const int levels = ImageLevels(task);
  if (task.levels() < 0 || levels < 2 || levels > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("task.levels must be in [2, 256] (0 means ", kDefaultImageLevels, "), got ",
                     task.levels()));
  }
  if (model.vocab_size() < levels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.vocab_size (", model.vocab_size(), ") must be >= task.levels (", levels,
        "): every grey level is a token of the image_pixels task"));
  }
  if (task.patch_width() < 0 || task.patch_height() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("task.patch_width and task.patch_height must be "
                                                   ">= 1 (0 means ", kDefaultPatchSide, "), got ",
                                                   task.patch_width(), " x ", task.patch_height()));
  }
  if (!model.causal()) {
    return absl::InvalidArgumentError(
        "the image_pixels task needs model.causal = true: each pixel predicts the next, which a "
        "bidirectional model would see");
  }
  const int pixels = ImageWidth(task) * ImageHeight(task);
  if (model.seq_len() > pixels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.seq_len (", model.seq_len(), ") must be <= the ", pixels, " pixels of one image (",
        ImageWidth(task), " x ", ImageHeight(task), "): a sequence is a run of rows of one image"));
  }
  return absl::OkStatus();
}

double BitsPerPixel(double nats_per_pixel) { return nats_per_pixel / std::log(2.0); }

}  // namespace headevo::search
