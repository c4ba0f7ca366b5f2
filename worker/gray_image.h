// A grayscale image in memory, and its cutting into patches: the unit of the image_pixels task.
#ifndef HEADEVO_WORKER_GRAY_IMAGE_H_
#define HEADEVO_WORKER_GRAY_IMAGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace headevo::worker {

struct GrayImage {
  // Unique within a data set; the validation split depends on it alone
  // ("digits/3.json#17", "cat.png@0,28").
  std::string name;
  int width = 0;
  int height = 0;
  std::vector<float> pixels;  // row-major, width * height values in [0, 1] (0 black, 1 white)
};

// The non-overlapping patch_width x patch_height patches of `image`, row by row from its top
// left corner; a margin narrower than a patch is dropped. Each is named "<name>@<y>,<x>" by its
// top-left pixel.
// Errors: InvalidArgument naming the image when it is smaller than one patch, or the patch
// size is not positive.
absl::StatusOr<std::vector<GrayImage>> CutPatches(const GrayImage& image, int patch_width,
                                                  int patch_height);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_GRAY_IMAGE_H_
