#include "worker/genome_layout.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "search/random.h"

namespace headevo::worker {
namespace {

using headevo::v1::AttentionKind;
using headevo::v1::ModelSpec;

// Separates the random baseline's stream from the other users of the training seed.
constexpr uint64_t kRandomHeadsStream = 0x72616e646f6dULL;  // "random"

// 1 + Poisson(mean - 1) by Knuth's product of uniforms (means here are small: k per head).
int64_t DrawHeadSize(double mean, search::Rng& rng) {
  const double limit = std::exp(-std::max(0.0, mean - 1.0));
  int64_t count = 0;
  for (double product = rng.Uniform(); product > limit; product *= rng.Uniform()) ++count;
  return 1 + count;
}

// `count` offsets drawn uniformly without replacement from `pool` (partial Fisher-Yates),
// clipped to the pool's size.
std::vector<int32_t> DrawOffsets(std::vector<int32_t> pool, int64_t count, search::Rng& rng) {
  count = std::min<int64_t>(count, static_cast<int64_t>(pool.size()));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t j = rng.UniformInt(i, static_cast<int64_t>(pool.size()) - 1);
    std::swap(pool[i], pool[j]);
  }
  pool.resize(count);
  return pool;
}

// A uniformly random subset of the allowed offsets, of size 1 + Poisson(mean_k - 1) clipped
// to what the window allows (partial Fisher-Yates shuffle, then sorted).
std::vector<int32_t> RandomOffsets(const ModelSpec& model, search::Rng& rng) {
  std::vector<int32_t> allowed = DenseOffsets(model.seq_len(), model.causal());
  std::vector<int32_t> offsets =
      DrawOffsets(std::move(allowed), DrawHeadSize(model.random_k(), rng), rng);
  std::sort(offsets.begin(), offsets.end());
  return offsets;
}

std::vector<int32_t> BaselineOffsets(const ModelSpec& model, int slot, search::Rng& rng) {
  switch (model.attention()) {
    case headevo::v1::ATTENTION_KIND_DENSE:
      return DenseOffsets(model.seq_len(), model.causal());
    case headevo::v1::ATTENTION_KIND_LOCAL:
      return LocalOffsets(model.seq_len(), model.causal(), model.window());
    case headevo::v1::ATTENTION_KIND_STRIDED:
      // Child et al.'s factorisation: alternate heads cover the last `stride` positions and
      // every stride-th position, so two layers connect any pair of positions.
      return slot % 2 == 0 ? LocalOffsets(model.seq_len(), model.causal(), model.stride())
                           : StridedOffsets(model.seq_len(), model.causal(), model.stride());
    case headevo::v1::ATTENTION_KIND_RANDOM:
      return RandomOffsets(model, rng);
    case headevo::v1::ATTENTION_KIND_DILATED:
      return DilatedOffsets(model.seq_len(), model.causal());
    case headevo::v1::ATTENTION_KIND_WINDOW_RANDOM:
      return WindowRandomOffsets(model.seq_len(), model.causal(), model.window(),
                                 model.random_k(), rng);
    default:  // LINFORMER: no offsets
      return {};
  }
}

}  // namespace

std::vector<int32_t> DenseOffsets(int seq_len, bool causal) {
  std::vector<int32_t> offsets;
  const int last = causal ? 0 : seq_len - 1;
  for (int offset = -(seq_len - 1); offset <= last; ++offset) offsets.push_back(offset);
  return offsets;
}

std::vector<int32_t> LocalOffsets(int seq_len, bool causal, int window) {
  const int first = causal ? -(window - 1) : -((window - 1) / 2);
  const int last = causal ? 0 : window / 2;
  std::vector<int32_t> offsets;
  for (int offset = std::max(first, -(seq_len - 1)); offset <= std::min(last, seq_len - 1);
       ++offset) {
    offsets.push_back(offset);
  }
  return offsets;
}

std::vector<int32_t> StridedOffsets(int seq_len, bool causal, int stride) {
  std::vector<int32_t> offsets;
  for (int offset = -((seq_len - 1) / stride) * stride; offset <= 0; offset += stride) {
    offsets.push_back(offset);
  }
  if (!causal) {
    for (int offset = stride; offset < seq_len; offset += stride) offsets.push_back(offset);
  }
  return offsets;
}

std::vector<int32_t> DilatedOffsets(int seq_len, bool causal) {
  std::vector<int32_t> offsets = {0};
  for (int64_t distance = 1; distance < seq_len; distance *= 2) {
    offsets.push_back(static_cast<int32_t>(-distance));
    if (!causal) offsets.push_back(static_cast<int32_t>(distance));
  }
  std::sort(offsets.begin(), offsets.end());
  return offsets;
}

std::vector<int32_t> WindowRandomOffsets(int seq_len, bool causal, int window, int random_k,
                                         search::Rng& rng) {
  std::vector<int32_t> offsets = LocalOffsets(seq_len, causal, window);
  std::vector<int32_t> far;
  for (int32_t offset : DenseOffsets(seq_len, causal)) {
    if (!std::binary_search(offsets.begin(), offsets.end(), offset)) far.push_back(offset);
  }
  for (int32_t offset : DrawOffsets(std::move(far), random_k, rng)) offsets.push_back(offset);
  std::sort(offsets.begin(), offsets.end());
  return offsets;
}

bool UsesGenomeOffsets(const ModelSpec& model) {
  return model.attention() == headevo::v1::ATTENTION_KIND_SPARSE ||
         model.attention() == headevo::v1::ATTENTION_KIND_UNSPECIFIED;
}

const char* AttentionKindName(AttentionKind kind) {
  switch (kind) {
    case headevo::v1::ATTENTION_KIND_DENSE:
      return "dense";
    case headevo::v1::ATTENTION_KIND_LOCAL:
      return "local";
    case headevo::v1::ATTENTION_KIND_STRIDED:
      return "strided";
    case headevo::v1::ATTENTION_KIND_LINFORMER:
      return "linformer";
    case headevo::v1::ATTENTION_KIND_RANDOM:
      return "random";
    case headevo::v1::ATTENTION_KIND_DILATED:
      return "dilated";
    case headevo::v1::ATTENTION_KIND_WINDOW_RANDOM:
      return "window_random";
    default:
      return "sparse";
  }
}

GenomeLayout MakeGenomeLayout(const headevo::v1::Genome& genome, const ModelSpec& model,
                              uint64_t seed) {
  GenomeLayout layout;
  layout.offsets.resize(model.num_layers());
  layout.extra_key_width.resize(model.num_layers());
  search::Rng rng(search::DeriveSeed(seed, kRandomHeadsStream));
  for (const headevo::v1::Head& head : genome.heads()) {
    auto& layer = layout.offsets[head.layer()];
    const int slot = static_cast<int>(layer.size());
    layout.layer_of.push_back(head.layer());
    layout.slot_of.push_back(slot);
    const bool sparse = UsesGenomeOffsets(model);
    layout.extra_key_width[head.layer()].push_back(sparse ? head.extra_key_width() : 0);
    if (sparse) {
      layer.emplace_back(head.offsets().offsets().begin(), head.offsets().offsets().end());
    } else {
      layer.push_back(BaselineOffsets(model, slot, rng));
    }
  }
  return layout;
}

int64_t CountConnections(const GenomeLayout& layout, const ModelSpec& model) {
  const int64_t heads = static_cast<int64_t>(layout.layer_of.size());
  if (model.attention() == headevo::v1::ATTENTION_KIND_DENSE) return heads * model.seq_len();
  if (model.attention() == headevo::v1::ATTENTION_KIND_LINFORMER) {
    return heads * model.linformer_rank();
  }
  int64_t total = 0;
  for (const auto& layer : layout.offsets) {
    for (const auto& head : layer) total += static_cast<int64_t>(head.size());
  }
  return total;
}

}  // namespace headevo::worker
