#include "cpu/linear.h"

#include "cpu/gemm.h"

namespace troupe::cpu {

void linear_forward(const Tensor& x, const Tensor& w, Tensor& y) {
  const int n = x.dim(0), in = x.dim(1), out = w.dim(0);
  expect_shape(w, {out, in}, "linear weight");
  ensure_shape(y, {n, out});
  // y[n,out] = x[n,in] · W[out,in]ᵀ
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x.ptr(), in, w.ptr(), in, 0.0f, y.ptr(), out);
}

void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor& dx, Tensor& dw) {
  const int n = x.dim(0), in = x.dim(1), out = w.dim(0);
  expect_shape(dy, {n, out}, "linear output gradient");
  expect_shape(dw, {out, in}, "linear weight gradient");
  ensure_shape(dx, x.shape);
  // dx[n,in] = dy[n,out] · W[out,in]
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy.ptr(), out, w.ptr(), in, 0.0f, dx.ptr(), in);
  // dW[out,in] += dy[n,out]ᵀ · x[n,in]
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy.ptr(), out, x.ptr(), in, 1.0f, dw.ptr(), in);
}

}  // namespace troupe::cpu
