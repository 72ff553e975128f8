#include "cpu/rmsnorm.h"

#include <cmath>

namespace troupe::cpu {

void rmsnorm_forward(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms) {
  const int64_t d = x.dim(-1), n = x.size() / d;
  expect_shape(w, {d}, "rmsnorm weight");
  ensure_shape(y, x.shape);
  ensure_shape(inv_rms, {n});
  for (int64_t i = 0; i < n; i++) {
    const float* xi = x.ptr() + i * d;
    float* yi = y.ptr() + i * d;
    double ss = 0;
    for (int64_t j = 0; j < d; j++) ss += double(xi[j]) * xi[j];
    const float r = 1.0f / std::sqrt(float(ss / d) + eps);
    inv_rms.data[i] = r;
    for (int64_t j = 0; j < d; j++) yi[j] = xi[j] * r * w.data[j];
  }
}

// With x̂ = x·r (r = inv_rms) and g = dy·w:  dx = r · (g − x̂ · mean(g·x̂)),  dw += Σ_rows dy·x̂.
void rmsnorm_backward(const Tensor& x, const Tensor& w, const Tensor& inv_rms, const Tensor& dy, Tensor& dx, Tensor& dw) {
  const int64_t d = x.dim(-1), n = x.size() / d;
  expect_shape(dy, x.shape, "rmsnorm output gradient");
  expect_shape(dw, {d}, "rmsnorm weight gradient");
  ensure_shape(dx, x.shape);
  for (int64_t i = 0; i < n; i++) {
    const float* xi = x.ptr() + i * d;
    const float* gi = dy.ptr() + i * d;
    float* dxi = dx.ptr() + i * d;
    const float r = inv_rms.data[i];
    double dot = 0;
    for (int64_t j = 0; j < d; j++) dot += double(gi[j]) * w.data[j] * xi[j] * r;
    const float m = float(dot / d);
    for (int64_t j = 0; j < d; j++) {
      const float xh = xi[j] * r;
      dxi[j] = r * (gi[j] * w.data[j] - xh * m);
      dw.data[j] += gi[j] * xh;
    }
  }
}

}  // namespace troupe::cpu
