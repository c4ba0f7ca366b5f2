#include "worker/image_pixels_task.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <numeric>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/text_documents.h"

namespace headevo::worker {
namespace {

// [count, W H + 1] int16: each image's tokens, then kIgnoreTarget (the last pixel's target).
torch::Tensor Tokens(const std::vector<GrayImage>& images, const std::vector<bool>& held_out,
                     bool validation, int levels) {
  const int64_t count = std::count(held_out.begin(), held_out.end(), validation);
  const int64_t pixels = static_cast<int64_t>(images.front().pixels.size());
  torch::Tensor tokens = torch::empty({count, pixels + 1}, torch::kInt16);
  int16_t* out = tokens.data_ptr<int16_t>();
  for (size_t i = 0; i < images.size(); ++i) {
    if (held_out[i] != validation) continue;
    for (float v : images[i].pixels) *out++ = static_cast<int16_t>(QuantisePixel(v, levels));
    *out++ = static_cast<int16_t>(kIgnoreTarget);
  }
  return tokens;
}

}  // namespace

int64_t QuantisePixel(float v, int levels) {
  const float clipped = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 1.0f);
  return std::min<int64_t>(levels - 1, static_cast<int64_t>(std::floor(clipped * levels)));
}

std::vector<bool> HeldOutImages(const std::vector<std::string>& names) {
  const int64_t count = static_cast<int64_t>(names.size());
  std::vector<int64_t> by_hash(count);
  std::iota(by_hash.begin(), by_hash.end(), 0);
  std::stable_sort(by_hash.begin(), by_hash.end(), [&](int64_t a, int64_t b) {
    return NameHash(names[a]) < NameHash(names[b]);
  });
  std::vector<bool> held_out(count, false);
  const int64_t wanted = std::min(count - 1, std::max<int64_t>(1, (count + 5) / 10));
  for (int64_t i = 0; i < wanted; ++i) held_out[by_hash[i]] = true;
  return held_out;
}

absl::StatusOr<std::unique_ptr<ImagePixelsTask>> ImagePixelsTask::Create(
    const std::vector<GrayImage>& images, int levels, int64_t seq_len) {
  if (images.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the image_pixels task needs at least two images to hold one out for validation, got ",
        images.size()));
  }
  const GrayImage& first = images.front();
  for (const GrayImage& image : images) {
    if (image.width != first.width || image.height != first.height ||
        image.pixels.size() != static_cast<size_t>(image.width) * image.height) {
      return absl::InvalidArgumentError(absl::StrCat(
          "image ", image.name, " is ", image.width, " x ", image.height, " (", image.pixels.size(),
          " pixels); every image must be ", first.width, " x ", first.height, " like ", first.name));
    }
  }
  if (levels < 2 || levels > 256) {
    return absl::InvalidArgumentError(absl::StrCat("levels must be in [2, 256], got ", levels));
  }
  const int64_t pixels = static_cast<int64_t>(first.width) * first.height;
  if (seq_len < 1 || seq_len > pixels) {
    return absl::InvalidArgumentError(absl::StrCat("seq_len ", seq_len, " must be in [1, ", pixels,
                                                   "], the pixels of one ", first.width, " x ",
                                                   first.height, " image"));
  }
  std::vector<std::string> names;
  for (const GrayImage& image : images) names.push_back(image.name);
  const std::vector<bool> held_out = HeldOutImages(names);
  try {
    return std::unique_ptr<ImagePixelsTask>(
        new ImagePixelsTask(Tokens(images, held_out, false, levels),
                            Tokens(images, held_out, true, levels), first.width, seq_len));
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("holding ", images.size(), " images of ", pixels, " pixels: ", e.what()));
  }
}

ImagePixelsTask::ImagePixelsTask(torch::Tensor train, torch::Tensor validation, int64_t width,
                                 int64_t seq_len)
    : train_(std::move(train)),
      validation_(std::move(validation)),
      width_(width),
      seq_len_(seq_len) {}

int64_t ImagePixelsTask::StartRows() const {
  const int64_t pixels = train_.size(1) - 1;
  return (pixels - seq_len_) / width_ + 1;
}

Batch ImagePixelsTask::Sequences(const torch::Tensor& images, const torch::Tensor& rows,
                                 const torch::Tensor& starts) const {
  const int64_t stride = images.size(1);
  const torch::Tensor index = (rows * stride + starts * width_).unsqueeze(1) +
                              torch::arange(seq_len_ + 1, torch::kInt64).unsqueeze(0);
  const torch::Tensor sequences = images.reshape({-1})
                                      .index_select(0, index.reshape({-1}))
                                      .view({rows.size(0), seq_len_ + 1})
                                      .to(torch::kInt64);
  return {sequences.slice(1, 0, seq_len_).contiguous(),
          sequences.slice(1, 1, seq_len_ + 1).contiguous()};
}

Batch ImagePixelsTask::TrainingBatch(int64_t batch_size, torch::Generator& generator) const {
  const auto int64 = torch::TensorOptions().dtype(torch::kInt64);
  const torch::Tensor rows = torch::randint(0, train_.size(0), {batch_size}, generator, int64);
  const torch::Tensor starts = torch::randint(0, StartRows(), {batch_size}, generator, int64);
  return Sequences(train_, rows, starts);
}

std::vector<Batch> ImagePixelsTask::ValidationBatches(int64_t batch_size,
                                                      int64_t num_batches) const {
  const int64_t count = batch_size * num_batches;
  const int64_t pairs = validation_.size(0) * StartRows();
  // Evenly spaced pairs from 0 to pairs - 1 inclusive (all 0 when there is one sequence).
  const torch::Tensor pair =
      count == 1 ? torch::zeros({1}, torch::kInt64)
                 : torch::arange(count, torch::kInt64).mul(pairs - 1).div(count - 1, "floor");
  const torch::Tensor rows = pair.div(StartRows(), "floor");
  const torch::Tensor starts = pair.remainder(StartRows());
  std::vector<Batch> batches;
  for (int64_t i = 0; i < num_batches; ++i) {
    const int64_t begin = i * batch_size, end = (i + 1) * batch_size;
    batches.push_back(
        Sequences(validation_, rows.slice(0, begin, end), starts.slice(0, begin, end)));
  }
  return batches;
}

}  // namespace headevo::worker
