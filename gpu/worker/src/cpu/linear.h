// Linear layer without bias, as in every Qwen3 projection: y = x · Wᵀ.
//   x [n, in]   W [out, in] (Hugging Face layout)   y [n, out]
#pragma once
#include "tensor.h"

namespace troupe::cpu {

// y = x · Wᵀ
void linear_forward(const Tensor& x, const Tensor& w, Tensor& y);

// Given dy [n, out]: dx = dy · W (overwritten), dW += dyᵀ · x (accumulated: gradient
// accumulation over micro-batches and tied weights add up into one buffer).
void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor& dx, Tensor& dw);

}  // namespace troupe::cpu
