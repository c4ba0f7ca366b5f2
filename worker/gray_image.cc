#include "worker/gray_image.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::worker {

absl::StatusOr<std::vector<GrayImage>> CutPatches(const GrayImage& image, int patch_width,
                                                  int patch_height) {
  if (patch_width <= 0 || patch_height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("patch size must be positive, got ", patch_width, " x ", patch_height));
  }
  if (image.width < patch_width || image.height < patch_height) {
    return absl::InvalidArgumentError(absl::StrCat(image.name, ": the image is ", image.width,
                                                   " x ", image.height, ", smaller than one ",
                                                   patch_width, " x ", patch_height, " patch"));
  }
  std::vector<GrayImage> patches;
  for (int y = 0; y + patch_height <= image.height; y += patch_height) {
    for (int x = 0; x + patch_width <= image.width; x += patch_width) {
      GrayImage patch{absl::StrCat(image.name, "@", y, ",", x), patch_width, patch_height, {}};
      patch.pixels.reserve(static_cast<size_t>(patch_width) * patch_height);
      for (int row = y; row < y + patch_height; ++row) {
        const auto begin = image.pixels.begin() + static_cast<ptrdiff_t>(row) * image.width + x;
        patch.pixels.insert(patch.pixels.end(), begin, begin + patch_width);
      }
      patches.push_back(std::move(patch));
    }
  }
  return patches;
}

}  // namespace headevo::worker
