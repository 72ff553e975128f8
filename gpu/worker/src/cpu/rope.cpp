#include "cpu/rope.h"

#include <cmath>

namespace troupe::cpu {

// sign = +1 rotates forward, −1 backward (Rᵀ = R(−angle)).
static void rotate(Tensor& x, const std::vector<int32_t>& pos, float theta, float sign) {
  const int64_t n = x.dim(0), heads = x.dim(1), hd = x.dim(2), half = hd / 2;
  if (static_cast<int64_t>(pos.size()) != n) throw ShapeError("rope: one position per row expected");
  std::vector<float> inv_freq(half);
  for (int64_t j = 0; j < half; j++) inv_freq[j] = std::pow(theta, -2.0f * j / hd);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    std::vector<float> c(half), s(half);
    for (int64_t j = 0; j < half; j++) {
      // Angles in double: positions reach 10⁵ and fp32 phase error would grow with them.
      const double a = double(pos[i]) * inv_freq[j];
      c[j] = float(std::cos(a));
      s[j] = sign * float(std::sin(a));
    }
    for (int64_t h = 0; h < heads; h++) {
      float* v = x.ptr() + (i * heads + h) * hd;
      for (int64_t j = 0; j < half; j++) {
        const float a = v[j], b = v[j + half];
        v[j] = a * c[j] - b * s[j];
        v[j + half] = b * c[j] + a * s[j];
      }
    }
  }
}

void rope_forward(Tensor& x, const std::vector<int32_t>& pos, float theta) { rotate(x, pos, theta, 1.0f); }
void rope_backward(Tensor& dy, const std::vector<int32_t>& pos, float theta) { rotate(dy, pos, theta, -1.0f); }

}  // namespace troupe::cpu
