#include "cpu/attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace troupe::cpu {

void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v, float* o, float* probs) {
  const int64_t group = s.hq / s.hkv, past = s.tk - s.tq;
  const int64_t ldq = s.hq * s.hd, ldk = s.hkv * s.hd;
  const float scale = 1.0f / std::sqrt(float(s.hd));
  for (int64_t h = 0; h < s.hq; h++) {
    const int64_t g = h / group;
    float* p = probs + h * s.tq * s.tk;
    // S[tq, tk] = scale · Q_h · K_gᵀ
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.tq, s.tk, s.hd, scale, q + h * s.hd, ldq, k + g * s.hd, ldk, 0.0f, p, s.tk);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < s.tq; i++) {
      float* row = p + i * s.tk;
      const int64_t seen = past + i + 1;  // keys 0 … past + i
      float mx = row[0];
      for (int64_t j = 1; j < seen; j++) mx = std::max(mx, row[j]);
      double sum = 0;
      for (int64_t j = 0; j < seen; j++) sum += (row[j] = std::exp(row[j] - mx));
      const float inv = float(1.0 / sum);
      for (int64_t j = 0; j < seen; j++) row[j] *= inv;
      std::fill(row + seen, row + s.tk, 0.0f);
    }
    // O_h[tq, hd] = P · V_g
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.tq, s.hd, s.tk, 1.0f, p, s.tk, v + g * s.hd, ldk, 0.0f, o + h * s.hd, ldq);
  }
}

// Per head, with P the saved softmax:  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP)),
// dQ = scale·dS·K,  dK += scale·dSᵀ·Q,  dV += Pᵀ·dO.
void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* probs,
                        const float* dout, float* dq, float* dk, float* dv) {
  const int64_t group = s.hq / s.hkv;
  const int64_t ldq = s.hq * s.hd, ldk = s.hkv * s.hd;
  const float scale = 1.0f / std::sqrt(float(s.hd));
  std::memset(dk, 0, sizeof(float) * s.tk * ldk);
  std::memset(dv, 0, sizeof(float) * s.tk * ldk);
  std::vector<float> ds(s.tq * s.tk);
  for (int64_t h = 0; h < s.hq; h++) {
    const int64_t g = h / group;
    const float* p = probs + h * s.tq * s.tk;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.tq, s.tk, s.hd, 1.0f, dout + h * s.hd, ldq, v + g * s.hd, ldk, 0.0f, ds.data(), s.tk);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < s.tq; i++) {
      const float* pi = p + i * s.tk;
      float* di = ds.data() + i * s.tk;
      double dot = 0;
      for (int64_t j = 0; j < s.tk; j++) dot += double(pi[j]) * di[j];
      for (int64_t j = 0; j < s.tk; j++) di[j] = pi[j] * (di[j] - float(dot));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.tq, s.hd, s.tk, scale, ds.data(), s.tk, k + g * s.hd, ldk, 0.0f, dq + h * s.hd, ldq);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.tk, s.hd, s.tq, scale, ds.data(), s.tk, q + h * s.hd, ldq, 1.0f, dk + g * s.hd, ldk);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.tk, s.hd, s.tq, 1.0f, p, s.tk, dout + h * s.hd, ldq, 1.0f, dv + g * s.hd, ldk);
  }
}

}  // namespace troupe::cpu
