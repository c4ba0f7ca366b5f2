// Long contexts: the search's default model (search::DefaultTrainingSpec: d_model 32, 2 layers
// of 4 heads, d_head 8, batch 32) trained for a few steps through TorchEvaluator at
// seq_len 512, 1024 and 2048 on the planted-offset task (offsets up to -(seq_len - 1)) and the
// byte-level text task, with sparse heads (8 offsets each, the farthest at -(seq_len - 1)) and
// with dense attention. Prints the time per training step and the peak resident memory of
// each configuration (VmHWM, reset before each through /proc/self/clear_refs; Linux only).
// *s/step is the whole job (data, training, one validation batch) over its steps.
//
//   build/bench/bench_long_context [--batch 32] [--steps 3] [--max-seq-len 2048]
//
// The text is the Brown corpus when the cache holds it, else a generated text of 1 MB.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "headevo/v1/worker_service.pb.h"
#include "search/search_options.h"
#include "worker/brown_corpus.h"
#include "worker/torch_evaluator.h"

namespace {

namespace v1 = headevo::v1;

// Peak resident memory since the last reset, in MiB; -1 where /proc does not say.
double PeakMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1;
}

void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

std::string TextDirectory() {
  const std::string brown = headevo::worker::DefaultBrownCorpusDir();
  if (headevo::worker::ReadBrownCorpus(brown).ok()) return "";
  const std::string dir = "/tmp/headevo_long_context_text";
  std::system(("mkdir -p " + dir).c_str());
  for (int d = 0; d < 10; ++d) {
    std::ofstream out(dir + "/doc" + std::to_string(d) + ".txt");
    for (int i = 0; i < 2000; ++i) out << "document " << d << " line " << i << ": sparse heads.\n";
  }
  return dir;
}

v1::EvaluationRequest Request(int seq_len, bool text, bool dense, int batch, int steps,
                              const std::string& text_dir) {
  v1::EvaluationRequest request;
  request.set_candidate_id(1);
  v1::TrainingSpec& t = *request.mutable_training();
  t = headevo::search::DefaultTrainingSpec();
  t.set_steps(steps);
  t.set_warmup_steps(1);
  t.set_batch_size(batch);
  t.set_eval_batches(1);
  t.mutable_model()->set_seq_len(seq_len);
  if (dense) t.mutable_model()->set_attention(v1::ATTENTION_KIND_DENSE);
  if (text) {
    t.mutable_model()->set_vocab_size(256);
    t.mutable_task()->Clear();
    t.mutable_task()->set_kind(text_dir.empty() ? v1::TASK_KIND_BROWN_CORPUS
                                                : v1::TASK_KIND_TEXT_FILES);
    t.mutable_task()->set_text_path(text_dir);
  } else {
    t.mutable_task()->clear_planted_offsets();
    for (int offset : {-1, -(seq_len / 2), -(seq_len - 1)}) {
      t.mutable_task()->add_planted_offsets(offset);
    }
  }
  request.mutable_genome()->set_num_layers(2);
  for (int layer = 0; layer < 2; ++layer) {
    for (int h = 0; h < 4; ++h) {
      v1::Head* head = request.mutable_genome()->add_heads();
      head->set_layer(layer);
      head->set_id(layer * 4 + h + 1);
      // 8 offsets: the farthest, -(seq_len - 1), then -32, -16, ..., -1 and 0.
      head->mutable_offsets()->add_offsets(-(seq_len - 1));
      for (int distance = 32; distance >= 1; distance /= 2) {
        head->mutable_offsets()->add_offsets(-distance);
      }
      head->mutable_offsets()->add_offsets(0);
    }
  }
  return request;
}

}  // namespace

int main(int argc, char** argv) {
  int batch = 32, steps = 3, max_seq_len = 2048;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch")) batch = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-seq-len")) max_seq_len = std::atoi(argv[i + 1]);
  }
  const std::string text_dir = TextDirectory();
  auto evaluator = headevo::worker::TorchEvaluator::Create({});
  if (!evaluator.ok()) return 1;
  std::printf("%-8s %-7s %-7s %10s %12s %s\n", "task", "heads", "seq_len", "s/step*", "peak MiB",
              "val_loss");
  for (int seq_len = 512; seq_len <= max_seq_len; seq_len *= 2) {
    for (bool text : {false, true}) {
      for (bool dense : {false, true}) {
        const v1::EvaluationRequest request =
            Request(seq_len, text, dense, batch, steps, text_dir);
        ResetPeak();
        const auto start = std::chrono::steady_clock::now();
        auto result = (*evaluator)->Evaluate(request);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!result.ok()) {
          std::printf("%-8s %-7s %-7d failed: %s\n", text ? "text" : "planted",
                      dense ? "dense" : "sparse", seq_len, result.status().ToString().c_str());
          continue;
        }
        std::printf("%-8s %-7s %-7d %10.3f %12.0f %.4f\n", text ? "text" : "planted",
                    dense ? "dense" : "sparse8", seq_len, seconds / steps, PeakMiB(),
                    result->metrics().val_loss());
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
