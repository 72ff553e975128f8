#include "cpu/swiglu.h"

#include <cmath>

namespace troupe::cpu {

static inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

void swiglu_forward(const Tensor& g, const Tensor& u, Tensor& h) {
  expect_shape(u, g.shape, "swiglu up");
  ensure_shape(h, g.shape);
  for (size_t i = 0; i < g.size(); i++) h.data[i] = g.data[i] * sigmoid(g.data[i]) * u.data[i];
}

void swiglu_backward(const Tensor& g, const Tensor& u, const Tensor& dh, Tensor& dg, Tensor& du) {
  expect_shape(u, g.shape, "swiglu up");
  expect_shape(dh, g.shape, "swiglu output gradient");
  ensure_shape(dg, g.shape);
  ensure_shape(du, g.shape);
  for (size_t i = 0; i < g.size(); i++) {
    const float s = sigmoid(g.data[i]);
    const float silu = g.data[i] * s;
    du.data[i] = dh.data[i] * silu;
    dg.data[i] = dh.data[i] * u.data[i] * s * (1.0f + g.data[i] * (1.0f - s));
  }
}

}  // namespace troupe::cpu
