#include "cpu/embedding.h"

#include <cstring>

namespace troupe::cpu {

void embedding_forward(const std::vector<int32_t>& ids, const Tensor& table, Tensor& x) {
  const int64_t vocab = table.dim(0), d = table.dim(1), n = ids.size();
  ensure_shape(x, {n, d});
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw ShapeError("token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
    std::memcpy(x.ptr() + i * d, table.ptr() + int64_t(ids[i]) * d, d * sizeof(float));
  }
}

void embedding_backward(const std::vector<int32_t>& ids, const Tensor& dx, Tensor& dtable) {
  const int64_t d = dtable.dim(1), n = ids.size();
  expect_shape(dx, {n, d}, "embedding output gradient");
  for (int64_t i = 0; i < n; i++) {
    float* row = dtable.ptr() + int64_t(ids[i]) * d;
    const float* g = dx.ptr() + i * d;
    for (int64_t j = 0; j < d; j++) row[j] += g[j];
  }
}

}  // namespace troupe::cpu
