#include "cpu/loss.h"

#include <algorithm>
#include <cmath>

namespace troupe::cpu {

// log Σ exp(row), stable.
static double log_sum_exp(const float* row, int64_t v) {
  float mx = row[0];
  for (int64_t j = 1; j < v; j++) mx = std::max(mx, row[j]);
  double s = 0;
  for (int64_t j = 0; j < v; j++) s += std::exp(double(row[j]) - mx);
  return mx + std::log(s);
}

void token_logprobs(const Tensor& logits, const std::vector<int32_t>& targets, std::vector<float>& lp) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  if (static_cast<int64_t>(targets.size()) != n) throw ShapeError("token_logprobs: one target per logits row expected");
  lp.assign(n, 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    if (targets[i] < 0) continue;
    const float* row = logits.ptr() + i * v;
    lp[i] = float(double(row[targets[i]]) - log_sum_exp(row, v));
  }
}

LossTerms policy_gradient_loss(const std::vector<float>& lp, const std::vector<float>& old_lp, const std::vector<float>& adv,
                               const std::vector<float>& weight, float eps_low, float eps_high, std::vector<float>& dlp) {
  const size_t n = lp.size();
  if (old_lp.size() != n || adv.size() != n || weight.size() != n) throw ShapeError("policy loss: lp, old_lp, adv and weight differ in length");
  dlp.assign(n, 0.0f);
  LossTerms t;
  for (size_t i = 0; i < n; i++) {
    if (weight[i] == 0.0f) continue;
    const double r = std::exp(double(lp[i]) - old_lp[i]), a = adv[i];
    const double rc = std::min(std::max(r, 1.0 - eps_low), 1.0 + eps_high);
    const double unclipped = r * a, clipped = rc * a;
    t.tokens++;
    t.loss += weight[i] * -std::min(unclipped, clipped);
    // The min picks the clipped term only when it is strictly smaller: then r is outside the
    // range on the side that would push further, and the token gives no gradient.
    if (clipped < unclipped) t.clipped++;
    else dlp[i] = float(-weight[i] * a * r);  // d(−r·A)/dlp = −A·r
  }
  return t;
}

LossTerms cross_entropy_loss(const std::vector<float>& lp, const std::vector<float>& weight, std::vector<float>& dlp) {
  const size_t n = lp.size();
  if (weight.size() != n) throw ShapeError("cross-entropy loss: lp and weight differ in length");
  dlp.assign(n, 0.0f);
  LossTerms t;
  for (size_t i = 0; i < n; i++) {
    if (weight[i] == 0.0f) continue;
    t.tokens++;
    t.loss += -double(weight[i]) * lp[i];
    dlp[i] = -weight[i];
  }
  return t;
}

void token_logprobs_backward(Tensor& logits, const std::vector<int32_t>& targets, const std::vector<float>& dlp) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float* row = logits.ptr() + i * v;
    if (targets[i] < 0 || dlp[i] == 0.0f) {
      std::fill(row, row + v, 0.0f);
      continue;
    }
    const double lse = log_sum_exp(row, v);
    for (int64_t j = 0; j < v; j++) row[j] = float(-dlp[i] * std::exp(double(row[j]) - lse));
    row[targets[i]] += dlp[i];
  }
}

}  // namespace troupe::cpu
