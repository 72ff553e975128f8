#include "cpu/attention.h"

#include "cpu/gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace troupe::cpu {

// Queries go in blocks of 64 rows; a block only multiplies against the keys its last row can
// see, so the causal upper triangle is (mostly) never computed: about half the work of the
// full square at training lengths. Heads (forward) or key/value groups (backward) run in
// parallel; the BLAS calls inside are then single-threaded (OpenBLAS's OpenMP build does so
// inside a parallel region), which beats many small multi-threaded calls.
static constexpr int64_t BLOCK = 64;

void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v, float* o, float* probs) {
  const int64_t group = s.hq / s.hkv, past = s.tk - s.tq;
  const int64_t ldq = s.hq * s.hd, ldk = s.hkv * s.hd;
  const float scale = 1.0f / std::sqrt(float(s.hd));
#pragma omp parallel for schedule(dynamic)
  for (int64_t h = 0; h < s.hq; h++) {
    const int64_t g = h / group;
    float* p = probs + h * s.tq * s.tk;
    for (int64_t i0 = 0; i0 < s.tq; i0 += BLOCK) {
      const int64_t rows = std::min(BLOCK, s.tq - i0), kend = past + i0 + rows;
      float* pb = p + i0 * s.tk;
      // S[rows, kend] = scale · Q_h[i0:] · K_g[:kend]ᵀ
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, kend, s.hd, scale, q + i0 * ldq + h * s.hd, ldq, k + g * s.hd, ldk, 0.0f, pb, s.tk);
      for (int64_t r = 0; r < rows; r++) {
        float* row = pb + r * s.tk;
        const int64_t seen = past + i0 + r + 1;  // keys 0 … past + i
        float mx = row[0];
        for (int64_t j = 1; j < seen; j++) mx = std::max(mx, row[j]);
        float sum = 0;
        for (int64_t j = 0; j < seen; j++) sum += (row[j] = std::exp(row[j] - mx));
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < seen; j++) row[j] *= inv;
        std::fill(row + seen, row + s.tk, 0.0f);
      }
      // O_h[i0:, hd] = P[rows, kend] · V_g[:kend]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, s.hd, kend, 1.0f, pb, s.tk, v + g * s.hd, ldk, 0.0f, o + i0 * ldq + h * s.hd, ldq);
    }
  }
}

// Per head, with P the saved softmax:  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP)),
// dQ = scale·dS·K,  dK += scale·dSᵀ·Q,  dV += Pᵀ·dO. The heads of one group add into the same
// dK and dV, so the parallel loop runs over groups.
void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* probs,
                        const float* dout, float* dq, float* dk, float* dv) {
  const int64_t group = s.hq / s.hkv, past = s.tk - s.tq;
  const int64_t ldq = s.hq * s.hd, ldk = s.hkv * s.hd;
  const float scale = 1.0f / std::sqrt(float(s.hd));
#pragma omp parallel for schedule(dynamic)
  for (int64_t g = 0; g < s.hkv; g++) {
    for (int64_t j = 0; j < s.tk; j++) {
      std::memset(dk + j * ldk + g * s.hd, 0, sizeof(float) * s.hd);
      std::memset(dv + j * ldk + g * s.hd, 0, sizeof(float) * s.hd);
    }
    std::vector<float> ds(BLOCK * s.tk);
    for (int64_t h = g * group; h < (g + 1) * group; h++) {
      const float* p = probs + h * s.tq * s.tk;
      for (int64_t i0 = 0; i0 < s.tq; i0 += BLOCK) {
        const int64_t rows = std::min(BLOCK, s.tq - i0), kend = past + i0 + rows;
        const float* pb = p + i0 * s.tk;
        const float* dob = dout + i0 * ldq + h * s.hd;
        const float* qb = q + i0 * ldq + h * s.hd;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, kend, s.hd, 1.0f, dob, ldq, v + g * s.hd, ldk, 0.0f, ds.data(), kend);
        for (int64_t r = 0; r < rows; r++) {
          const float* pr = pb + r * s.tk;
          float* dr = ds.data() + r * kend;
          float dot = 0;
          for (int64_t j = 0; j < kend; j++) dot += pr[j] * dr[j];
          for (int64_t j = 0; j < kend; j++) dr[j] = pr[j] * (dr[j] - dot);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, s.hd, kend, scale, ds.data(), kend, k + g * s.hd, ldk, 0.0f, dq + i0 * ldq + h * s.hd, ldq);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kend, s.hd, rows, scale, ds.data(), kend, qb, ldq, 1.0f, dk + g * s.hd, ldk);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kend, s.hd, rows, 1.0f, pb, s.tk, dob, ldq, 1.0f, dv + g * s.hd, ldk);
      }
    }
  }
}

}  // namespace troupe::cpu
