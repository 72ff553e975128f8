#include "cpu/adamw.h"

#include <cmath>

namespace troupe::cpu {

double global_grad_norm(const std::vector<Tensor*>& grads) {
  double s = 0;
  for (const Tensor* g : grads) {
    const float* p = g->ptr();
    const int64_t n = g->size();
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (int64_t i = 0; i < n; i++) s += double(p[i]) * p[i];
  }
  return std::sqrt(s);
}

double clip_grad_norm(const std::vector<Tensor*>& grads, double max_norm) {
  const double norm = global_grad_norm(grads);
  if (max_norm > 0 && norm > max_norm) {
    const float k = float(max_norm / (norm + 1e-6));
    for (Tensor* g : grads)
      for (auto& x : g->data) x *= k;
  }
  return norm;
}

void adamw_step(const std::vector<Tensor*>& w, const std::vector<Tensor*>& g, std::vector<Tensor>& m, std::vector<Tensor>& v,
                int64_t step, const AdamWConfig& c) {
  if (m.size() != w.size()) {
    m.clear();
    v.clear();
    for (const Tensor* t : w) {
      m.emplace_back(t->shape);
      v.emplace_back(t->shape);
    }
  }
  const double bc1 = 1.0 - std::pow(double(c.beta1), double(step)), bc2 = 1.0 - std::pow(double(c.beta2), double(step));
  for (size_t k = 0; k < w.size(); k++) {
    float *pw = w[k]->ptr(), *pm = m[k].ptr(), *pv = v[k].ptr();
    const float* pg = g[k]->ptr();
    const int64_t n = w[k]->size();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
      pm[i] = c.beta1 * pm[i] + (1 - c.beta1) * pg[i];
      pv[i] = c.beta2 * pv[i] + (1 - c.beta2) * pg[i] * pg[i];
      const double mh = pm[i] / bc1, vh = pv[i] / bc2;
      pw[i] = float(pw[i] - c.lr * (c.weight_decay * pw[i] + mh / (std::sqrt(vh) + c.eps)));
    }
  }
}

}  // namespace troupe::cpu
