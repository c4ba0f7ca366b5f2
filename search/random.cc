#include "search/random.h"

#include <cmath>

namespace headevo::search {
namespace {

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr double kTwoPi = 6.283185307179586476925286766559;

}  // namespace

Rng::Rng(uint64_t seed) {
  s0_ = SplitMix64(seed);
  s1_ = SplitMix64(seed);
  if (s0_ == 0 && s1_ == 0) s1_ = 1;  // xorshift128+ must not start at all-zero
}

// xorshift128+: fast, tiny state, good enough for sampling decisions.
uint64_t Rng::NextU64() {
  uint64_t s1 = s0_;
  const uint64_t s0 = s1_;
  const uint64_t result = s0 + s1;
  s0_ = s0;
  s1 ^= s1 << 23;
  s1_ = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
  return result;
}

double Rng::Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

int64_t Rng::UniformInt(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  if (span == 0) return static_cast<int64_t>(NextU64());  // the whole 64-bit range
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t x;
  do {
    x = NextU64();
  } while (x >= limit);
  return lo + static_cast<int64_t>(x % span);
}

double Rng::Normal() {
  double u1 = Uniform();
  while (u1 <= 0.0) u1 = Uniform();
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

Rng Rng::Fork() { return Rng(NextU64()); }

void Rng::SetState(const State& state) {
  s0_ = state.s0;
  s1_ = state.s1;
  if (s0_ == 0 && s1_ == 0) s1_ = 1;
}

uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
  SplitMix64(x);
  return SplitMix64(x);
}

}  // namespace headevo::search
