// OffsetPolicy's learning half: REINFORCE updates, what it forgets, the snapshots the report
// shows, and saving and restoring all of it (offset_policy.h has the contract).
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "search/offset_policy.h"

namespace headevo::search {

bool OffsetPolicy::Learn(const std::vector<const headevo::v1::Head*>& heads, double reward) {
  std::vector<double> gradient(network_.parameters().size(), 0.0);
  bool learned = false;
  int64_t newest = -1;
  for (const headevo::v1::Head* head : heads) {
    const std::optional<int64_t> proposal = PolicyProposalOf(*head);
    if (!proposal.has_value()) continue;
    newest = std::max(newest, *proposal);
    const auto it = std::find_if(pending_.begin(), pending_.end(),
                                 [&](const Pending& p) { return p.proposal == *proposal; });
    if (it == pending_.end() || it->layer != head->layer()) continue;
    const std::vector<int> offsets(head->offsets().offsets().begin(),
                                   head->offsets().offsets().end());
    if (offsets.empty()) continue;
    const PolicyOutput out = network_.Forward(it->inputs, layers_[it->layer].priors);
    const double advantage = reward - out.baseline;
    // Descend -advantage * log pi (REINFORCE) and (reward - baseline)^2 / 2 (the baseline).
    network_.AddLogProbabilityGradient(it->inputs, out, ActionOf(it->layer, offsets), -advantage,
                                       gradient);
    network_.AddBaselineGradient(it->inputs, -advantage, gradient);
    newest_inputs_[it->layer] = it->inputs;
    learned = true;
  }
  if (newest >= 0) ForgetThrough(newest);
  if (!learned) return false;
  if (updates_ == 0) TakeSnapshot();  // where it started, under the inputs it first learns from
  network_.AdamStep(gradient, options_.learning_rate);
  ++updates_;
  if (updates_ % snapshot_every_ == 0) TakeSnapshot();
  return true;
}

void OffsetPolicy::Forget(const std::vector<const headevo::v1::Head*>& heads) {
  int64_t newest = -1;
  for (const headevo::v1::Head* head : heads) {
    const std::optional<int64_t> proposal = PolicyProposalOf(*head);
    if (proposal.has_value()) newest = std::max(newest, *proposal);
  }
  if (newest >= 0) ForgetThrough(newest);
}

void OffsetPolicy::ForgetAll() { pending_.clear(); }

void OffsetPolicy::ForgetThrough(int64_t proposal) {
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [&](const Pending& p) { return p.proposal <= proposal; }),
                 pending_.end());
}

void OffsetPolicy::TakeSnapshot() {
  for (int layer = 0; layer < num_layers_; ++layer) {
    if (!newest_inputs_[layer].has_value()) continue;
    const PolicyOutput out = network_.Forward(*newest_inputs_[layer], layers_[layer].priors);
    headevo::v1::PolicySnapshot& snapshot = history_.emplace_back();
    snapshot.set_updates(updates_);
    snapshot.set_layer(layer);
    for (double p : out.bin) snapshot.add_bin_probabilities(p);
  }
  // Too many times kept: keep the first and every (2 * snapshot_every)-th update.
  int times = 0;
  for (size_t i = 0; i < history_.size(); ++i) {
    times += (i == 0 || history_[i].updates() != history_[i - 1].updates()) ? 1 : 0;
  }
  if (times <= options_.history) return;
  snapshot_every_ *= 2;
  history_.erase(std::remove_if(history_.begin(), history_.end(),
                                [&](const headevo::v1::PolicySnapshot& s) {
                                  return s.updates() != 0 && s.updates() % snapshot_every_ != 0;
                                }),
                 history_.end());
}

headevo::v1::PolicyState OffsetPolicy::SaveState() const {
  headevo::v1::PolicyState state;
  for (double p : network_.parameters()) state.add_parameters(p);
  for (double m : network_.first_moment()) state.add_adam_first_moment(m);
  for (double v : network_.second_moment()) state.add_adam_second_moment(v);
  state.set_updates(updates_);
  state.set_proposals(proposals_);
  for (const Pending& p : pending_) {
    headevo::v1::PolicyInput& input = *state.add_pending();
    input.set_proposal(p.proposal);
    input.set_layer(p.layer);
    for (double x : p.inputs) input.add_inputs(x);
  }
  for (int layer = 0; layer < num_layers_; ++layer) {
    if (!newest_inputs_[layer].has_value()) continue;
    headevo::v1::PolicyInput& input = *state.add_newest_inputs();
    input.set_layer(layer);
    for (double x : *newest_inputs_[layer]) input.add_inputs(x);
  }
  for (const headevo::v1::PolicySnapshot& s : history_) *state.add_history() = s;
  state.set_snapshot_every(snapshot_every_);
  return state;
}

absl::Status OffsetPolicy::RestoreState(const headevo::v1::PolicyState& state) {
  const int inputs = network_.shape().inputs;
  const auto check_input = [&](const headevo::v1::PolicyInput& input) {
    return input.layer() >= 0 && input.layer() < num_layers_ && input.inputs_size() == inputs;
  };
  for (const headevo::v1::PolicyInput& input : state.pending()) {
    if (!check_input(input)) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy state: pending proposal ", input.proposal(), " has layer ",
                       input.layer(), " and ", input.inputs_size(), " inputs; this search has ",
                       num_layers_, " layers and ", inputs, " inputs"));
    }
  }
  for (const headevo::v1::PolicyInput& input : state.newest_inputs()) {
    if (!check_input(input)) {
      return absl::InvalidArgumentError(absl::StrCat("policy state: an input of layer ",
                                                     input.layer(), " does not fit this search"));
    }
  }
  if (state.snapshot_every() < 1 || state.proposals() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("policy state: snapshot_every ",
                                                   state.snapshot_every(), ", proposals ",
                                                   state.proposals()));
  }
  if (!network_.SetState({state.parameters().begin(), state.parameters().end()},
                         {state.adam_first_moment().begin(), state.adam_first_moment().end()},
                         {state.adam_second_moment().begin(), state.adam_second_moment().end()},
                         state.updates())) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy state has ", state.parameters_size(), " parameters and ",
                     state.adam_first_moment_size(), "/", state.adam_second_moment_size(),
                     " Adam moments; this search's policy has ", network_.parameters().size(),
                     " (were policy_hidden, policy_max_k or policy_slots_per_bin changed?)"));
  }
  updates_ = state.updates();
  proposals_ = state.proposals();
  pending_.clear();
  for (const headevo::v1::PolicyInput& input : state.pending()) {
    pending_.push_back(
        {input.proposal(), input.layer(), {input.inputs().begin(), input.inputs().end()}});
  }
  newest_inputs_.assign(num_layers_, std::nullopt);
  for (const headevo::v1::PolicyInput& input : state.newest_inputs()) {
    newest_inputs_[input.layer()] =
        std::vector<double>(input.inputs().begin(), input.inputs().end());
  }
  history_.assign(state.history().begin(), state.history().end());
  snapshot_every_ = state.snapshot_every();
  return absl::OkStatus();
}

}  // namespace headevo::search
