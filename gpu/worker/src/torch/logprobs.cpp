#include "torch/logprobs.h"

#include <torch/csrc/autograd/custom_function.h>

namespace troupe::torchb {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

// Rows [at, at + rows) of the logits, in fp32.
at::Tensor logits_of(const at::Tensor& h, const at::Tensor& w, int64_t at_, int64_t rows) {
  return at::matmul(h.narrow(0, at_, rows), w.t()).to(at::kFloat);
}

struct ChunkedLogprobs : torch::autograd::Function<ChunkedLogprobs> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& h, const at::Tensor& w, const at::Tensor& targets, int64_t chunk) {
    ctx->save_for_backward({h, w, targets});
    ctx->saved_data["chunk"] = chunk;
    const int64_t n = h.size(0);
    at::Tensor lp = at::zeros({n}, h.options().dtype(at::kFloat));
    for (int64_t at_ = 0; at_ < n; at_ += chunk) {
      const int64_t rows = std::min(chunk, n - at_);
      const at::Tensor logits = logits_of(h, w, at_, rows);
      const at::Tensor t = targets.narrow(0, at_, rows);
      const at::Tensor picked = logits.gather(1, t.clamp_min(0).unsqueeze(1)).squeeze(1) - logits.logsumexp(1);
      lp.narrow(0, at_, rows).copy_(picked.masked_fill(t < 0, 0.0));
    }
    return lp;
  }

  // dL/dlogits[i] = dlp[i] · (onehot(target[i]) − softmax(logits[i])); then dh = dlogits · W
  // and dW = dlogitsᵀ · h, chunk by chunk, dW summed in fp32.
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &h = saved[0], &w = saved[1], &targets = saved[2];
    const int64_t chunk = ctx->saved_data["chunk"].toInt(), n = h.size(0);
    const at::Tensor dlp = grad[0].masked_fill(targets < 0, 0.0);
    at::Tensor dh = at::empty_like(h);
    at::Tensor dw = at::zeros(w.sizes(), w.options().dtype(at::kFloat));
    for (int64_t at_ = 0; at_ < n; at_ += chunk) {
      const int64_t rows = std::min(chunk, n - at_);
      const at::Tensor g = dlp.narrow(0, at_, rows).unsqueeze(1);
      at::Tensor d = logits_of(h, w, at_, rows).softmax(1).mul_(g).neg_();
      d.scatter_add_(1, targets.narrow(0, at_, rows).clamp_min(0).unsqueeze(1), g);
      const at::Tensor dc = d.to(h.scalar_type());
      dh.narrow(0, at_, rows).copy_(at::matmul(dc, w));
      dw.add_(at::matmul(dc.t(), h.narrow(0, at_, rows)).to(at::kFloat));
    }
    return {dh, dw.to(w.scalar_type()), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor token_logprobs(const at::Tensor& h, const at::Tensor& w, const at::Tensor& targets, int64_t chunk) {
  return ChunkedLogprobs::apply(h, w, targets, std::max<int64_t>(1, chunk));
}

}  // namespace troupe::torchb
