// AdamW (decoupled weight decay) and global-norm gradient clipping, over flat parameter lists.
//   w, g, m, v: one buffer per parameter, same sizes.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor.h"

namespace troupe::cpu {

struct AdamWConfig {
  float lr = 1e-6f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.01f;
};

// √(Σ g²) over every gradient.
double global_grad_norm(const std::vector<Tensor*>& grads);

// Scales every gradient by max_norm / norm when norm > max_norm; returns norm (before clipping).
double clip_grad_norm(const std::vector<Tensor*>& grads, double max_norm);

// One step (step counts from 1, for bias correction):
//   m ← β1 m + (1−β1) g,  v ← β2 v + (1−β2) g²,  w ← w − lr·(wd·w + m̂ / (√v̂ + eps)).
void adamw_step(const std::vector<Tensor*>& w, const std::vector<Tensor*>& g, std::vector<Tensor>& m, std::vector<Tensor>& v,
                int64_t step, const AdamWConfig& c);

}  // namespace troupe::cpu
