// The one tensor type of the CPU backend: contiguous row-major fp32 with a shape. Views are
// plain pointers plus sizes in the kernels; this only owns memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace troupe {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> s, float fill = 0.0f) : shape(std::move(s)), data(count(shape), fill) {}

  static size_t count(const std::vector<int64_t>& s) {
    return std::accumulate(s.begin(), s.end(), size_t{1}, [](size_t a, int64_t b) { return a * static_cast<size_t>(b); });
  }
  size_t size() const { return data.size(); }
  size_t size_of_shape() const { return count(shape); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
};

// Shape mismatches are programming or request errors: they become error replies, never crashes.
struct ShapeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Gives an output buffer this shape, reusing its memory when the element count already fits
// (contents are then stale: kernels overwrite their outputs). Activations and gradients are
// reused step after step this way instead of being allocated, zeroed and faulted in again.
inline void ensure_shape(Tensor& t, std::vector<int64_t> s) {
  if (Tensor::count(s) != t.data.size()) t.data.assign(Tensor::count(s), 0.0f);
  t.shape = std::move(s);
}

inline void expect_shape(const Tensor& t, const std::vector<int64_t>& s, const char* what) {
  if (t.shape != s) {
    std::string got, want;
    for (auto d : t.shape) got += std::to_string(d) + ",";
    for (auto d : s) want += std::to_string(d) + ",";
    throw ShapeError(std::string(what) + ": shape [" + got + "] where [" + want + "] was expected");
  }
}

}  // namespace troupe
