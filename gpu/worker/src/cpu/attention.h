// Causal grouped-query attention (the softmax core; projections, q/k norms and rope are done
// by the caller). Query head h reads key/value head h / (Hq / Hkv).
//   q [tq, Hq, hd]   k, v [tk, Hkv, hd]   o [tq, Hq, hd]   probs [Hq, tq, tk]
// tq ≤ tk: the queries are the last tq positions, so query i sees keys 0 … tk − tq + i. That
// one rule covers training (tq = tk) and decoding against a KV cache (tq new tokens).
#pragma once
#include <cstdint>

namespace troupe::cpu {

struct AttentionShape {
  int64_t tq, tk, hq, hkv, hd;
};

// probs receives the softmax weights (kept for backward); the masked ones are 0.
void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v, float* o, float* probs);

// dq, dk and dv overwritten (the heads of a group add into dk and dv).
void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* probs,
                        const float* dout, float* dq, float* dk, float* dv);

}  // namespace troupe::cpu
