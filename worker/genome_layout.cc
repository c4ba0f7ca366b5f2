#include "worker/genome_layout.h"

namespace headevo::worker {

std::vector<int32_t> DenseOffsets(int seq_len, bool causal) {
  std::vector<int32_t> offsets;
  const int last = causal ? 0 : seq_len - 1;
  for (int offset = -(seq_len - 1); offset <= last; ++offset) offsets.push_back(offset);
  return offsets;
}

bool IsSparse(const headevo::v1::ModelSpec& model) {
  return model.attention() != headevo::v1::ATTENTION_KIND_DENSE;
}

GenomeLayout MakeGenomeLayout(const headevo::v1::Genome& genome,
                              const headevo::v1::ModelSpec& model) {
  GenomeLayout layout;
  layout.offsets.resize(model.num_layers());
  const bool sparse = IsSparse(model);
  const std::vector<int32_t> dense = DenseOffsets(model.seq_len(), model.causal());
  for (const headevo::v1::Head& head : genome.heads()) {
    auto& layer = layout.offsets[head.layer()];
    layout.layer_of.push_back(head.layer());
    layout.slot_of.push_back(static_cast<int>(layer.size()));
    if (sparse) {
      layer.emplace_back(head.offsets().offsets().begin(), head.offsets().offsets().end());
    } else {
      layer.push_back(dense);
    }
  }
  return layout;
}

int64_t CountConnections(const headevo::v1::Genome& genome, const headevo::v1::ModelSpec& model) {
  if (!IsSparse(model)) return static_cast<int64_t>(genome.heads_size()) * model.seq_len();
  int64_t total = 0;
  for (const headevo::v1::Head& head : genome.heads()) total += head.offsets().offsets_size();
  return total;
}

}  // namespace headevo::worker
