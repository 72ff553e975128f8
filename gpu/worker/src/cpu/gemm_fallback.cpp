// C = α·op(A)·op(B) + β·C for row-major matrices, where no BLAS library is installed (gemm.h).
#include "cpu/gemm.h"

#ifndef TROUPE_HAVE_CBLAS
#include <cstdint>

void cblas_sgemm(CBLAS_ORDER, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < m; i++) {
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++) {
        const float x = ta == CblasNoTrans ? a[int64_t(i) * lda + p] : a[int64_t(p) * lda + i];
        const float y = tb == CblasNoTrans ? b[int64_t(p) * ldb + j] : b[int64_t(j) * ldb + p];
        s += double(x) * y;
      }
      float& out = c[int64_t(i) * ldc + j];
      out = float(alpha * s + (beta == 0.0f ? 0.0 : double(beta) * out));
    }
  }
}
#endif
