// Single-precision matrix products, row-major, in the CBLAS interface. OpenBLAS provides them
// where it is installed (every CPU set-up of the project); a build without it (a GPU machine
// whose only math library is PyTorch's) gets the plain loops of gemm_fallback.cpp, slow but
// exact enough for the reference backend's role there: the oracle on small models.
#pragma once
#ifdef TROUPE_HAVE_CBLAS
#include <cblas.h>
#else
enum CBLAS_ORDER { CblasRowMajor = 101 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };
void cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
#endif
