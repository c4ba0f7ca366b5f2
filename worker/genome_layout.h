// Where each head of a genome sits in the model, and which positions it attends to.
#ifndef HEADEVO_WORKER_GENOME_LAYOUT_H_
#define HEADEVO_WORKER_GENOME_LAYOUT_H_

#include <cstdint>
#include <vector>

#include "headevo/v1/genome.pb.h"
#include "headevo/v1/training.pb.h"
#include "search/random.h"

namespace headevo::worker {

// The heads of one model: each layer holds the genome's heads of that layer, in genome order
// (a head's position within its layer is its "slot").
struct GenomeLayout {
  // offsets[layer][slot]: the sorted relative positions that head attends to: the genome's
  // offsets in sparse mode; in a baseline mode (see UsesGenomeOffsets) the baseline's pattern
  // for that slot, whatever the genome says. Empty for every head of a Linformer model, which
  // does not attend by offsets.
  std::vector<std::vector<std::vector<int32_t>>> offsets;
  // extra_key_width[layer][slot]: the query/key columns growth added to that head beyond
  // d_head (Head.extra_key_width); 0 for every head in a baseline mode.
  std::vector<std::vector<int32_t>> extra_key_width;
  // layer_of[i], slot_of[i]: where genome head i sits.
  std::vector<int> layer_of;
  std::vector<int> slot_of;
};

// Every relative position a query may attend to in a window of seq_len tokens:
// causal -> {-(seq_len-1), ..., 0}; bidirectional -> {-(seq_len-1), ..., seq_len-1}.
std::vector<int32_t> DenseOffsets(int seq_len, bool causal);

// The `window` allowed offsets nearest 0: {-(window-1) .. 0} when causal, else centred on 0
// ({-(window-1)/2 .. window/2}); clipped to the sequence.
std::vector<int32_t> LocalOffsets(int seq_len, bool causal, int window);

// Every stride-th offset: {.., -2*stride, -stride, 0} and, when not causal, the mirror.
std::vector<int32_t> StridedOffsets(int seq_len, bool causal, int stride);

// LogSparse's pattern: 0 and -1, -2, -4, ... while inside the sequence (and their mirror when
// not causal), sorted.
std::vector<int32_t> DilatedOffsets(int seq_len, bool causal);

// BigBird without global tokens: LocalOffsets(seq_len, causal, window) plus random_k offsets
// outside the window drawn uniformly from `rng` (fewer when the sequence has fewer), sorted.
std::vector<int32_t> WindowRandomOffsets(int seq_len, bool causal, int window, int random_k,
                                         search::Rng& rng);

// Requires a genome and model that ValidateRequest accepts (every layer in
// [0, model.num_layers()) has a head). `seed` draws the heads of ATTENTION_KIND_RANDOM and
// WINDOW_RANDOM and is ignored otherwise.
GenomeLayout MakeGenomeLayout(const headevo::v1::Genome& genome,
                              const headevo::v1::ModelSpec& model, uint64_t seed = 0);

// Connections per query position, summed over heads: k for an offset head (its offset count),
// seq_len for a dense head, linformer_rank for a Linformer head.
int64_t CountConnections(const GenomeLayout& layout, const headevo::v1::ModelSpec& model);

// True when the model attends by the genome's offsets (ATTENTION_KIND_SPARSE or unspecified);
// false for the dense and baseline kinds, which keep only the genome's heads per layer.
bool UsesGenomeOffsets(const headevo::v1::ModelSpec& model);

// The model's attention kind as written in configs: "sparse", "dense", "local", "strided",
// "linformer", "random", "dilated" or "window_random".
const char* AttentionKindName(headevo::v1::AttentionKind kind);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_GENOME_LAYOUT_H_
