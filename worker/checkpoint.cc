#include "worker/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "headevo/v1/checkpoint.pb.h"
#include "search/random.h"

namespace headevo::worker {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'H', 'E', 'V', 'O', 'C', 'K', 'P', 'T'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kDigestBytes = 32;

// Streams bytes into SHA-256.
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(context_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(context_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size) { EVP_DigestUpdate(context_, data, size); }
  std::string Digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_, digest, &length);
    return std::string(reinterpret_cast<const char*>(digest), length);
  }

 private:
  EVP_MD_CTX* context_;
};

std::string RawSha256(const char* data, size_t size) {
  Sha256 sha;
  sha.Update(data, size);
  return sha.Digest();
}

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : bytes) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

absl::Status Damaged(const std::string& name, const std::string& why) {
  return absl::DataLossError(
      absl::StrCat("checkpoint ", name, " is damaged or not a headevo checkpoint: ", why));
}

const char* DtypeName(torch::ScalarType type) {
  return type == torch::kDouble ? "float64" : "float32";
}

// The AdamW state of one parameter (created on its first step).
std::string StateKey(const torch::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}

// Appends a tensor's bytes to `data` and describes it in `header`.
void AppendTensor(const std::string& name, const torch::Tensor& tensor,
                  headevo::v1::CheckpointHeader* header, std::string* data) {
  TORCH_CHECK(tensor.scalar_type() == torch::kFloat || tensor.scalar_type() == torch::kDouble,
              "checkpoints hold float32 or float64 tensors, ", name, " is ", tensor.scalar_type());
  const torch::Tensor flat = tensor.detach().to(torch::kCPU).contiguous();
  headevo::v1::CheckpointTensor* entry = header->add_tensors();
  entry->set_name(name);
  entry->set_dtype(DtypeName(flat.scalar_type()));
  for (int64_t size : flat.sizes()) entry->add_shape(size);
  entry->set_offset(data->size());
  entry->set_size_bytes(flat.nbytes());
  data->append(static_cast<const char*>(flat.data_ptr()), flat.nbytes());
}

// Parameter names of one layer's attention sublayer.
std::string AttentionName(int layer, const char* parameter) {
  return absl::StrCat("block", layer, ".attention.", parameter);
}

absl::Status CheckCompatible(const headevo::v1::ModelSpec& parent,
                             const headevo::v1::ModelSpec& child) {
  if (!UsesGenomeOffsets(parent) || !UsesGenomeOffsets(child)) {
    return absl::FailedPreconditionError(
        absl::StrCat("weight inheritance needs sparse (genome-offset) models; the parent is ",
                     AttentionKindName(parent.attention()), " and the child ",
                     AttentionKindName(child.attention())));
  }
  const std::tuple<const char*, int64_t, int64_t> fields[] = {
      {"vocab_size", parent.vocab_size(), child.vocab_size()},
      {"d_model", parent.d_model(), child.d_model()},
      {"num_layers", parent.num_layers(), child.num_layers()},
      {"d_head", parent.d_head(), child.d_head()},
      {"mlp_ratio", parent.mlp_ratio(), child.mlp_ratio()},
      {"seq_len", parent.seq_len(), child.seq_len()},
      {"causal", parent.causal(), child.causal()},
  };
  for (const auto& [field, p, c] : fields) {
    if (p != c) {
      return absl::FailedPreconditionError(
          absl::StrCat("parent checkpoint does not fit the child: model.", field, " is ", p,
                       " in the parent and ", c, " in the child"));
    }
  }
  return absl::OkStatus();
}

// Where one head of the parent sits, and how wide its queries and keys are.
struct ParentHead {
  int layer = 0;
  int slot = 0;
  int64_t heads = 0;        // heads in its layer
  int64_t extra_width = 0;  // its extra_key_width
  const std::vector<int32_t>* offsets = nullptr;
};

// Copies the parent head `from` into head `slot` of `attention`: Q/K/V rows, the extra
// query/key columns both have (the rest of the child's stay 0), W_O columns and the biases of
// shared offsets.
void CopyHead(const Checkpoint& parent, const ParentHead& from, SparseSelfAttentionImpl& attention,
              int slot) {
  const int layer = from.layer;
  const int64_t d = attention.d_head(), heads = attention.num_heads();
  const torch::Tensor qkv_weight = parent.Tensor(AttentionName(layer, "qkv.weight"));
  const torch::Tensor qkv_bias = parent.Tensor(AttentionName(layer, "qkv.bias"));
  for (int64_t part = 0; part < 3; ++part) {
    const int64_t to = (part * heads + slot) * d, source = (part * from.heads + from.slot) * d;
    attention.qkv_weight().slice(0, to, to + d).copy_(qkv_weight.slice(0, source, source + d));
    attention.qkv_bias().slice(0, to, to + d).copy_(qkv_bias.slice(0, source, source + d));
  }
  if (attention.max_extra_key_width() > 0) {
    const int64_t child_extra = attention.max_extra_key_width();
    const torch::Tensor extra_weight = parent.Tensor(AttentionName(layer, "qk_extra.weight"));
    const torch::Tensor extra_bias = parent.Tensor(AttentionName(layer, "qk_extra.bias"));
    const int64_t parent_extra =
        extra_weight.defined() ? extra_weight.size(0) / (2 * from.heads) : 0;
    const int64_t shared = std::min(from.extra_width, attention.key_width(slot) - d);
    for (int64_t part = 0; part < 2; ++part) {
      const int64_t to = (part * heads + slot) * child_extra;
      attention.qk_extra_weight().slice(0, to, to + child_extra).zero_();
      attention.qk_extra_bias().slice(0, to, to + child_extra).zero_();
      // A parent saved without the columns its genome claims gives the head none: it grows
      // them afresh instead of reading past a tensor.
      if (shared <= 0 || parent_extra < shared) continue;
      const int64_t source = (part * from.heads + from.slot) * parent_extra;
      attention.qk_extra_weight()
          .slice(0, to, to + shared)
          .copy_(extra_weight.slice(0, source, source + shared));
      attention.qk_extra_bias()
          .slice(0, to, to + shared)
          .copy_(extra_bias.slice(0, source, source + shared));
    }
  }
  attention.output_weight()
      .slice(1, slot * d, (slot + 1) * d)
      .copy_(parent.Tensor(AttentionName(layer, "out.weight"))
                 .slice(1, from.slot * d, (from.slot + 1) * d));
  const torch::Tensor from_bias = parent.Tensor(AttentionName(layer, "offset_bias"));
  const std::vector<int32_t>& offsets = attention.offsets()[slot];
  const std::vector<int32_t>& from_offsets = *from.offsets;
  for (size_t j = 0; j < offsets.size(); ++j) {
    const auto found = std::find(from_offsets.begin(), from_offsets.end(), offsets[j]);
    attention.offset_bias()[slot][static_cast<int64_t>(j)].copy_(
        found == from_offsets.end()
            ? torch::zeros({}, from_bias.options())
            : from_bias[from.slot][static_cast<int64_t>(found - from_offsets.begin())]);
  }
}

bool IsHeadParameter(const std::string& name, int layers) {
  for (int layer = 0; layer < layers; ++layer) {
    for (const char* parameter : {"qkv.weight", "qkv.bias", "qk_extra.weight", "qk_extra.bias",
                                  "out.weight", "offset_bias", "gate"}) {
      if (name == AttentionName(layer, parameter)) return true;
    }
  }
  return false;
}

}  // namespace

std::string Sha256Hex(const std::string& bytes) {
  return Hex(RawSha256(bytes.data(), bytes.size()));
}

absl::StatusOr<std::string> Sha256HexOfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  Sha256 sha;
  std::string buffer(1 << 20, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    sha.Update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path, " to the end"));
  return Hex(sha.Digest());
}

std::string SerializeCheckpoint(SparseTransformer& model, const headevo::v1::ModelSpec& spec,
                                const headevo::v1::Genome& genome, torch::optim::AdamW* optimizer,
                                const TrainingProgress& progress) {
  headevo::v1::CheckpointHeader header;
  header.set_format_version(kFormatVersion);
  *header.mutable_model() = spec;
  *header.mutable_genome() = genome;
  header.set_trained_steps(static_cast<int32_t>(progress.trained_steps));
  header.set_trained_tokens(progress.trained_tokens);
  header.set_data_stream_state(progress.data_stream_state);
  std::string data;
  for (const auto& parameter : model->named_parameters()) {
    AppendTensor("model/" + parameter.key(), parameter.value(), &header, &data);
  }
  if (optimizer != nullptr) {
    header.set_has_optimizer(true);
    const std::vector<torch::Tensor> trainable = model->TrainableParameters();
    const auto& state = optimizer->state();
    // AdamW creates the state of every parameter with a gradient on its first step.
    const bool stepped = !trainable.empty() && state.count(StateKey(trainable[0])) > 0;
    for (size_t i = 0; stepped && i < trainable.size(); ++i) {
      const auto found = state.find(StateKey(trainable[i]));
      TORCH_CHECK(found != state.end(), "AdamW has no state for trainable parameter ", i);
      const auto& adamw = static_cast<const torch::optim::AdamWParamState&>(*found->second);
      header.add_optimizer_steps(adamw.step());
      AppendTensor(absl::StrCat("adamw/", i, "/exp_avg"), adamw.exp_avg(), &header, &data);
      AppendTensor(absl::StrCat("adamw/", i, "/exp_avg_sq"), adamw.exp_avg_sq(), &header, &data);
    }
  }
  const std::string header_bytes = header.SerializeAsString();
  const uint64_t header_size = header_bytes.size();
  std::string file(kMagic, sizeof(kMagic));
  for (int byte = 0; byte < 8; ++byte) file += static_cast<char>((header_size >> (8 * byte)) & 255);
  file += header_bytes;
  file += data;
  file += RawSha256(file.data(), file.size());
  return file;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  // A full disk may be freed, so it is ResourceExhausted (not a permanent failure).
  const auto failure = [&path](int reason) {
    if (reason == ENOSPC || reason == EDQUOT) {
      return absl::ResourceExhaustedError(absl::StrCat("disk full writing ", path, " (",
                                                       std::strerror(reason),
                                                       "): free space on its filesystem"));
    }
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(reason)));
  };
  const std::string temporary = absl::StrCat(path, ".tmp.", ::getpid());
  FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) return failure(errno);
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size() &&
                       std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
  const int saved_errno = errno;
  std::fclose(file);
  std::error_code error;
  if (written) fs::rename(temporary, path, error);
  if (!written || error) {
    const int reason = written ? error.value() : saved_errno;
    fs::remove(temporary, error);
    return failure(reason);
  }
  return absl::OkStatus();
}

absl::StatusOr<Checkpoint> Checkpoint::Load(const std::string& path,
                                            const std::string& expected_sha256) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return absl::NotFoundError(absl::StrCat("checkpoint ", path, " does not exist"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  const std::string bytes = contents.str();
  if (!expected_sha256.empty()) {
    const std::string actual = Sha256Hex(bytes);
    if (actual != expected_sha256) {
      return Damaged(path, absl::StrCat("its bytes hash to ", actual, ", not ", expected_sha256));
    }
  }
  return Parse(bytes, path);
}

absl::StatusOr<Checkpoint> Checkpoint::Parse(const std::string& bytes, const std::string& name) {
  const size_t prefix = sizeof(kMagic) + 8;
  if (bytes.size() < prefix + kDigestBytes ||
      bytes.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0) {
    return Damaged(name, absl::StrCat("it does not start with the checkpoint signature (",
                                      bytes.size(), " bytes)"));
  }
  const size_t body = bytes.size() - kDigestBytes;
  if (RawSha256(bytes.data(), body) != bytes.substr(body)) {
    return Damaged(name,
                   "its contents do not match the SHA-256 stored at its end (truncated or "
                   "changed after it was written)");
  }
  uint64_t header_size = 0;
  for (int byte = 0; byte < 8; ++byte) {
    header_size |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[sizeof(kMagic) + byte]))
                   << (8 * byte);
  }
  headevo::v1::CheckpointHeader header;
  if (header_size > body - prefix ||
      !header.ParseFromArray(bytes.data() + prefix, static_cast<int>(header_size))) {
    return Damaged(name, "its header does not parse");
  }
  if (header.format_version() != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint ", name, " has format version ", header.format_version(),
                     "; this build reads version ", kFormatVersion));
  }
  const size_t data_start = prefix + header_size, data_size = body - data_start;
  Checkpoint checkpoint;
  checkpoint.name_ = name;
  checkpoint.spec_ = header.model();
  checkpoint.genome_ = header.genome();
  checkpoint.has_optimizer_ = header.has_optimizer();
  checkpoint.optimizer_steps_.assign(header.optimizer_steps().begin(),
                                     header.optimizer_steps().end());
  checkpoint.progress_ = {header.trained_steps(), header.trained_tokens(),
                          header.data_stream_state()};
  for (const headevo::v1::CheckpointTensor& entry : header.tensors()) {
    const bool is_double = entry.dtype() == "float64";
    if (!is_double && entry.dtype() != "float32") {
      return Damaged(name, absl::StrCat("tensor ", entry.name(), " has dtype ", entry.dtype()));
    }
    // The header is outside data: a shape LibTorch refuses (negative, or too large to
    // allocate) is damage to report, not an exception to let out of this boundary.
    torch::Tensor tensor;
    try {
      tensor = torch::empty(std::vector<int64_t>(entry.shape().begin(), entry.shape().end()),
                            is_double ? torch::kDouble : torch::kFloat);
    } catch (const std::exception& e) {
      return Damaged(
          name, absl::StrCat("tensor ", entry.name(), " has a shape LibTorch refuses: ", e.what()));
    }
    if (entry.offset() > data_size || entry.size_bytes() > data_size - entry.offset() ||
        entry.size_bytes() != tensor.nbytes()) {
      return Damaged(name, absl::StrCat("tensor ", entry.name(), " lies outside the data"));
    }
    std::memcpy(tensor.data_ptr(), bytes.data() + data_start + entry.offset(), entry.size_bytes());
    checkpoint.tensors_[entry.name()] = std::move(tensor);
  }
  return checkpoint;
}

torch::Tensor Checkpoint::Tensor(const std::string& name) const {
  const auto found = tensors_.find("model/" + name);
  return found == tensors_.end() ? torch::Tensor() : found->second;
}

absl::Status Checkpoint::Restore(SparseTransformer& model, torch::optim::AdamW* optimizer) const {
  const auto parameters = model->named_parameters();
  const size_t saved_parameters =
      tensors_.size() - 2 * optimizer_steps_.size();  // the rest are AdamW moments
  if (parameters.size() != saved_parameters) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint ", name_, " holds ", saved_parameters, " parameters, the model ",
                     parameters.size(), ": it was built from another model or genome"));
  }
  for (const auto& parameter : parameters) {
    const torch::Tensor saved = Tensor(parameter.key());
    if (!saved.defined() || saved.sizes() != parameter.value().sizes()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "checkpoint ", name_, " does not fit the model: parameter ", parameter.key(),
          saved.defined() ? absl::StrCat(" is ", c10::str(saved.sizes()), " there and ",
                                         c10::str(parameter.value().sizes()), " here")
                          : " is missing"));
    }
  }
  const std::vector<torch::Tensor> trainable = model->TrainableParameters();
  if (optimizer != nullptr) {
    if (!has_optimizer_) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint ", name_, " holds no optimiser state to resume from"));
    }
    if (!optimizer_steps_.empty() && optimizer_steps_.size() != trainable.size()) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint ", name_, " holds optimiser state for ", optimizer_steps_.size(),
                       " parameters, the model trains ", trainable.size()));
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& parameter : parameters) parameter.value().copy_(Tensor(parameter.key()));
  if (optimizer == nullptr) return absl::OkStatus();
  optimizer->state().clear();
  for (size_t i = 0; i < optimizer_steps_.size(); ++i) {
    auto state = std::make_unique<torch::optim::AdamWParamState>();
    state->step(optimizer_steps_[i]);
    const auto moment = [&](const char* which) {
      return tensors_.at(absl::StrCat("adamw/", i, "/", which)).to(trainable[i].device());
    };
    state->exp_avg(moment("exp_avg"));
    state->exp_avg_sq(moment("exp_avg_sq"));
    optimizer->state()[StateKey(trainable[i])] = std::move(state);
  }
  return absl::OkStatus();
}

void RandomHeadInitializer::InitializeHead(SparseSelfAttentionImpl& attention, int slot,
                                           const headevo::v1::Head& head, uint64_t seed) {
  torch::Generator generator =
      at::detail::createCPUGenerator(search::DeriveSeed(seed, static_cast<uint64_t>(head.id())));
  const int64_t d = attention.d_head(), heads = attention.num_heads();
  const int64_t d_model = attention.qkv_weight().size(1);
  const auto uniform = [&](torch::Tensor target, int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    target.copy_(torch::empty(target.sizes(), torch::kFloat).uniform_(-bound, bound, generator));
  };
  for (int64_t part = 0; part < 3; ++part) {
    const int64_t row = (part * heads + slot) * d;
    uniform(attention.qkv_weight().slice(0, row, row + d), d_model);
    uniform(attention.qkv_bias().slice(0, row, row + d), d_model);
  }
  uniform(attention.output_weight().slice(1, slot * d, (slot + 1) * d), heads * d);
  attention.offset_bias()[slot].zero_();
  // Drawn last, so a head without extra columns gets the weights it got before growth existed.
  if (const int64_t e = attention.max_extra_key_width(); e > 0) {
    const int64_t own = attention.key_width(slot) - d;
    for (int64_t part = 0; part < 2; ++part) {
      const int64_t row = (part * heads + slot) * e;
      attention.qk_extra_weight().slice(0, row, row + e).zero_();
      attention.qk_extra_bias().slice(0, row, row + e).zero_();
      if (own == 0) continue;
      uniform(attention.qk_extra_weight().slice(0, row, row + own), d_model);
      uniform(attention.qk_extra_bias().slice(0, row, row + own), d_model);
    }
  }
}

absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> RandomHeadInitializer::Initialize(
    SparseTransformer& model, const std::vector<NewHeadSlot>& heads) const {
  torch::NoGradGuard no_grad;
  for (const NewHeadSlot& h : heads) {
    InitializeHead(*model->attention(h.layer), h.slot, h.head, seed_);
  }
  return std::vector<headevo::v1::HeadGrowth>{};
}

absl::StatusOr<InheritanceReport> InheritWeights(const Checkpoint& parent,
                                                 const headevo::v1::ModelSpec& child_spec,
                                                 const headevo::v1::Genome& child_genome,
                                                 const GenomeLayout& child_layout,
                                                 SparseTransformer& child,
                                                 const NewHeadInitializer& initializer) {
  if (absl::Status s = CheckCompatible(parent.model_spec(), child_spec); !s.ok()) return s;
  const GenomeLayout parent_layout = MakeGenomeLayout(parent.genome(), parent.model_spec());
  std::map<int64_t, int> parent_index;  // head id -> genome index
  for (int i = 0; i < parent.genome().heads_size(); ++i) {
    parent_index[parent.genome().heads(i).id()] = i;
  }
  // The parent's head `id` when it sits in `layer`.
  const auto parent_head = [&](int64_t id, int layer) -> std::optional<ParentHead> {
    const auto found = parent_index.find(id);
    if (id == 0 || found == parent_index.end() || parent_layout.layer_of[found->second] != layer) {
      return std::nullopt;
    }
    const int from_slot = parent_layout.slot_of[found->second];
    return ParentHead{layer, from_slot, static_cast<int64_t>(parent_layout.offsets[layer].size()),
                      parent_layout.extra_key_width[layer][from_slot],
                      &parent_layout.offsets[layer][from_slot]};
  };
  torch::NoGradGuard no_grad;
  for (const auto& parameter : child->named_parameters()) {
    if (IsHeadParameter(parameter.key(), child->num_layers())) continue;
    const torch::Tensor saved = parent.Tensor(parameter.key());
    if (!saved.defined() || saved.sizes() != parameter.value().sizes()) {
      return absl::FailedPreconditionError(
          absl::StrCat("parent checkpoint does not fit the child: parameter ", parameter.key(),
                       saved.defined() ? " has another shape" : " is missing"));
    }
    parameter.value().copy_(saved);
  }
  InheritanceReport report;
  std::vector<NewHeadSlot> new_heads;
  for (int i = 0; i < child_genome.heads_size(); ++i) {
    const headevo::v1::Head& head = child_genome.heads(i);
    const int layer = child_layout.layer_of[i], slot = child_layout.slot_of[i];
    SparseSelfAttentionImpl& attention = *child->attention(layer);
    if (const std::optional<ParentHead> same = parent_head(head.id(), layer)) {
      CopyHead(parent, *same, attention, slot);
      ++report.inherited_heads;
      continue;
    }
    const std::optional<ParentHead> source = head.origin() == headevo::v1::HEAD_ORIGIN_GROWN
                                                 ? parent_head(head.source_head_id(), layer)
                                                 : std::nullopt;
    if (source && source->extra_width < head.extra_key_width()) {
      CopyHead(parent, *source, attention, slot);
      report.grown.push_back({layer, slot, head, attention.d_head() + source->extra_width});
    } else {
      new_heads.push_back({layer, slot, head});
    }
  }
  report.new_heads = static_cast<int>(new_heads.size());
  absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> growth =
      initializer.Initialize(child, new_heads);
  if (!growth.ok()) return growth.status();
  report.growth = *std::move(growth);
  return report;
}

}  // namespace headevo::worker
