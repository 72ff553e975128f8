// Token log-probabilities and the two training losses of the learner (DEEPSWE.md):
//   policy gradient: per token r = exp(lp − old_lp),
//                    loss_t = −min(r·A, clip(r, 1 − ε_low, 1 + ε_high)·A)
//   cross-entropy:   loss_t = −lp   (supervised warm-up)
// and loss = Σ_t weight_t · loss_t. The caller folds the loss mask, the length constant and the
// mean over sequences into weight_t = mask_t / (C · B), so one token sum gives the DEEPSWE
// aggregation (sum over a trajectory's tokens / C, mean over the B trajectories of the batch).
//   logits [n, V]   targets [n] (−1: no target, lp = 0)   lp, old_lp, adv, weight, dlp [n]
#pragma once
#include <cstdint>
#include <vector>

#include "tensor.h"

namespace troupe::cpu {

struct LossTerms {
  double loss = 0;     // Σ weight·loss_t
  double tokens = 0;   // tokens with weight ≠ 0
  double clipped = 0;  // of those, tokens whose gradient the clip removed
};

// lp[i] = log softmax(logits[i])[targets[i]].
void token_logprobs(const Tensor& logits, const std::vector<int32_t>& targets, std::vector<float>& lp);

LossTerms policy_gradient_loss(const std::vector<float>& lp, const std::vector<float>& old_lp, const std::vector<float>& adv,
                               const std::vector<float>& weight, float eps_low, float eps_high, std::vector<float>& dlp);

LossTerms cross_entropy_loss(const std::vector<float>& lp, const std::vector<float>& weight, std::vector<float>& dlp);

// In place: logits ← dL/dlogits = dlp · (onehot(target) − softmax(logits)), row by row.
void token_logprobs_backward(Tensor& logits, const std::vector<int32_t>& targets, const std::vector<float>& dlp);

}  // namespace troupe::cpu
