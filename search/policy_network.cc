#include "search/policy_network.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace headevo::search {
namespace {

constexpr double kAdamBeta1 = 0.9;
constexpr double kAdamBeta2 = 0.999;
constexpr double kAdamEpsilon = 1e-8;

// softmax(logits); -infinity entries get probability 0. Requires one finite entry.
std::vector<double> Softmax(const std::vector<double>& logits) {
  double top = -std::numeric_limits<double>::infinity();
  for (double z : logits) top = std::max(top, z);
  std::vector<double> p(logits.size(), 0.0);
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::isfinite(logits[i]) ? std::exp(logits[i] - top) : 0.0;
    sum += p[i];
  }
  for (double& x : p) x /= sum;
  return p;
}

}  // namespace

int PolicyShape::NumParameters() const {
  return hidden * inputs + hidden + k_choices * (hidden + 1) + bins * (hidden + 1) +
         bins * slots * (hidden + 1) + inputs + 1;
}

int PolicyNetwork::B1(int j) const { return shape_.hidden * shape_.inputs + j; }
int PolicyNetwork::Wk(int c, int j) const { return B1(shape_.hidden) + c * shape_.hidden + j; }
int PolicyNetwork::Bk(int c) const { return Wk(shape_.k_choices, 0) + c; }
int PolicyNetwork::Wb(int b, int j) const { return Bk(shape_.k_choices) + b * shape_.hidden + j; }
int PolicyNetwork::Bb(int b) const { return Wb(shape_.bins, 0) + b; }
int PolicyNetwork::Ws(int b, int s, int j) const {
  return Bb(shape_.bins) + (b * shape_.slots + s) * shape_.hidden + j;
}
int PolicyNetwork::Bs(int b, int s) const { return Ws(shape_.bins, 0, 0) + b * shape_.slots + s; }
int PolicyNetwork::V(int i) const { return Bs(shape_.bins, 0) + i; }
int PolicyNetwork::C() const { return V(shape_.inputs); }

PolicyNetwork::PolicyNetwork(const PolicyShape& shape, Rng& init_rng)
    : shape_(shape),
      theta_(static_cast<size_t>(shape.NumParameters()), 0.0),
      m_(theta_.size(), 0.0),
      v_(theta_.size(), 0.0) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(shape_.inputs));
  for (int j = 0; j < shape_.hidden; ++j) {
    for (int i = 0; i < shape_.inputs; ++i) theta_[W1(j, i)] = scale * init_rng.Normal();
  }
}

PolicyOutput PolicyNetwork::Forward(const std::vector<double>& x,
                                    const PolicyPriors& priors) const {
  const int H = shape_.hidden;
  PolicyOutput out;
  out.hidden.resize(H);
  for (int j = 0; j < H; ++j) {
    double a = theta_[B1(j)];
    for (int i = 0; i < shape_.inputs; ++i) a += theta_[W1(j, i)] * x[i];
    out.hidden[j] = std::tanh(a);
  }
  const auto linear = [&](int weight, int bias, double prior) {
    if (!std::isfinite(prior)) return prior;  // masked out: no weight can bring it back
    double z = theta_[bias] + prior;
    for (int j = 0; j < H; ++j) z += theta_[weight + j] * out.hidden[j];
    return z;
  };
  std::vector<double> logits(shape_.k_choices);
  for (int c = 0; c < shape_.k_choices; ++c) logits[c] = linear(Wk(c, 0), Bk(c), priors.k[c]);
  out.k = Softmax(logits);
  logits.assign(shape_.bins, 0.0);
  for (int b = 0; b < shape_.bins; ++b) logits[b] = linear(Wb(b, 0), Bb(b), priors.bin[b]);
  out.bin = Softmax(logits);
  out.slot.resize(shape_.bins);
  for (int b = 0; b < shape_.bins; ++b) {
    if (out.bin[b] == 0.0) {
      out.slot[b].assign(shape_.slots, 0.0);
      continue;
    }
    logits.assign(shape_.slots, 0.0);
    for (int s = 0; s < shape_.slots; ++s) {
      logits[s] = linear(Ws(b, s, 0), Bs(b, s), priors.slot[b][s]);
    }
    out.slot[b] = Softmax(logits);
  }
  out.baseline = theta_[C()];
  for (int i = 0; i < shape_.inputs; ++i) out.baseline += theta_[V(i)] * x[i];
  return out;
}

double PolicyNetwork::LogProbability(const PolicyOutput& out, const PolicyAction& action) const {
  double log_p = std::log(out.k[action.k_index]);
  for (const PolicyAction::Choice& c : action.offsets) {
    log_p += std::log(out.bin[c.bin]) + std::log(out.slot[c.bin][c.slot]);
  }
  return log_p;
}

void PolicyNetwork::AddLogProbabilityGradient(const std::vector<double>& x, const PolicyOutput& out,
                                              const PolicyAction& action, double scale,
                                              std::vector<double>& gradient) const {
  const int H = shape_.hidden;
  std::vector<double> d_hidden(H, 0.0);
  // d log softmax(z)[a] / dz = onehot(a) - p, through one output layer, `times` draws of it.
  const auto output = [&](int weight, int bias, double d_logit) {
    if (d_logit == 0.0) return;
    gradient[bias] += scale * d_logit;
    for (int j = 0; j < H; ++j) {
      gradient[weight + j] += scale * d_logit * out.hidden[j];
      d_hidden[j] += d_logit * theta_[weight + j];
    }
  };
  for (int c = 0; c < shape_.k_choices; ++c) {
    output(Wk(c, 0), Bk(c), (c == action.k_index ? 1.0 : 0.0) - out.k[c]);
  }
  std::vector<int> bin_draws(shape_.bins, 0);
  std::vector<std::vector<int>> slot_draws(shape_.bins);
  for (const PolicyAction::Choice& c : action.offsets) {
    ++bin_draws[c.bin];
    slot_draws[c.bin].resize(shape_.slots, 0);
    ++slot_draws[c.bin][c.slot];
  }
  const double draws = static_cast<double>(action.offsets.size());
  for (int b = 0; b < shape_.bins; ++b) {
    output(Wb(b, 0), Bb(b), bin_draws[b] - draws * out.bin[b]);
    if (bin_draws[b] == 0) continue;
    for (int s = 0; s < shape_.slots; ++s) {
      output(Ws(b, s, 0), Bs(b, s), slot_draws[b][s] - bin_draws[b] * out.slot[b][s]);
    }
  }
  for (int j = 0; j < H; ++j) {
    const double d_pre = d_hidden[j] * (1.0 - out.hidden[j] * out.hidden[j]);
    if (d_pre == 0.0) continue;
    gradient[B1(j)] += scale * d_pre;
    for (int i = 0; i < shape_.inputs; ++i) gradient[W1(j, i)] += scale * d_pre * x[i];
  }
}

void PolicyNetwork::AddBaselineGradient(const std::vector<double>& x, double scale,
                                        std::vector<double>& gradient) const {
  for (int i = 0; i < shape_.inputs; ++i) gradient[V(i)] += scale * x[i];
  gradient[C()] += scale;
}

void PolicyNetwork::AdamStep(const std::vector<double>& gradient, double learning_rate) {
  ++steps_;
  const double correction1 = 1.0 - std::pow(kAdamBeta1, static_cast<double>(steps_));
  const double correction2 = 1.0 - std::pow(kAdamBeta2, static_cast<double>(steps_));
  for (size_t i = 0; i < theta_.size(); ++i) {
    m_[i] = kAdamBeta1 * m_[i] + (1.0 - kAdamBeta1) * gradient[i];
    v_[i] = kAdamBeta2 * v_[i] + (1.0 - kAdamBeta2) * gradient[i] * gradient[i];
    theta_[i] -=
        learning_rate * (m_[i] / correction1) / (std::sqrt(v_[i] / correction2) + kAdamEpsilon);
  }
}

bool PolicyNetwork::SetState(std::vector<double> parameters, std::vector<double> first_moment,
                             std::vector<double> second_moment, int64_t steps) {
  if (parameters.size() != theta_.size() || first_moment.size() != theta_.size() ||
      second_moment.size() != theta_.size() || steps < 0) {
    return false;
  }
  theta_ = std::move(parameters);
  m_ = std::move(first_moment);
  v_ = std::move(second_moment);
  steps_ = steps;
  return true;
}

}  // namespace headevo::search
