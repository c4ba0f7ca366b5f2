// A user's own images for the image_pixels task: grayscale PGM (P5 binary, P2 plain) and PNG
// files (libpng; colour is converted to grey), read into GrayImage and cut into patches.
#ifndef HEADEVO_WORKER_IMAGE_FILES_H_
#define HEADEVO_WORKER_IMAGE_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/gray_image.h"

namespace headevo::worker {

// Decodes one image, chosen by its first bytes ("P5", "P2" or the PNG signature), into grey
// values divided by the file's maximum value (PGM maxval; 255 for PNG). The image is named
// `name`.
// Errors: InvalidArgument naming `name` and the problem (not a PGM or PNG, a bad header, a
// value above maxval, a raster shorter than its header says, libpng's message). Never throws.
absl::StatusOr<GrayImage> DecodeImage(const std::string& bytes, const std::string& name);

// Reads and decodes the file at `path`, named by `name` (default: the path).
// Errors: Internal when it cannot be read; DecodeImage's otherwise.
absl::StatusOr<GrayImage> ReadImageFile(const std::string& path, const std::string& name = "");

// Every .pgm and .png file below `dir` (recursively, hidden names skipped, other files
// ignored), in name order, named by its path relative to `dir`, cut into patches (CutPatches).
// Errors: NotFound when `dir` does not exist or holds no image file; the first bad file's
// error, naming it, otherwise.
absl::StatusOr<std::vector<GrayImage>> ReadImagePatches(const std::string& dir, int patch_width,
                                                        int patch_height);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_IMAGE_FILES_H_
