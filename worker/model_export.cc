#include "worker/model_export.h"

#include <ATen/CPUGeneratorImpl.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace headevo::worker {
namespace {

// The seed of the reference tokens: fixed, so the same checkpoint gives the same file.
constexpr uint64_t kReferenceTokensSeed = 20250;

c10::impl::GenericDict NewDict() {
  return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
}

c10::impl::GenericDict ConfigOf(const headevo::v1::ModelSpec& spec) {
  c10::impl::GenericDict config = NewDict();
  config.insert("vocab_size", static_cast<int64_t>(spec.vocab_size()));
  config.insert("d_model", static_cast<int64_t>(spec.d_model()));
  config.insert("d_head", static_cast<int64_t>(spec.d_head()));
  config.insert("mlp_ratio", static_cast<int64_t>(spec.mlp_ratio()));
  config.insert("seq_len", static_cast<int64_t>(spec.seq_len()));
  config.insert("num_layers", static_cast<int64_t>(spec.num_layers()));
  return config;
}

c10::impl::GenericList HeadsOf(const headevo::v1::Genome& genome, const GenomeLayout& layout) {
  c10::impl::GenericList heads(c10::AnyType::get());
  for (int i = 0; i < genome.heads_size(); ++i) {
    const headevo::v1::Head& head = genome.heads(i);
    c10::impl::GenericDict entry = NewDict();
    entry.insert("head_id", static_cast<int64_t>(head.id()));
    entry.insert("layer", static_cast<int64_t>(head.layer()));
    entry.insert("slot", static_cast<int64_t>(layout.slot_of[i]));
    c10::List<int64_t> offsets;
    for (int32_t offset : head.offsets().offsets()) offsets.push_back(offset);
    entry.insert("offsets", offsets);
    entry.insert("extra_key_width", static_cast<int64_t>(head.extra_key_width()));
    heads.push_back(entry);
  }
  return heads;
}

c10::Dict<std::string, torch::Tensor> StateDictOf(SparseTransformer& model) {
  c10::Dict<std::string, torch::Tensor> state;
  for (const auto& parameter : model->named_parameters()) {
    state.insert(parameter.key(), parameter.value().detach().clone());
  }
  for (const auto& buffer : model->named_buffers()) {
    state.insert(buffer.key(), buffer.value().detach().clone());
  }
  return state;
}

c10::impl::GenericDict ReferenceOf(SparseTransformer& model,
                                   const headevo::v1::ModelSpec& spec, int64_t batch) {
  torch::NoGradGuard no_grad;
  at::Generator generator = at::detail::createCPUGenerator(kReferenceTokensSeed);
  const torch::Tensor tokens =
      torch::randint(spec.vocab_size(), {batch, spec.seq_len()}, generator, torch::kInt64);
  c10::impl::GenericDict reference = NewDict();
  reference.insert("tokens", tokens);
  reference.insert("logits", model->forward(tokens).detach().contiguous());
  return reference;
}

}  // namespace

absl::StatusOr<std::string> ExportModel(const Checkpoint& checkpoint,
                                        const ModelExportOptions& options) {
  const headevo::v1::ModelSpec& spec = checkpoint.model_spec();
  if (!UsesGenomeOffsets(spec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint ", checkpoint.name(), " holds a ", AttentionKindName(spec.attention()),
        "-attention model; only candidates (sparse offset attention) can be exported"));
  }
  try {
    const GenomeLayout layout = MakeGenomeLayout(checkpoint.genome(), spec);
    SparseTransformer model(ModelOptionsFor(spec, layout, torch::kCPU));
    if (absl::Status status = checkpoint.Restore(model, nullptr); !status.ok()) return status;
    model->eval();
    c10::impl::GenericDict file = NewDict();
    file.insert("format", std::string(kModelExportFormat));
    file.insert("candidate_id", options.candidate_id);
    file.insert("config", ConfigOf(spec));
    file.insert("heads", HeadsOf(checkpoint.genome(), layout));
    file.insert("state_dict", StateDictOf(model));
    if (options.reference_batch > 0) {
      file.insert("reference", ReferenceOf(model, spec, options.reference_batch));
    }
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(file));
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("exporting checkpoint ", checkpoint.name(), ": ", e.what()));
  }
}

}  // namespace headevo::worker
