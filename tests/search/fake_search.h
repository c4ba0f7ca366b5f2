// Stands in for storage and the worker in strategy tests: numbers candidates and heads, and
// "trains" a genome with a deterministic loss that rewards heads attending to -2, -5 or -11.
#ifndef HEADEVO_TESTS_SEARCH_FAKE_SEARCH_H_
#define HEADEVO_TESTS_SEARCH_FAKE_SEARCH_H_

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "search/strategy.h"

namespace headevo::search::testing {

class FakeSearch {
 public:
  void Add(headevo::v1::Candidate candidate) {
    candidate.set_id(++last_candidate_id_);
    for (headevo::v1::Head& head : *candidate.mutable_genome()->mutable_heads()) {
      if (head.id() == 0) head.set_id(++last_head_id_);
    }
    Evaluate(candidate);
    population.push_back(std::move(candidate));
  }

  void AddChild(int generation, const ChildPlan& plan) {
    headevo::v1::Candidate c;
    c.set_generation(generation);
    c.set_parent_id(plan.parent_id);
    *c.mutable_genome() = plan.genome;
    *c.mutable_mutation() = plan.mutation;
    Add(std::move(c));
  }

  void AddGeneration(int generation, const std::vector<ChildPlan>& plans) {
    for (const ChildPlan& plan : plans) AddChild(generation, plan);
  }

  // Generation 0, from the strategy's initial distribution.
  void AddInitialGeneration(Strategy& strategy) {
    for (headevo::v1::Genome& genome : strategy.InitialGenomes()) {
      headevo::v1::Candidate c;
      *c.mutable_genome() = std::move(genome);
      Add(std::move(c));
    }
  }

  std::vector<headevo::v1::Candidate> population;

 private:
  static void Evaluate(headevo::v1::Candidate& c) {
    c.set_state(headevo::v1::CANDIDATE_STATE_DONE);
    double loss = 0;
    int64_t connections = 0;
    for (const headevo::v1::Head& head : c.genome().heads()) {
      int hits = 0;
      for (int o : head.offsets().offsets()) hits += (o == -2 || o == -5 || o == -11) ? 1 : 0;
      connections += head.offsets().offsets_size();
      headevo::v1::HeadStats* s = c.add_head_stats();
      s->set_head_id(head.id());
      s->set_layer(head.layer());
      s->set_entropy(std::log(1.0 + head.offsets().offsets_size()) - hits);
      s->set_independence(0.5 + 0.01 * static_cast<double>(head.id() % 7));
      s->set_weight_norm(1.0 + hits);
      s->set_importance(0.1 * hits);
      loss += 1.0 / (1.0 + hits);
    }
    c.mutable_metrics()->set_val_loss(loss);
    c.mutable_metrics()->set_connections(connections);
  }

  int64_t last_candidate_id_ = 0;
  int64_t last_head_id_ = 0;
};

}  // namespace headevo::search::testing

#endif  // HEADEVO_TESTS_SEARCH_FAKE_SEARCH_H_
