#include "worker/image_files.h"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::worker {
namespace {

namespace fs = std::filesystem;

absl::Status Bad(const std::string& name, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", problem));
}

// Reads a PGM header's fields: whitespace and '#' comments between decimal numbers.
class PgmHeader {
 public:
  explicit PgmHeader(const std::string& bytes) : bytes_(bytes), at_(2) {}

  // The next decimal number, or -1 when there is none (or it overflows).
  int64_t Number() {
    while (at_ < bytes_.size()) {
      if (bytes_[at_] == '#') {
        while (at_ < bytes_.size() && bytes_[at_] != '\n') ++at_;
      } else if (std::isspace(static_cast<unsigned char>(bytes_[at_]))) {
        ++at_;
      } else {
        break;
      }
    }
    int64_t value = 0;
    const size_t start = at_;
    while (at_ < bytes_.size() && std::isdigit(static_cast<unsigned char>(bytes_[at_])) &&
           value < (int64_t{1} << 40)) {
      value = value * 10 + (bytes_[at_++] - '0');
    }
    return at_ == start ? -1 : value;
  }

  size_t position() const { return at_; }

 private:
  const std::string& bytes_;
  size_t at_;
};

absl::StatusOr<GrayImage> DecodePgm(const std::string& bytes, const std::string& name) {
  const bool plain = bytes[1] == '2';
  PgmHeader header(bytes);
  const int64_t width = header.Number(), height = header.Number(), maxval = header.Number();
  if (width <= 0 || height <= 0 || width > (1 << 16) || height > (1 << 16)) {
    return Bad(name, "PGM header has no valid width and height (1 to 65536 each)");
  }
  if (maxval <= 0 || maxval > 65535) {
    return Bad(name, absl::StrCat("PGM maxval must be in [1, 65535], got ", maxval));
  }
  GrayImage image{name, static_cast<int>(width), static_cast<int>(height), {}};
  const int64_t count = width * height;
  image.pixels.reserve(count);
  size_t at = header.position() + 1;  // one whitespace byte ends the header
  const int bytes_per_value = maxval < 256 ? 1 : 2;
  if (!plain && static_cast<int64_t>(bytes.size()) - static_cast<int64_t>(at) <
                    count * bytes_per_value) {
    return Bad(name, absl::StrCat("PGM raster is truncated: ", width, " x ", height, " needs ",
                                  count * bytes_per_value, " bytes, the file has ",
                                  bytes.size() > at ? bytes.size() - at : 0));
  }
  for (int64_t i = 0; i < count; ++i) {
    int64_t value;
    if (plain) {
      value = header.Number();
      if (value < 0) {
        return Bad(name, absl::StrCat("PGM (P2) has ", i, " values, its header says ", count));
      }
    } else if (bytes_per_value == 1) {
      value = static_cast<unsigned char>(bytes[at + i]);
    } else {
      value = static_cast<unsigned char>(bytes[at + 2 * i]) * 256 +
              static_cast<unsigned char>(bytes[at + 2 * i + 1]);
    }
    if (value > maxval) {
      return Bad(name, absl::StrCat("PGM value ", value, " at pixel ", i, " exceeds maxval ",
                                    maxval));
    }
    image.pixels.push_back(static_cast<float>(value) / static_cast<float>(maxval));
  }
  return image;
}

absl::StatusOr<GrayImage> DecodePng(const std::string& bytes, const std::string& name) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    return Bad(name, absl::StrCat("PNG: ", png.message));
  }
  png.format = PNG_FORMAT_GRAY;  // libpng converts colour, palettes and 16-bit samples
  if (png.width == 0 || png.height == 0 || png.width > (1u << 16) || png.height > (1u << 16)) {
    png_image_free(&png);
    return Bad(name, "PNG is empty or larger than 65536 pixels on a side");
  }
  std::vector<png_byte> buffer(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, buffer.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    return Bad(name, absl::StrCat("PNG: ", message));
  }
  GrayImage image{name, static_cast<int>(png.width), static_cast<int>(png.height), {}};
  image.pixels.reserve(buffer.size());
  for (png_byte value : buffer) image.pixels.push_back(static_cast<float>(value) / 255.0f);
  return image;
}

bool IsImageName(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".pgm" || extension == ".png";
}

bool IsHidden(const fs::path& relative) {
  for (const fs::path& part : relative) {
    if (!part.empty() && part.string()[0] == '.') return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<GrayImage> DecodeImage(const std::string& bytes, const std::string& name) {
  if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2')) {
    return DecodePgm(bytes, name);
  }
  if (bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0) {
    return DecodePng(bytes, name);
  }
  return Bad(name, "not a grayscale PGM (P5 or P2) or a PNG file");
}

absl::StatusOr<GrayImage> ReadImageFile(const std::string& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return absl::InternalError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path));
  return DecodeImage(contents.str(), name.empty() ? path : name);
}

absl::StatusOr<std::vector<GrayImage>> ReadImagePatches(const std::string& dir, int patch_width,
                                                        int patch_height) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("image directory ", dir, " does not exist"));
  }
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const fs::path relative = fs::relative(it->path(), dir, error);
    std::error_code type_error;
    if (it->is_regular_file(type_error) && IsImageName(relative) && !IsHidden(relative)) {
      files.push_back(relative);
    }
  }
  if (error) return absl::InternalError(absl::StrCat("listing ", dir, ": ", error.message()));
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat("image directory ", dir, " holds no .pgm or .png file"));
  }
  std::sort(files.begin(), files.end());
  std::vector<GrayImage> patches;
  for (const fs::path& relative : files) {
    absl::StatusOr<GrayImage> image =
        ReadImageFile((fs::path(dir) / relative).string(), relative.string());
    if (!image.ok()) return image.status();
    absl::StatusOr<std::vector<GrayImage>> cut = CutPatches(*image, patch_width, patch_height);
    if (!cut.ok()) return cut.status();
    for (GrayImage& patch : *cut) patches.push_back(std::move(patch));
  }
  return patches;
}

}  // namespace headevo::worker
