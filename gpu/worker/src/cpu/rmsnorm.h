// RMSNorm over the last dimension: y = x / sqrt(mean(x²) + eps) · w.
//   x [n, d]   w [d]   y [n, d]   inv_rms [n] (saved for backward)
// Qwen3 uses it before attention and MLP, at the end, and per head on q and k (d = head_dim).
#pragma once
#include "tensor.h"

namespace troupe::cpu {

void rmsnorm_forward(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms);

// dx overwritten, dw accumulated.
void rmsnorm_backward(const Tensor& x, const Tensor& w, const Tensor& inv_rms, const Tensor& dy, Tensor& dx, Tensor& dw);

}  // namespace troupe::cpu
