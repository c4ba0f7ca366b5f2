// The search config tests share: a real transformer small enough that a candidate trains in a
// fraction of a second, on the planted-offset task {-1, -3}.
#ifndef HEADEVO_TESTS_TESTUTIL_TINY_CONFIG_H_
#define HEADEVO_TESTS_TESTUTIL_TINY_CONFIG_H_

#include <string>

namespace headevo::testing {

// `search_keys` are the lines of the [search] section ("population = 4\n..."); `parents` goes
// to [selection] (at most the population); `steps` sets how long a candidate trains.
inline std::string TinySearchConfig(const std::string& search_keys, int parents = 2,
                                    int steps = 15) {
  return "[search]\n" + search_keys + "\n[selection]\nparents = " + std::to_string(parents) +
         "\n\n[model]\nvocab_size = 8\nd_model = 16\nlayers = 2\nheads_per_layer = 3\n"
         "d_head = 4\nseq_len = 16\n\n[task]\nplanted_offsets = [-1, -3]\n\n"
         "[training]\nsteps = " +
         std::to_string(steps) + "\nbatch_size = 8\neval_batches = 1\n\n[initial]\nwindow = 6\n";
}

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_TESTUTIL_TINY_CONFIG_H_
