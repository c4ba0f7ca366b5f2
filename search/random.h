// A seeded random generator whose draws are the same on every platform and standard library
// (std::normal_distribution and friends are implementation-defined, so they are not used).
// Its whole state is two integers, so a strategy can save and restore it exactly.
#ifndef HEADEVO_SEARCH_RANDOM_H_
#define HEADEVO_SEARCH_RANDOM_H_

#include <cstdint>

namespace headevo::search {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t NextU64();
  // Uniform in [0, 1).
  double Uniform();
  // Uniform integer in [lo, hi], both included. Requires lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Standard normal (Box-Muller, one value per call).
  double Normal();
  // A new generator seeded from this one: independent streams for sub-tasks.
  Rng Fork();

  struct State {
    uint64_t s0 = 0;
    uint64_t s1 = 0;
  };
  State GetState() const { return {s0_, s1_}; }
  void SetState(const State& state);

 private:
  uint64_t s0_;
  uint64_t s1_;
};

// Mixes a seed with a stream index (e.g. a candidate id) into a new 64-bit seed.
uint64_t DeriveSeed(uint64_t seed, uint64_t stream);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_RANDOM_H_
