// The SwiGLU gate of Qwen3's MLP: h = silu(g) ⊙ u, with silu(g) = g · σ(g).
//   g [n, f] (gate_proj output)   u [n, f] (up_proj output)   h [n, f] (down_proj input)
#pragma once
#include "tensor.h"

namespace troupe::cpu {

void swiglu_forward(const Tensor& g, const Tensor& u, Tensor& h);

// dg, du overwritten.  dh/dg = u · σ(g) · (1 + g · (1 − σ(g))),  dh/du = silu(g).
void swiglu_backward(const Tensor& g, const Tensor& u, const Tensor& dh, Tensor& dg, Tensor& du);

}  // namespace troupe::cpu
