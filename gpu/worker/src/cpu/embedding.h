// Token embedding: row lookup.
//   ids [n] (int32)   E [vocab, d]   x [n, d]
#pragma once
#include <cstdint>
#include <vector>

#include "tensor.h"

namespace troupe::cpu {

// Throws ShapeError for an id outside [0, vocab): a bad request, not a crash.
void embedding_forward(const std::vector<int32_t>& ids, const Tensor& table, Tensor& x);

// dE[ids[i]] += dx[i] (accumulated: repeated ids and a tied LM head add up).
void embedding_backward(const std::vector<int32_t>& ids, const Tensor& dx, Tensor& dtable);

}  // namespace troupe::cpu
