// A deterministic stand-in for training, for tests of the search driver and the coordinator.
#ifndef HEADEVO_TESTS_TESTUTIL_FAKE_EVALUATOR_H_
#define HEADEVO_TESTS_TESTUTIL_FAKE_EVALUATOR_H_

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/evaluator.h"

namespace headevo::testing {

// A deterministic stand-in for training: a genome's loss falls with each planted offset its
// heads cover and rises with its connections; a head that covers a planted offset is
// concentrated and heavy, any other is diffuse and light. It remembers every request. With
// report_growth it also reports a growth record (WIDEN) for every GROWN head, as a worker's
// growth step would.
class FakeEvaluator : public search::Evaluator {
 public:
  explicit FakeEvaluator(std::vector<int> planted) : planted_(std::move(planted)) {}

  absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) override {
    requests.push_back(request);
    if (fail_when && fail_when(request)) return absl::InternalError("loss is NaN at step 3");
    headevo::v1::EvaluationResult result;
    result.set_candidate_id(request.candidate_id());
    std::set<int> covered;
    int64_t connections = 0;
    for (const auto& head : request.genome().heads()) {
      int hits = 0;
      for (int offset : head.offsets().offsets()) {
        if (std::count(planted_.begin(), planted_.end(), offset) == 0) continue;
        ++hits;
        covered.insert(offset);
      }
      connections += head.offsets().offsets_size();
      // A reference model's heads are not in the lineage: a worker sends no statistics.
      if (request.reference_id() != 0) continue;
      auto* stats = result.add_head_stats();
      stats->set_head_id(head.id());
      stats->set_layer(head.layer());
      stats->set_entropy(hits ? 0.2 : 0.9);
      stats->set_weight_norm(hits + 0.01 * head.offsets().offsets_size());
      stats->set_independence(0.5);
      stats->set_importance(hits);
    }
    for (const auto& head : request.genome().heads()) {
      if (!report_growth || head.origin() != headevo::v1::HEAD_ORIGIN_GROWN) continue;
      headevo::v1::HeadGrowth* growth = result.add_growth();
      growth->set_head_id(head.id());
      growth->set_source_head_id(head.source_head_id());
      growth->set_layer(head.layer());
      growth->set_kind(headevo::v1::GROWTH_KIND_WIDEN);
      growth->set_added_key_width(head.extra_key_width());
      growth->set_scale(0.5);
      growth->set_predicted_loss_change(-0.02);
      growth->set_measured_loss_change(-0.01);
    }
    auto* m = result.mutable_metrics();
    m->set_val_loss(2.0 - 0.5 * static_cast<double>(covered.size()) + 0.001 * connections +
                    1e-6 * static_cast<double>(request.training().seed() % 1000));
    // With a schedule over a larger budget (multi-fidelity), a longer run ends lower.
    if (request.training().schedule_steps() > 0) {
      m->set_val_loss(m->val_loss() - 0.1 * request.training().steps() /
                                          request.training().schedule_steps());
    }
    m->set_train_loss(m->val_loss());
    m->set_connections(connections);
    m->set_steps(request.training().steps());
    m->set_tokens(static_cast<int64_t>(request.training().steps()) *
                  request.training().batch_size());
    if (request.reference_id() == 0) {
      // A promotion's checkpoint is another file than the one it continued from.
      result.set_checkpoint_sha256(
          "ckpt-" + std::to_string(request.candidate_id()) +
          (request.resume_checkpoint_sha256().empty()
               ? std::string()
               : "-" + std::to_string(request.training().steps())));
    }
    return result;
  }

  std::vector<headevo::v1::EvaluationRequest> requests;
  std::function<bool(const headevo::v1::EvaluationRequest&)> fail_when;
  bool report_growth = false;

 private:
  std::vector<int> planted_;
};

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_TESTUTIL_FAKE_EVALUATOR_H_
