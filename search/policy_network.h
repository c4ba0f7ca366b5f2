// The arithmetic of the learned offset policy (offset_policy.h): a one-hidden-layer network
// with three softmax outputs and a linear baseline, its log-probability gradients written by
// hand, and Adam. No LibTorch: a few hundred to a few thousand doubles, so the search stays
// free of it and every number is reproducible from the seed.
//
//   h      = tanh(W1 x + b1)
//   k      ~ softmax(Wk h + bk + prior_k)              over k = 1..max_k
//   bin    ~ softmax(Wb h + bb + prior_bin)            over the log-spaced distance bins
//   slot   ~ softmax(Ws[bin] h + bs[bin] + prior_slot[bin])  over the slots of that bin
//   baseline(x) = v . x + c
// The priors are fixed additive terms a caller supplies per layer (-infinity masks a choice
// out); the parameters start so that the policy equals its priors. Not thread-safe.
#ifndef HEADEVO_SEARCH_POLICY_NETWORK_H_
#define HEADEVO_SEARCH_POLICY_NETWORK_H_

#include <cstdint>
#include <vector>

#include "search/random.h"

namespace headevo::search {

struct PolicyShape {
  int inputs = 1;
  int hidden = 16;
  int k_choices = 16;  // k = 1..k_choices
  int bins = 1;
  int slots = 8;  // per bin

  int NumParameters() const;
};

// The fixed additive terms of one layer: sizes k_choices, bins, and bins x slots.
struct PolicyPriors {
  std::vector<double> k;
  std::vector<double> bin;
  std::vector<std::vector<double>> slot;
};

// What the policy drew for one head: k - 1, and a (bin, slot) per offset.
struct PolicyAction {
  int k_index = 0;
  struct Choice {
    int bin = 0;
    int slot = 0;
  };
  std::vector<Choice> offsets;
};

// The network's outputs for one input.
struct PolicyOutput {
  std::vector<double> hidden;
  std::vector<double> k;                  // probabilities
  std::vector<double> bin;                // probabilities
  std::vector<std::vector<double>> slot;  // per bin, probabilities
  double baseline = 0.0;
};

class PolicyNetwork {
 public:
  // Hidden weights W1 drawn N(0, 1/inputs) from `init_rng`; every output weight and bias 0, so
  // the policy starts equal to its priors and the baseline at 0.
  PolicyNetwork(const PolicyShape& shape, Rng& init_rng);

  const PolicyShape& shape() const { return shape_; }
  // Requires x.size() == shape().inputs and priors of the shape's sizes.
  PolicyOutput Forward(const std::vector<double>& x, const PolicyPriors& priors) const;
  // log pi(action | x) (the uniform choice within a slot has no parameters and is left out).
  double LogProbability(const PolicyOutput& out, const PolicyAction& action) const;
  // Adds scale * d log pi(action | x) / d parameters to `gradient` (NumParameters() long).
  void AddLogProbabilityGradient(const std::vector<double>& x, const PolicyOutput& out,
                                 const PolicyAction& action, double scale,
                                 std::vector<double>& gradient) const;
  // Adds scale * d baseline(x) / d parameters to `gradient`.
  void AddBaselineGradient(const std::vector<double>& x, double scale,
                           std::vector<double>& gradient) const;
  // One Adam step descending `gradient` (of a loss to minimise).
  void AdamStep(const std::vector<double>& gradient, double learning_rate);

  // The whole state, for saving: parameters, Adam's moments and step count.
  const std::vector<double>& parameters() const { return theta_; }
  const std::vector<double>& first_moment() const { return m_; }
  const std::vector<double>& second_moment() const { return v_; }
  int64_t adam_steps() const { return steps_; }
  // False (and nothing changed) when a vector has the wrong length or steps < 0.
  bool SetState(std::vector<double> parameters, std::vector<double> first_moment,
                std::vector<double> second_moment, int64_t steps);
  // For tests (finite differences): the parameters by reference.
  std::vector<double>& mutable_parameters() { return theta_; }

 private:
  // Offsets of each block in theta_.
  int W1(int j, int i) const { return j * shape_.inputs + i; }
  int B1(int j) const;
  int Wk(int c, int j) const;
  int Bk(int c) const;
  int Wb(int b, int j) const;
  int Bb(int b) const;
  int Ws(int b, int s, int j) const;
  int Bs(int b, int s) const;
  int V(int i) const;
  int C() const;

  PolicyShape shape_;
  std::vector<double> theta_, m_, v_;
  int64_t steps_ = 0;
};

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_POLICY_NETWORK_H_
