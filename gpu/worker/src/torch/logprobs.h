// Token log-probs through the output projection, in chunks of rows:
//   lp[i] = log softmax(h[i] · Wᵀ)[targets[i]]   (0 where targets[i] < 0)
// Only `chunk` rows of [tokens × vocabulary] logits exist at any time, in forward and in
// backward (which recomputes them): for a 32K-token trajectory over Qwen3's 151,936-token
// vocabulary the whole logits would be about 10 GB in bf16, 20 GB in fp32.
#pragma once
#include <ATen/ATen.h>

namespace troupe::torchb {

// h [n, hidden] and W [vocab, hidden] in the compute dtype, targets [n] int64; returns lp [n]
// fp32, differentiable with respect to h and W. Logits are taken to fp32 before the softmax.
at::Tensor token_logprobs(const at::Tensor& h, const at::Tensor& w, const at::Tensor& targets, int64_t chunk);

}  // namespace troupe::torchb
