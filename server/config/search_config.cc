#include "server/config/search_config.h"

#include <toml++/toml.h>

#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/config/toml_ascii.h"
#include "server/config/toml_section.h"
#include "server/config/toml_syntax_error.h"

namespace headevo::server {
namespace {

constexpr int kMaxInt = std::numeric_limits<int>::max();
constexpr double kMaxDouble = std::numeric_limits<double>::max();

// A choice among named enum values: `choices` pairs each config name with its value.
template <typename Enum>
void EnumChoice(TomlSection& s, const char* key,
                const std::vector<std::pair<std::string, Enum>>& choices, Enum* out) {
  std::vector<std::string> names;
  int index = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    names.push_back(choices[i].first);
    if (choices[i].second == *out) index = static_cast<int>(i);
  }
  s.Choice(key, names, &index);
  *out = choices[index].second;
}

// (config name, value) pairs named by the library's own name function, so the config and
// the messages of search/ spell every choice the same way.
template <typename Enum, typename NameOf>
std::vector<std::pair<std::string, Enum>> Named(std::initializer_list<Enum> values,
                                                NameOf name_of) {
  std::vector<std::pair<std::string, Enum>> named;
  for (Enum value : values) named.emplace_back(std::string(name_of(value)), value);
  return named;
}

void ReadSearch(TomlSection& s, search::SearchOptions& o) {
  s.String("name", &o.name);
  int64_t seed = static_cast<int64_t>(o.seed);
  s.Int("seed", int64_t{0}, std::numeric_limits<int64_t>::max(), &seed);
  o.seed = static_cast<uint64_t>(seed);
  s.Int("population", 1, 100000, &o.population_size);
  s.Int("generations", 0, 1000000, &o.generations);
  EnumChoice(s, "mode",
             {{"evolve", search::SearchMode::kEvolve}, {"k_sweep", search::SearchMode::kKSweep}},
             &o.mode);
  EnumChoice(s, "schedule",
             {{"steady_state", search::Schedule::kSteadyState},
              {"generational", search::Schedule::kGenerational}},
             &o.schedule);
  s.Bool("compare_with_dense", &o.compare_with_dense);
  s.Bool("inherit_weights", &o.inherit_weights);
  s.Int("budget_steps", int64_t{0}, std::numeric_limits<int64_t>::max(), &o.budget_steps);
}

void ReadFidelity(TomlSection& s, search::SearchOptions& o) {
  search::FidelityOptions& f = o.fidelity;
  s.Bool("enabled", &f.enabled);
  s.Int("min_steps", 0, std::numeric_limits<int>::max(), &f.min_steps);
  s.Double("reduction_factor", 2.0, 1000.0, &f.reduction_factor);
}

void ReadSelection(TomlSection& s, search::SearchOptions& o) {
  search::SelectionOptions& sel = o.selection;
  EnumChoice(s, "method",
             Named({search::SelectionMethod::kTruncation, search::SelectionMethod::kTournament,
                    search::SelectionMethod::kAging, search::SelectionMethod::kNsga2},
                   search::SelectionMethodName),
             &sel.method);
  s.Int("parents", 1, 100000, &sel.num_parents);
  s.Int("tournament_size", 1, 100000, &sel.tournament_size);
  s.Int("aging_window", 0, 100000000, &sel.aging_window);
  s.Double("connection_cost", 0.0, kMaxDouble, &sel.connection_cost);
}

void ReadResampling(TomlSection& s, search::SearchOptions& o) {
  search::ResamplingOptions& r = o.resampling;
  EnumChoice(s, "sampler",
             Named({search::Sampler::kUniform, search::Sampler::kBest, search::Sampler::kFitted,
                    search::Sampler::kGrowth, search::Sampler::kPolicy, search::Sampler::kAdaptive},
                   search::SamplerName),
             &r.sampler);
  s.Double("top_fraction", 1e-9, 1.0, &r.top_fraction);
  s.Double("shift_weight", 0.0, 1e6, &r.mutation.shift_weight);
  s.Double("add_weight", 0.0, 1e6, &r.mutation.add_weight);
  s.Double("drop_weight", 0.0, 1e6, &r.mutation.drop_weight);
  s.Int("max_shift", 1, 1 << 20, &r.mutation.max_shift);
  EnumChoice(s, "shift_scaling",
             Named({search::ShiftScaling::kConstant, search::ShiftScaling::kProportional},
                   search::ShiftScalingName),
             &r.mutation.shift_scaling);
  s.Double("shift_fraction", 1e-6, 1.0, &r.mutation.shift_fraction);
  EnumChoice(s, "fitted_family",
             Named({search::OffsetFamily::kNormal, search::OffsetFamily::kStudentT,
                    search::OffsetFamily::kGamma, search::OffsetFamily::kUniform,
                    search::OffsetFamily::kLogUniform, search::OffsetFamily::kDilated,
                    search::OffsetFamily::kMixture},
                   search::OffsetFamilyName),
             &r.fitted_family);
  s.Int("mixture_components", 1, 64, &r.fit.mixture_components);
  s.Int("min_fit_offsets", 2, 1 << 20, &r.min_fit_offsets);
  s.Int("growth_width", 1, 1 << 12, &r.growth_width);
  s.Int("max_extra_key_width", 1, 1 << 16, &r.max_extra_key_width);
  // The adaptive sampler's arms: any of the concrete samplers (not "adaptive" itself).
  const auto concrete =
      Named({search::Sampler::kUniform, search::Sampler::kBest, search::Sampler::kFitted,
             search::Sampler::kGrowth, search::Sampler::kPolicy},
            search::SamplerName);
  std::vector<std::string> arm_names;
  std::vector<int> arms;
  for (const auto& [name, sampler] : concrete) arm_names.push_back(name);
  for (search::Sampler arm : r.arms) {
    for (size_t i = 0; i < concrete.size(); ++i) {
      if (concrete[i].second == arm) arms.push_back(static_cast<int>(i));
    }
  }
  s.ChoiceArray("arms", arm_names, &arms);
  r.arms.clear();
  for (int arm : arms) r.arms.push_back(concrete[arm].second);
  EnumChoice(s, "bandit",
             Named({search::BanditPolicy::kUcb, search::BanditPolicy::kThompson},
                   search::BanditPolicyName),
             &r.bandit.policy);
  s.Double("exploration", 0.0, 1e6, &r.bandit.exploration);
  s.Double("reward_cost_per_connection", 0.0, 1e6, &r.reward_cost_per_connection);
  s.Int("policy_hidden", 1, 256, &r.policy.hidden);
  s.Double("policy_learning_rate", 1e-12, 1.0, &r.policy.learning_rate);
  s.Int("policy_max_k", 1, 4096, &r.policy.max_k);
  s.Int("policy_slots_per_bin", 1, 64, &r.policy.slots_per_bin);
  s.Int("policy_history", 2, 1 << 16, &r.policy.history);
}

void ReadKSweep(TomlSection& s, search::SearchOptions& o) {
  search::KSweepOptions& k = o.k_sweep;
  s.Double("k_start", 1.0, 1 << 20, &k.k_start);
  s.Double("k_factor", 1e-6, 0.999999, &k.k_factor);
  s.Double("k_min", 1.0, 1 << 20, &k.k_min);
  s.Int("repeats", 1, 100000, &k.repeats);
  s.Double("tolerance", 0.0, 1e6, &k.tolerance);
}

// Config names of the baseline kinds, in AttentionKind order from LOCAL.
const std::vector<std::string> kBaselineNames = {"local",  "strided", "linformer",
                                                  "random", "dilated", "window_random"};

void ReadBaselines(TomlSection& s, search::SearchOptions& o) {
  std::vector<int> kinds;
  for (headevo::v1::AttentionKind kind : o.baselines) {
    kinds.push_back(static_cast<int>(kind) - headevo::v1::ATTENTION_KIND_LOCAL);
  }
  s.ChoiceArray("run", kBaselineNames, &kinds);
  o.baselines.clear();
  for (int kind : kinds) {
    o.baselines.push_back(
        static_cast<headevo::v1::AttentionKind>(kind + headevo::v1::ATTENTION_KIND_LOCAL));
  }
  s.Int("window", 0, 1 << 20, &o.baseline_window);
  s.Int("stride", 0, 1 << 20, &o.baseline_stride);
  s.Int("linformer_rank", 0, 1 << 20, &o.baseline_linformer_rank);
  s.Int("random_k", 0, 1 << 20, &o.baseline_random_k);
}

void ReadModel(TomlSection& s, search::SearchOptions& o) {
  headevo::v1::ModelSpec& m = *o.training.mutable_model();
  int value = 0;
  const auto read = [&](const char* key, int min, int max, int current, auto set) {
    value = current;
    s.Int(key, min, max, &value);
    set(value);
  };
  read("vocab_size", 2, 1 << 20, m.vocab_size(), [&](int v) { m.set_vocab_size(v); });
  read("d_model", 1, 1 << 16, m.d_model(), [&](int v) { m.set_d_model(v); });
  read("layers", 1, 1024, m.num_layers(), [&](int v) { m.set_num_layers(v); });
  read("heads_per_layer", 1, 1024, m.heads_per_layer(), [&](int v) { m.set_heads_per_layer(v); });
  read("d_head", 1, 1 << 12, m.d_head(), [&](int v) { m.set_d_head(v); });
  read("mlp_ratio", 1, 64, m.mlp_ratio(), [&](int v) { m.set_mlp_ratio(v); });
  read("seq_len", 2, 1 << 20, m.seq_len(), [&](int v) { m.set_seq_len(v); });
  bool causal = m.causal();
  s.Bool("causal", &causal);
  m.set_causal(causal);
}

// The image_pixels keys of [task]; search/image_task.h checks them against the model.
void ReadImageTask(TomlSection& s, headevo::v1::TaskSpec& t) {
  std::string path = t.mnist_dir();
  s.String("mnist_dir", &path);
  t.set_mnist_dir(path);
  path = t.image_dir();
  s.String("image_dir", &path);
  t.set_image_dir(path);
  int value = t.levels();
  s.Int("levels", 0, 256, &value);
  t.set_levels(value);
  value = t.patch_width();
  s.Int("patch_width", 0, 1 << 16, &value);
  t.set_patch_width(value);
  value = t.patch_height();
  s.Int("patch_height", 0, 1 << 16, &value);
  t.set_patch_height(value);
}

void ReadTask(TomlSection& s, search::SearchOptions& o) {
  headevo::v1::TaskSpec& t = *o.training.mutable_task();
  // Config names in TaskKind order from PLANTED_OFFSETS.
  int kind = t.kind() - headevo::v1::TASK_KIND_PLANTED_OFFSETS;
  s.Choice("kind", {"planted_offsets", "brown_corpus", "text_files", "image_pixels"}, &kind);
  t.set_kind(static_cast<headevo::v1::TaskKind>(kind + headevo::v1::TASK_KIND_PLANTED_OFFSETS));
  std::vector<int> planted(t.planted_offsets().begin(), t.planted_offsets().end());
  s.IntArray("planted_offsets", -(1 << 20), 1 << 20, &planted);
  t.clear_planted_offsets();
  for (int offset : planted) t.add_planted_offsets(offset);
  std::string corpus_dir = t.corpus_dir();
  s.String("corpus_dir", &corpus_dir);
  t.set_corpus_dir(corpus_dir);
  std::string text_path = t.text_path();
  s.String("text_path", &text_path);
  t.set_text_path(text_path);
  ReadImageTask(s, t);
}

void ReadTraining(TomlSection& s, search::SearchOptions& o) {
  headevo::v1::TrainingSpec& t = o.training;
  int value = t.steps();
  s.Int("steps", 1, kMaxInt, &value);
  t.set_steps(value);
  value = t.batch_size();
  s.Int("batch_size", 1, 1 << 20, &value);
  t.set_batch_size(value);
  value = t.eval_batches();
  s.Int("eval_batches", 1, 1 << 20, &value);
  t.set_eval_batches(value);
  double number = t.learning_rate();
  s.Double("learning_rate", 1e-12, 10.0, &number);
  t.set_learning_rate(number);
  number = t.weight_decay();
  s.Double("weight_decay", 0.0, 10.0, &number);
  t.set_weight_decay(number);
  int schedule = t.lr_schedule() == headevo::v1::LEARNING_RATE_SCHEDULE_COSINE ? 1 : 0;
  s.Choice("lr_schedule", {"constant", "cosine"}, &schedule);
  t.set_lr_schedule(schedule == 1 ? headevo::v1::LEARNING_RATE_SCHEDULE_COSINE
                                  : headevo::v1::LEARNING_RATE_SCHEDULE_CONSTANT);
  value = t.warmup_steps();
  s.Int("warmup_steps", 0, kMaxInt, &value);
  t.set_warmup_steps(value);
  number = t.final_lr_fraction();
  s.Double("final_lr_fraction", 0.0, 1.0, &number);
  t.set_final_lr_fraction(number);
  number = t.max_grad_norm();
  s.Double("max_grad_norm", 0.0, kMaxDouble, &number);
  t.set_max_grad_norm(number);
  number = t.entropy_weight();
  s.Double("entropy_weight", 0.0, 1e6, &number);
  t.set_entropy_weight(number);
  int init = t.new_head_init() == headevo::v1::NEW_HEAD_INIT_GRADIENT ? 1 : 0;
  s.Choice("new_head_init", {"random", "gradient"}, &init);
  t.set_new_head_init(init == 1 ? headevo::v1::NEW_HEAD_INIT_GRADIENT
                                : headevo::v1::NEW_HEAD_INIT_RANDOM);
  value = t.growth_batches();
  s.Int("growth_batches", 0, 1000, &value);
  t.set_growth_batches(value);
}

// offset_distribution, and for "local_plus_far" its block and far family. `families` are the
// plain offset families, which far_distribution chooses among.
void ReadLocalPlusFar(TomlSection& s, std::vector<std::string> families,
                      search::HeadDistribution& d) {
  const int local_plus_far = static_cast<int>(families.size());
  int far = static_cast<int>(d.offsets.family);
  int family = d.local.enabled() ? local_plus_far : far;
  std::vector<std::string> choices = families;
  choices.emplace_back("local_plus_far");
  s.Choice("offset_distribution", choices, &family);
  if (!d.local.enabled()) far = static_cast<int>(search::OffsetFamily::kLogUniform);
  s.Choice("far_distribution", families, &far);
  int width = d.local.enabled() ? d.local.width : 4;
  s.Int("local_width", 1, 1 << 20, &width);
  s.Double("local_probability", 0.0, 1.0, &d.local.probability);
  if (family == local_plus_far) {
    d.offsets.family = static_cast<search::OffsetFamily>(far);
    d.local.width = width;
  } else {
    d.offsets.family = static_cast<search::OffsetFamily>(family);
    d.local.width = 0;
  }
}

void ReadInitial(TomlSection& s, search::SearchOptions& o) {
  search::HeadDistribution& d = o.initial;
  std::vector<std::string> names;
  for (int f = 0; f <= static_cast<int>(search::CountFamily::kPoisson); ++f) {
    names.emplace_back(search::CountFamilyName(static_cast<search::CountFamily>(f)));
  }
  int family = static_cast<int>(d.count.family);
  s.Choice("k_distribution", names, &family);
  d.count.family = static_cast<search::CountFamily>(family);
  s.Double("k_mean", 1.0, 1e6, &d.count.mean);
  s.Double("k_stddev", 0.0, 1e6, &d.count.stddev);
  // Every offset family but the mixture, which only a fit to observed heads produces; and
  // "local_plus_far": a local block, the other offsets from far_distribution.
  names.clear();
  for (int f = 0; f <= static_cast<int>(search::OffsetFamily::kDilated); ++f) {
    names.emplace_back(search::OffsetFamilyName(static_cast<search::OffsetFamily>(f)));
  }
  ReadLocalPlusFar(s, names, d);
  s.Double("offset_location", -1e9, 1e9, &d.offsets.location);
  s.Double("offset_scale", 1e-6, 1e9, &d.offsets.scale);
  s.Double("offset_shape", 1e-6, 1e9, &d.offsets.shape);
  s.Double("offset_df", 1e-6, 1e9, &d.offsets.degrees_of_freedom);
  s.Double("offset_low", 1.0, 1 << 20, &d.offsets.low);
  s.Double("offset_high", 0.0, 1 << 20, &d.offsets.high);
  s.Int("dilation_base", 2, 1 << 20, &d.offsets.dilation_base);
  s.Double("negative_fraction", 0.0, 1.0, &d.negative_fraction);
  s.Int("window", 1, 1 << 20, &d.window);
  s.Bool("allow_zero", &d.allow_zero);
  s.Bool("k_spread", &o.initial_k_spread);
  s.Double("window_growth", 1.0, 1e3, &d.layer_windows.growth);
}

void ReadRanking(TomlSection& s, search::SearchOptions& o) {
  search::RankingOptions& r = o.ranking;
  EnumChoice(s, "normalization",
             {{"zscore", search::Normalization::kZScore}, {"rank", search::Normalization::kRank}},
             &r.normalization);
  s.Double("entropy", -1e6, 1e6, &r.entropy_weight);
  s.Double("independence", -1e6, 1e6, &r.independence_weight);
  s.Double("weight_norm", -1e6, 1e6, &r.weight_norm_weight);
  s.Double("importance", -1e6, 1e6, &r.importance_weight);
  s.Double("cost_per_connection", 0.0, 1e6, &r.cost_per_connection);
}

void ReadPruning(TomlSection& s, search::SearchOptions& o) {
  search::PruningOptions& p = o.pruning;
  s.Double("fraction", 0.0, 0.99, &p.fraction);
  s.Int("min_heads_per_layer", 1, 1024, &p.min_heads_per_layer);
  s.Int("max_heads_per_layer", 0, 1024, &p.max_heads_per_layer);
  s.Double("duplicate_jaccard", 0.0, 1.0, &p.duplicate_jaccard);
  s.Double("duplicate_similarity", 0.0, 1.0, &p.duplicate_similarity);
}

using Reader = void (*)(TomlSection&, search::SearchOptions&);
const std::pair<const char*, Reader> kReaders[] = {
    {"search", ReadSearch},     {"model", ReadModel},         {"task", ReadTask},
    {"training", ReadTraining}, {"initial", ReadInitial},     {"ranking", ReadRanking},
    {"pruning", ReadPruning},   {"selection", ReadSelection}, {"resampling", ReadResampling},
    {"k_sweep", ReadKSweep},    {"baselines", ReadBaselines}, {"fidelity", ReadFidelity},
};

search::SearchOptions Defaults() {
  search::SearchOptions options;
  options.training = search::DefaultTrainingSpec();
  return options;
}

// What every key accepts, learnt from the readers themselves: each runs over an absent
// section, so it keeps its default and records what its key takes (see TomlSection).
TomlSchema Schema() {
  search::SearchOptions options = Defaults();
  absl::Status unused;
  TomlSchema schema;
  for (const auto& [name, read] : kReaders) {
    TomlSection s(nullptr, name, "", &unused);
    read(s, options);
    schema[name] = s.expectations();
  }
  return schema;
}

}  // namespace

absl::StatusOr<search::SearchOptions> ParseSearchConfig(std::string_view toml_text,
                                                        std::string_view source_name) {
  const std::string source(source_name);
  // toml++ 3.3.0 must never read a non-ASCII character (see toml_ascii.h).
  // Its refusals, and toml++'s, name the key being written where the text broke.
  AsciiRefusal refusal;
  absl::StatusOr<std::string> ascii_text = AsciiToml(toml_text, source, &refusal);
  if (!ascii_text.ok()) {
    return ExplainSyntaxError(source, toml_text, refusal.line, refusal.column, refusal.what,
                              Schema());
  }
  toml::table doc;
  try {
    doc = toml::parse(*ascii_text, source_name);
  } catch (const toml::parse_error& e) {
    // Positions are in the ASCII text toml++ read, so that is the text to scan.
    return ExplainSyntaxError(source, *ascii_text, static_cast<int>(e.source().begin.line),
                              static_cast<int>(e.source().begin.column), e.description(), Schema());
  }

  search::SearchOptions options = Defaults();
  absl::Status error;
  const auto section = [&](const char* name) {
    const toml::node* node = doc.get(name);
    const toml::table* table = node != nullptr ? node->as_table() : nullptr;
    if (node != nullptr && table == nullptr && error.ok()) {
      error = absl::InvalidArgumentError(absl::StrCat(source, ":", node->source().begin.line, ": '",
                                                      name, "' must be a [", name, "] section"));
    }
    return TomlSection(table, name, source, &error);
  };

  for (const auto& [name, read] : kReaders) {
    TomlSection s = section(name);
    read(s, options);
    s.FinishUnknownKeys();
  }
  for (const auto& [key, node] : doc) {
    bool known = false;
    for (const auto& [name, read] : kReaders) known |= key.str() == name;
    if (!known && error.ok()) {
      error = absl::InvalidArgumentError(
          absl::StrCat(source, ":", node.source().begin.line, ":", node.source().begin.column,
                       ": unknown section [", std::string(key.str()),
                       "]; sections are search, model, task, training, initial, ranking, pruning, "
                       "selection, resampling, k_sweep, baselines, fidelity"));
    }
  }
  if (!error.ok()) return error;

  // The causal constraint is one fact of the model; the offset sampler follows it.
  options.initial.causal = options.training.model().causal();
  // So do the windows: no layer's may reach seq_len, however it grows.
  options.initial.layer_windows.max_window = options.training.model().seq_len() - 1;
  for (headevo::v1::AttentionKind kind : options.baselines) {
    if (kind == headevo::v1::ATTENTION_KIND_LINFORMER && options.training.model().causal()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source,
          ": baselines.run includes \"linformer\", which needs model.causal = false (its "
          "projection along the sequence mixes future positions into every key)"));
    }
  }
  if (absl::Status s = options.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
  }
  return options;
}

absl::StatusOr<search::SearchOptions> LoadSearchConfigFile(const std::string& path,
                                                           std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "'"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  *text = contents.str();
  return ParseSearchConfig(*text, path);
}

}  // namespace headevo::server
