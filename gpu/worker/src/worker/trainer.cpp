#include "worker/trainer.h"

#include <stdexcept>

namespace troupe::worker {

// Row r of the logits predicts token r + 1 of the same sequence; a sequence's last row
// predicts nothing. Token-aligned arrays are therefore read at r + 1.
std::vector<int32_t> next_targets(const Batch& b) {
  std::vector<int32_t> t(b.tokens.size(), -1);
  size_t at = 0;
  for (int64_t len : b.lengths) {
    for (int64_t i = 0; i + 1 < len; i++) t[at + i] = b.tokens[at + i + 1];
    at += len;
  }
  return t;
}

LossInputs loss_inputs(const MicroBatch& mb, const LossOptions& o) {
  const Batch& b = mb.batch;
  const size_t n = b.tokens.size();
  if (mb.mask.size() != n) throw std::invalid_argument("mask has " + std::to_string(mb.mask.size()) + " values for " + std::to_string(n) + " tokens");
  const bool pg = o.mode == "pg";
  if (!pg && o.mode != "ce") throw std::invalid_argument("loss mode '" + o.mode + "': pg or ce expected");
  if (pg && (mb.old_logprobs.size() != n || mb.advantages.size() != b.lengths.size())) {
    throw std::invalid_argument("policy gradient needs old_logprobs per token and advantages per sequence");
  }
  double denom = pg ? o.loss_scale * o.batch_sequences : o.batch_tokens;
  if (!pg && denom <= 0)
    for (size_t i = 1; i < n; i++) denom += mb.mask[i];
  if (denom <= 0) throw std::invalid_argument("the loss denominator is 0 (no counted tokens, or loss_scale/batch_sequences ≤ 0)");
  LossInputs in;
  in.pg = pg;
  in.targets = next_targets(b);
  in.weight.assign(n, 0.0f);
  in.old.assign(n, 0.0f);
  in.adv.assign(n, 0.0f);
  size_t at = 0;
  for (size_t s = 0; s < b.lengths.size(); s++) {
    for (int64_t i = 0; i + 1 < b.lengths[s]; i++) {
      const size_t r = at + i;
      in.weight[r] = float(mb.mask[r + 1] / denom);
      if (pg) {
        in.old[r] = mb.old_logprobs[r + 1];
        in.adv[r] = mb.advantages[s];
      }
    }
    at += b.lengths[s];
  }
  return in;
}

cpu::LossTerms Trainer::accumulate(const MicroBatch& mb, const LossOptions& o) {
  const Batch& b = mb.batch;
  const LossInputs in = loss_inputs(mb, o);
  Tensor logits = model_.forward_train(b);
  std::vector<float> lp, dlp;
  cpu::token_logprobs(logits, in.targets, lp);
  const cpu::LossTerms t = in.pg ? cpu::policy_gradient_loss(lp, in.old, in.adv, in.weight, o.eps_low, o.eps_high, dlp) : cpu::cross_entropy_loss(lp, in.weight, dlp);
  cpu::token_logprobs_backward(logits, in.targets, dlp);
  model_.backward(b, logits);
  return t;
}

double Trainer::step(const StepOptions& o, Collective* coll) {
  std::vector<Tensor*> w, g;
  for (auto& [name, t] : model_.params()) {
    w.push_back(&t);
    g.push_back(&model_.grads().at(name));
  }
  if (coll && coll->world() > 1)
    for (Tensor* t : g) coll->all_reduce_sum(t->ptr(), t->size());
  const double norm = cpu::clip_grad_norm(g, o.max_grad_norm);
  cpu::adamw_step(w, g, m_, v_, ++step_, o.adam);
  model_.zero_grads();
  return norm;
}

std::vector<float> sequence_logprobs(Qwen3& model, const Batch& b) {
  std::vector<float> out(b.tokens.size(), 0.0f);
  size_t at = 0;
  for (int64_t len : b.lengths) {
    std::vector<int32_t> seq(b.tokens.begin() + at, b.tokens.begin() + at + len);
    KVCache cache = model.new_cache(len);
    Tensor logits = model.forward_cached(seq, cache, len);
    std::vector<int32_t> targets(len, -1);
    for (int64_t i = 0; i + 1 < len; i++) targets[i] = seq[i + 1];
    std::vector<float> lp;
    cpu::token_logprobs(logits, targets, lp);
    for (int64_t i = 0; i + 1 < len; i++) out[at + i + 1] = lp[i];
    at += len;
  }
  return out;
}

}  // namespace troupe::worker
