#include "worker/resume.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>
#include <exception>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"

namespace headevo::worker {
namespace {

constexpr std::string_view kTag = kDataStreamTag;
constexpr size_t kMaxDifferenceChars = 300;

// Empty when `saved` and `requested` are equal, else the first differences, shortened.
std::string Differences(const google::protobuf::Message& saved,
                        const google::protobuf::Message& requested) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(saved, requested)) return "";
  if (report.size() > kMaxDifferenceChars) report = report.substr(0, kMaxDifferenceChars) + "...";
  return report;
}

}  // namespace

std::string EncodeDataStream(const torch::Generator& generator) {
  const torch::Tensor state = generator.get_state().contiguous();
  std::string encoded(kTag);
  encoded.append(static_cast<const char*>(state.data_ptr()), state.nbytes());
  return encoded;
}

absl::Status RestoreDataStream(const std::string& encoded, const std::string& checkpoint_name,
                               torch::Generator* generator) {
  const size_t expected = at::detail::createCPUGenerator().get_state().nbytes();
  if (encoded.compare(0, kTag.size(), kTag) != 0 || encoded.size() != kTag.size() + expected) {
    return absl::DataLossError(absl::StrCat("checkpoint ", checkpoint_name,
                                            ": its data-stream state (", encoded.size(),
                                            " bytes) is not this worker's \"", kDataStreamTag,
                                            "\" generator state of ", expected, " bytes"));
  }
  torch::Tensor state = torch::empty({static_cast<int64_t>(expected)}, torch::kUInt8);
  std::memcpy(state.data_ptr(), encoded.data() + kTag.size(), expected);
  try {
    generator->set_state(state);
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint ", checkpoint_name, ": LibTorch refuses its data-stream state: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status CheckResumable(const Checkpoint& checkpoint,
                            const headevo::v1::EvaluationRequest& request) {
  const std::string& name = checkpoint.name();
  if (std::string diff = Differences(checkpoint.model_spec(), request.training().model());
      !diff.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("resume checkpoint ", name,
                     " was trained with another model spec than the request's: ", diff));
  }
  if (std::string diff = Differences(checkpoint.genome(), request.genome()); !diff.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "resume checkpoint ", name, " holds another genome than the request's: ", diff));
  }
  if (!checkpoint.has_optimizer_state()) {
    return absl::FailedPreconditionError(
        absl::StrCat("resume checkpoint ", name,
                     " holds no optimiser state: training cannot continue exactly from it"));
  }
  const TrainingProgress& progress = checkpoint.progress();
  if (progress.trained_steps <= 0 || progress.data_stream_state.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "resume checkpoint ", name,
        " records no training step or data-stream position (written by a worker that could "
        "not continue runs): train the candidate from the start instead"));
  }
  if (progress.trained_steps >= request.training().steps()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "nothing to train: checkpoint at step ", progress.trained_steps, ", job stops at ",
        request.training().steps(), " (resume checkpoint ", name, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainingProgress> ResumeTraining(const Checkpoint& checkpoint,
                                                const headevo::v1::EvaluationRequest& request,
                                                SparseTransformer& model,
                                                torch::optim::AdamW& optimizer,
                                                torch::Generator* data) {
  if (absl::Status s = CheckResumable(checkpoint, request); !s.ok()) return s;
  if (absl::Status s = checkpoint.Restore(model, &optimizer); !s.ok()) return s;
  const TrainingProgress& progress = checkpoint.progress();
  if (absl::Status s = RestoreDataStream(progress.data_stream_state, checkpoint.name(), data);
      !s.ok()) {
    return s;
  }
  return progress;
}

}  // namespace headevo::worker
