#include "search/mutation.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace headevo::search {
namespace {

constexpr std::pair<ShiftScaling, std::string_view> kScalingNames[] = {
    {ShiftScaling::kConstant, "constant"},
    {ShiftScaling::kProportional, "proportional"},
};

template <typename T>
const T& Pick(const std::vector<T>& items, Rng& rng) {
  return items[rng.UniformInt(0, static_cast<int64_t>(items.size()) - 1)];
}

// The shift the move draws: uniform over every (from, to) pair (constant, as earlier versions
// drew it), or a uniform offset first and then one of its targets (proportional).
std::pair<int, int> DrawShift(const std::vector<std::pair<int, int>>& shifts,
                              const MutationOptions& options, Rng& rng) {
  if (options.shift_scaling == ShiftScaling::kConstant) return Pick(shifts, rng);
  std::map<int, std::vector<int>> targets;  // from -> to, both ascending
  for (const auto& [from, to] : shifts) targets[from].push_back(to);
  std::vector<int> froms;
  for (const auto& [from, to] : targets) froms.push_back(from);
  const int from = Pick(froms, rng);
  return {from, Pick(targets[from], rng)};
}

}  // namespace

absl::StatusOr<ShiftScaling> ParseShiftScaling(std::string_view name) {
  for (const auto& [scaling, scaling_name] : kScalingNames) {
    if (name == scaling_name) return scaling;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown shift_scaling \"", std::string(name),
                                                 "\"; choose constant or proportional"));
}

std::string_view ShiftScalingName(ShiftScaling scaling) {
  for (const auto& [s, name] : kScalingNames) {
    if (s == scaling) return name;
  }
  return "?";
}

absl::Status MutationOptions::Validate() const {
  for (double w : {shift_weight, add_weight, drop_weight}) {
    if (!(w >= 0.0) || !std::isfinite(w)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mutation weights must be finite and >= 0, got ", w));
    }
  }
  if (shift_weight + add_weight + drop_weight <= 0.0) {
    return absl::InvalidArgumentError(
        "at least one of shift_weight, add_weight, drop_weight must be > 0");
  }
  if (max_shift < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_shift must be >= 1, got ", max_shift));
  }
  if (!(shift_fraction > 0.0 && shift_fraction <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("shift_fraction must be in (0, 1], got ", shift_fraction));
  }
  return absl::OkStatus();
}

int MaxShift(const MutationOptions& options, int offset) {
  if (options.shift_scaling == ShiftScaling::kConstant) return options.max_shift;
  const double scaled = std::round(std::abs(offset) * options.shift_fraction);
  return std::max(1, static_cast<int>(scaled));
}

std::vector<int> MutateOffsets(const headevo::v1::OffsetSet& source, const HeadDistribution& dist,
                               const MutationOptions& options, Rng& rng, std::string* move) {
  std::set<int> offsets(source.offsets().begin(), source.offsets().end());
  const std::vector<int> allowed_list = AllowedOffsets(dist);
  const std::set<int> allowed(allowed_list.begin(), allowed_list.end());
  // Every concrete move, so each is drawn exactly with its weight's share.
  std::vector<std::pair<int, int>> shifts;  // (from, to)
  for (int from : offsets) {
    const int max_shift = MaxShift(options, from);
    for (int d = 1; d <= max_shift; ++d) {
      for (int to : {from - d, from + d}) {
        if (allowed.count(to) && !offsets.count(to)) shifts.emplace_back(from, to);
      }
    }
  }
  std::vector<int> free;
  for (int o : allowed_list) {
    if (!offsets.count(o)) free.push_back(o);
  }
  const double weights[3] = {shifts.empty() ? 0.0 : options.shift_weight,
                             free.empty() ? 0.0 : options.add_weight,
                             offsets.size() > 1 ? options.drop_weight : 0.0};
  const double total = weights[0] + weights[1] + weights[2];
  if (total <= 0.0) {
    *move = "unmutated (no allowed move)";
    return {offsets.begin(), offsets.end()};
  }
  double u = rng.Uniform() * total;
  int kind = 0;
  while (kind < 2 && u >= weights[kind]) u -= weights[kind++];
  if (weights[kind] <= 0.0) kind = weights[1] > 0.0 ? 1 : (weights[0] > 0.0 ? 0 : 2);
  if (kind == 0) {
    const auto [from, to] = DrawShift(shifts, options, rng);
    offsets.erase(from);
    offsets.insert(to);
    *move = absl::StrCat("shift ", from, "->", to);
  } else if (kind == 1) {
    const int added = Pick(free, rng);
    offsets.insert(added);
    *move = absl::StrCat("add ", added);
  } else {
    const std::vector<int> present(offsets.begin(), offsets.end());
    const int dropped = Pick(present, rng);
    offsets.erase(dropped);
    *move = absl::StrCat("drop ", dropped);
  }
  return {offsets.begin(), offsets.end()};
}

}  // namespace headevo::search
