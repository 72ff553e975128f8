// Checks every CPU kernel's backward against central finite differences of its forward.
// For an op y = f(inputs), the scalar L = Σ y ⊙ R (R random) has dL/dy = R, so backward(R)
// must match (L(x + h) − L(x − h)) / 2h for every input element.
// Prints one line per gradient (`PASS|FAIL op/grad max_err=…`) and exits 1 on any failure.
// `--corrupt` adds an error to one analytic gradient: the check must then fail (the mocha test
// runs both ways, so a checker that passes everything is caught).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "cpu/linear.h"
#include "cpu/rmsnorm.h"
#include "cpu/swiglu.h"

using troupe::Tensor;
namespace cpu = troupe::cpu;

static std::mt19937 rng(1234);
static bool corrupt = false;
static int failures = 0;

static Tensor randn(std::vector<int64_t> shape, float scale = 1.0f) {
  Tensor t(std::move(shape));
  std::normal_distribution<float> d(0.0f, scale);
  for (auto& v : t.data) v = d(rng);
  return t;
}

static double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += double(a.data[i]) * b.data[i];
  return s;
}

// Compares `analytic` with the numeric gradient of `loss` with respect to `x`.
static void check(const char* name, Tensor& x, const Tensor& analytic, const std::function<double()>& loss) {
  const float h = 1e-2f;
  double max_err = 0;
  for (size_t i = 0; i < x.size(); i++) {
    const float keep = x.data[i];
    x.data[i] = keep + h;
    const double up = loss();
    x.data[i] = keep - h;
    const double down = loss();
    x.data[i] = keep;
    const double numeric = (up - down) / (2.0 * h);
    double a = analytic.data[i];
    if (corrupt && i == 0) a += 0.5;
    const double err = std::fabs(a - numeric) / std::max(1.0, std::fabs(numeric));
    max_err = std::max(max_err, err);
  }
  const bool ok = max_err < 1e-2;
  if (!ok) failures++;
  std::printf("%s %s max_err=%.2e\n", ok ? "PASS" : "FAIL", name, max_err);
}

static void linear() {
  Tensor x = randn({5, 7}), w = randn({4, 7}, 0.5f), r = randn({5, 4});
  Tensor y, dx, dw({4, 7});
  auto loss = [&] { cpu::linear_forward(x, w, y); return dot(y, r); };
  loss();
  cpu::linear_backward(x, w, r, dx, dw);
  check("linear/dx", x, dx, loss);
  check("linear/dw", w, dw, loss);
}

static void rmsnorm() {
  Tensor x = randn({3, 8}), w = randn({8}, 0.5f), r = randn({3, 8});
  for (auto& v : w.data) v += 1.0f;
  Tensor y, inv, dx, dw({8});
  auto loss = [&] { cpu::rmsnorm_forward(x, w, 1e-6f, y, inv); return dot(y, r); };
  loss();
  cpu::rmsnorm_backward(x, w, inv, r, dx, dw);
  check("rmsnorm/dx", x, dx, loss);
  check("rmsnorm/dw", w, dw, loss);
}

static void swiglu() {
  Tensor g = randn({4, 6}, 2.0f), u = randn({4, 6}), r = randn({4, 6});
  Tensor h, dg, du;
  auto loss = [&] { cpu::swiglu_forward(g, u, h); return dot(h, r); };
  loss();
  cpu::swiglu_backward(g, u, r, dg, du);
  check("swiglu/dg", g, dg, loss);
  check("swiglu/du", u, du, loss);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) corrupt = corrupt || std::strcmp(argv[i], "--corrupt") == 0;
  linear();
  rmsnorm();
  swiglu();
  return failures ? 1 : 0;
}
