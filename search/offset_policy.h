// The learned sampler (seed 000's "reinforced neural network, whose input are the remaining
// heads"): a small policy that reads a layer's surviving heads and proposes a new head for it,
// trained by REINFORCE with a learned baseline on the adaptive sampler's reward (fitness gain
// over the parent minus the cost of the added connections), one update per rewarded child.
//
// Input (per layer, FeaturesOf): the survivors' offsets as a histogram over log-spaced distance
// bins (bin b holds |offset| in [2^b, 2^(b+1)), bin 0 also 0), the same histogram weighted by
// rank (the best-scored survivor weighs most), their mean k and the best one's k (over
// max_k), their number (over heads_per_layer), and the layer's depth (0 first, 1 last).
// Output (policy_network.h): k, then for each offset a bin and a slot within the bin (a run
// of neighbouring allowed offsets), then an offset uniformly within the slot; duplicates are
// drawn again. Untrained it proposes k like the initial count distribution and offsets
// uniformly over the layer's window (its priors); it ignores the initial local block.
//
// Every proposal is numbered; its head's sampler_params start "policy proposal N" so the
// reward of the child holding it finds the input it was drawn from (kept in the state until
// then). The whole state (parameters, Adam, pending inputs, history) saves to a PolicyState,
// and parameters start from the search seed, so a restored policy proposes bit-identically.
// Not thread-safe.
#ifndef HEADEVO_SEARCH_OFFSET_POLICY_H_
#define HEADEVO_SEARCH_OFFSET_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "headevo/v1/genome.pb.h"
#include "headevo/v1/search_state.pb.h"
#include "search/head_sampler.h"
#include "search/policy_network.h"
#include "search/random.h"

namespace headevo::search {

struct PolicyOptions {
  // Units of the hidden layer, 1..256.
  int hidden = 16;
  // Adam's step size, in (0, 1].
  double learning_rate = 0.02;
  // The largest k it proposes, 1..4096 (also bounded by the positions a layer's window has).
  int max_k = 16;
  // Slots each distance bin is split into, 1..64; a bin with fewer offsets has one per offset.
  int slots_per_bin = 8;
  // Snapshots of the bin distribution kept for the report, >= 2 times: when more would be
  // kept, every second one is dropped and they are taken half as often.
  int history = 32;

  // InvalidArgument naming the policy_* config key of the bad value.
  absl::Status Validate() const;
};

// One surviving head of a layer, as the policy sees it.
struct SurvivingHead {
  std::vector<int> offsets;
  double score = 0.0;  // its ranking score; higher is better
};

// The distance bin of an offset: 0 for |offset| <= 1, else floor(log2 |offset|).
int PolicyBinOf(int offset);
// "0-1", "2-3", "4-7", ...: the magnitudes bin `bin` holds.
std::string PolicyBinLabel(int bin);

class OffsetPolicy {
 public:
  // `initial` is the search's distribution (its per-layer windows bound every proposal);
  // requires options.Validate().ok() and initial.Validate().ok(). Parameters start from `seed`.
  OffsetPolicy(const PolicyOptions& options, const HeadDistribution& initial, int num_layers,
               int heads_per_layer, uint64_t seed);

  // A new head for `layer` (0 <= layer < num_layers): id 0, origin SAMPLED, sampler POLICY,
  // sampler_params naming the proposal and what the policy gave. Remembers its input.
  headevo::v1::Head Propose(const std::vector<SurvivingHead>& survivors, int layer, Rng& rng);

  // One update from a rewarded child: `heads` are its added heads; those the policy proposed
  // (and still remembers) each contribute -(reward - baseline) * grad log pi, and the baseline
  // moves towards the reward; one Adam step for all of them. Proposals up to the newest among
  // `heads` are forgotten (children are rewarded in the order they were made). Returns
  // whether it updated.
  bool Learn(const std::vector<const headevo::v1::Head*>& heads, double reward);
  // A child that gets no reward (failed): forgets its proposals and every older one.
  void Forget(const std::vector<const headevo::v1::Head*>& heads);
  // Forgets every pending proposal (a generation was rewarded in full).
  void ForgetAll();

  int64_t updates() const { return updates_; }
  int num_layers() const { return num_layers_; }
  int NumParameters() const { return network_.shape().NumParameters(); }
  // The policy's input for `survivors` in `layer`.
  std::vector<double> FeaturesOf(const std::vector<SurvivingHead>& survivors, int layer) const;
  // The probability of each allowed offset of `layer` (ascending offsets) for `survivors`, and
  // the distribution of k (k = index + 1): what Propose draws from, before duplicates.
  std::vector<std::pair<int, double>> OffsetProbabilities(
      const std::vector<SurvivingHead>& survivors, int layer) const;
  std::vector<double> KProbabilities(const std::vector<SurvivingHead>& survivors, int layer) const;
  // log pi of a head of `layer` with `offsets` for `survivors` (the number Learn's gradient is
  // of); for the finite-difference test.
  double LogProbability(const std::vector<SurvivingHead>& survivors, int layer,
                        const std::vector<int>& offsets) const;
  // d LogProbability / d parameters, by hand (what Learn scales by the advantage).
  std::vector<double> LogProbabilityGradient(const std::vector<SurvivingHead>& survivors, int layer,
                                             const std::vector<int>& offsets) const;
  PolicyNetwork& network() { return network_; }

  headevo::v1::PolicyState SaveState() const;
  // InvalidArgument naming what does not fit these options (parameter count, input sizes,
  // layers); nothing changes then.
  absl::Status RestoreState(const headevo::v1::PolicyState& state);

 private:
  // A layer's allowed offsets grouped into bins and slots, and the priors over them.
  struct Layer {
    std::vector<std::vector<int>> bins;        // allowed offsets per bin, ascending
    std::vector<std::vector<int>> slot_begin;  // per bin: first index of each slot, + end
    PolicyPriors priors;
    int max_k = 1;
  };
  struct Pending {
    int64_t proposal = 0;
    int layer = 0;
    std::vector<double> inputs;
  };

  Layer MakeLayer(const HeadDistribution& layer_initial) const;
  // The (bin, slot) choices and k index of `offsets` in `layer`; offsets outside it are left out.
  PolicyAction ActionOf(int layer, const std::vector<int>& offsets) const;
  void ForgetThrough(int64_t proposal);
  void TakeSnapshot();

  PolicyOptions options_;
  int num_layers_;
  int heads_per_layer_;
  int num_bins_;
  std::vector<Layer> layers_;
  PolicyNetwork network_;
  int64_t updates_ = 0;
  int64_t proposals_ = 0;
  std::vector<Pending> pending_;
  std::vector<std::optional<std::vector<double>>> newest_inputs_;  // per layer
  std::vector<headevo::v1::PolicySnapshot> history_;
  int64_t snapshot_every_ = 1;
};

// The proposal number in a head's sampler_params ("policy proposal N ..."); nullopt for a head
// the policy did not propose.
std::optional<int64_t> PolicyProposalOf(const headevo::v1::Head& head);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_OFFSET_POLICY_H_
