// Rotary position embedding as Hugging Face applies it to Qwen3 (the "rotate half" form):
// channel j pairs with j + hd/2, both turned by angle pos · θ^(−2j/hd).
//   x [n, heads, hd]   pos [n] (int32, position of each row within its sequence)
#pragma once
#include <cstdint>
#include <vector>

#include "tensor.h"

namespace troupe::cpu {

// In place: x ← R(pos) x.
void rope_forward(Tensor& x, const std::vector<int32_t>& pos, float theta);

// In place on the gradient: dx ← R(pos)ᵀ dy (the inverse rotation).
void rope_backward(Tensor& dy, const std::vector<int32_t>& pos, float theta);

}  // namespace troupe::cpu
