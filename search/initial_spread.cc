#include "search/initial_spread.h"

#include <cmath>

#include "search/reproduction.h"

namespace headevo::search {

double SpreadMeanK(int index, int population, int max_k) {
  if (population < 2 || max_k <= 1) return 1.0;
  const double t = static_cast<double>(index) / (population - 1);
  return std::pow(static_cast<double>(max_k), t);
}

std::vector<headevo::v1::Genome> MakeInitialPopulation(int num_layers, int heads_per_layer,
                                                       const HeadDistribution& initial,
                                                       int population, bool spread_k, Rng& rng) {
  std::vector<headevo::v1::Genome> genomes;
  if (!spread_k || population < 2) {
    for (int i = 0; i < population; ++i) {
      genomes.push_back(MakeInitialGenome(num_layers, heads_per_layer, initial, rng));
    }
    return genomes;
  }
  for (int i = 0; i < population; ++i) {
    headevo::v1::Genome& genome = genomes.emplace_back();
    genome.set_num_layers(num_layers);
    for (int layer = 0; layer < num_layers; ++layer) {
      HeadDistribution spread = initial.ForLayer(layer);
      spread.count.mean = SpreadMeanK(i, population, spread.AvailablePositions());
      for (int h = 0; h < heads_per_layer; ++h) {
        *genome.add_heads() =
            SampleUniformHead(spread, layer, headevo::v1::HEAD_ORIGIN_INITIAL, rng);
      }
    }
  }
  return genomes;
}

}  // namespace headevo::search
