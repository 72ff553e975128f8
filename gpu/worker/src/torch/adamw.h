// Global-norm gradient clipping and AdamW on device tensors: the formulas of cpu/adamw.h
// (the reference), in fp32 whatever the compute dtype.
#pragma once
#include <ATen/ATen.h>

#include <vector>

#include "cpu/adamw.h"

namespace troupe::torchb {

// Σ g² over every gradient, accumulated in double (one device sync).
double squared_norm(const std::vector<at::Tensor>& grads);
// Scales the gradients by max_norm / norm when norm > max_norm (max_norm ≤ 0: never): `norm`
// is the whole gradient's, which a sharded rank does not hold alone.
void clip_to(const std::vector<at::Tensor>& grads, double norm, double max_norm);

// One step, step counted from 1: m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g²,
// w ← w − lr·(wd·w + m̂ / (√v̂ + eps)). m and v are created (zeros) when empty.
void adamw_step(const std::vector<at::Tensor>& w, const std::vector<at::Tensor>& g, std::vector<at::Tensor>& m, std::vector<at::Tensor>& v,
                int64_t step, const cpu::AdamWConfig& c);

}  // namespace troupe::torchb
