// Training on one worker: accumulate the loss gradient of micro-batches, then one optimizer
// step (all-reduce across workers, global-norm clip, AdamW, zero the gradients).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cpu/adamw.h"
#include "cpu/loss.h"
#include "model/qwen3.h"
#include "worker/collective.h"

namespace troupe::worker {

struct MicroBatch {
  Batch batch;
  std::vector<float> mask;        // [n] 1 where the token counts (the model generated it)
  std::vector<float> old_logprobs;  // [n] policy gradient only
  std::vector<float> advantages;    // [sequences] policy gradient only
};

struct LossOptions {
  std::string mode = "pg";  // "pg" (DEEPSWE policy gradient) or "ce" (supervised warm-up)
  float eps_low = 0.2f, eps_high = 0.28f;
  // pg: weight = mask / (loss_scale · batch_sequences): token sum over C, mean over sequences.
  double loss_scale = 32768, batch_sequences = 1;
  // ce: weight = mask / batch_tokens: the mean over every counted token of the batch.
  double batch_tokens = 0;
};

struct StepOptions {
  cpu::AdamWConfig adam;
  double max_grad_norm = 1.0;  // ≤ 0: no clipping
};

// The token each logits row predicts: row r of a sequence predicts its token r + 1; its last
// row predicts nothing (−1).
std::vector<int32_t> next_targets(const Batch& b);

// Per logits row r, which predicts token r + 1 of its sequence: the target (−1: none), the loss
// weight (mask / denominator, see LossOptions), and for the policy gradient the old log-prob
// and the sequence's advantage. Every backend's loss starts from these.
struct LossInputs {
  bool pg = true;
  std::vector<int32_t> targets;
  std::vector<float> weight, old, adv;
};
LossInputs loss_inputs(const MicroBatch& mb, const LossOptions& o);

class Trainer {
 public:
  explicit Trainer(Qwen3& m) : model_(m) {}
  // Forward + backward of one micro-batch; gradients add up until step().
  cpu::LossTerms accumulate(const MicroBatch& mb, const LossOptions& o);
  // Returns the global gradient norm before clipping.
  double step(const StepOptions& o, Collective* coll);
  int64_t steps() const { return step_; }
  std::vector<Tensor>& m() { return m_; }
  std::vector<Tensor>& v() { return v_; }
  const std::vector<Tensor>& m() const { return m_; }
  const std::vector<Tensor>& v() const { return v_; }
  void restore(int64_t step) { step_ = step; }
  void reset() {
    m_.clear();
    v_.clear();
    step_ = 0;
  }

 private:
  Qwen3& model_;
  std::vector<Tensor> m_, v_;
  int64_t step_ = 0;
};

// Log-prob of every token given the ones before it in its sequence (0 at each first token).
std::vector<float> sequence_logprobs(Qwen3& model, const Batch& b);

}  // namespace troupe::worker
