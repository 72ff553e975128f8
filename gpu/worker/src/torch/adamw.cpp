#include "torch/adamw.h"

#include <cmath>

namespace troupe::torchb {

double squared_norm(const std::vector<at::Tensor>& grads) {
  if (grads.empty()) return 0.0;
  std::vector<at::Tensor> squares;
  for (const auto& g : grads) squares.push_back(g.to(at::kDouble).pow(2).sum());
  return at::stack(squares).sum().item<double>();
}

void clip_to(const std::vector<at::Tensor>& grads, double norm, double max_norm) {
  if (max_norm <= 0 || norm <= max_norm) return;
  const double k = max_norm / (norm + 1e-6);
  for (const auto& g : grads) g.mul_(k);
}

void adamw_step(const std::vector<at::Tensor>& w, const std::vector<at::Tensor>& g, std::vector<at::Tensor>& m, std::vector<at::Tensor>& v,
                int64_t step, const cpu::AdamWConfig& c) {
  at::NoGradGuard no_grad;
  if (m.size() != w.size()) {
    m.clear();
    v.clear();
    for (const auto& t : w) {
      m.push_back(at::zeros_like(t, t.options().dtype(at::kFloat)));
      v.push_back(at::zeros_like(t, t.options().dtype(at::kFloat)));
    }
  }
  const double bc1 = 1.0 - std::pow(double(c.beta1), double(step)), bc2 = 1.0 - std::pow(double(c.beta2), double(step));
  for (size_t k = 0; k < w.size(); k++) {
    m[k].mul_(c.beta1).add_(g[k], 1.0 - c.beta1);
    v[k].mul_(c.beta2).addcmul_(g[k], g[k], 1.0 - c.beta2);
    const at::Tensor update = (m[k] / bc1).div_((v[k] / bc2).sqrt_().add_(c.eps));
    w[k].sub_(update.add_(w[k], c.weight_decay).mul_(c.lr));
  }
}

}  // namespace troupe::torchb
