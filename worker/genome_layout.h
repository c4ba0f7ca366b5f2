// Where each head of a genome sits in the model, and which positions it attends to.
#ifndef HEADEVO_WORKER_GENOME_LAYOUT_H_
#define HEADEVO_WORKER_GENOME_LAYOUT_H_

#include <cstdint>
#include <vector>

#include "headevo/v1/genome.pb.h"
#include "headevo/v1/training.pb.h"

namespace headevo::worker {

// The heads of one model: each layer holds the genome's heads of that layer, in genome order
// (a head's position within its layer is its "slot").
struct GenomeLayout {
  // offsets[layer][slot]: the sorted relative positions that head attends to. In dense mode
  // every allowed position (see DenseOffsets), whatever the genome says.
  std::vector<std::vector<std::vector<int32_t>>> offsets;
  // layer_of[i], slot_of[i]: where genome head i sits.
  std::vector<int> layer_of;
  std::vector<int> slot_of;
};

// Every relative position a query may attend to in a window of seq_len tokens:
// causal -> {-(seq_len-1), ..., 0}; bidirectional -> {-(seq_len-1), ..., seq_len-1}.
std::vector<int32_t> DenseOffsets(int seq_len, bool causal);

// Requires a genome and model that ValidateRequest accepts (every layer in
// [0, model.num_layers()) has a head).
GenomeLayout MakeGenomeLayout(const headevo::v1::Genome& genome,
                              const headevo::v1::ModelSpec& model);

// Connections per query position: the sum over heads of k, where k = seq_len for every
// head in dense mode.
int64_t CountConnections(const headevo::v1::Genome& genome, const headevo::v1::ModelSpec& model);

// True unless model.attention() is ATTENTION_KIND_DENSE (UNSPECIFIED means sparse).
bool IsSparse(const headevo::v1::ModelSpec& model);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_GENOME_LAYOUT_H_
