#include "torch/model.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/version.h>

#include <cmath>
#include <cstring>

#include "model/qwen3.h"

namespace troupe::torchb {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Activation checkpointing of one layer: the forward keeps only the layer's input; backward
// runs the layer again with autograd on and back-propagates through it. The layer's weights
// are leaves outside this function, so the inner backward accumulates their gradients
// directly (as PyTorch's reentrant checkpoint does). The hooks bracket both runs, so a
// sharded unit is whole only while it computes.
struct CheckpointedLayer : torch::autograd::Function<CheckpointedLayer> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const Model::Run* run) {
    ctx->save_for_backward({x});
    ctx->saved_data["run"] = int64_t(reinterpret_cast<intptr_t>(run));
    if (run->hooks) run->hooks->before(run->unit, false);
    at::Tensor y = run->fn(x);
    if (run->hooks) run->hooks->after(run->unit, false);
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto* run = reinterpret_cast<const Model::Run*>(intptr_t(ctx->saved_data["run"].toInt()));
    at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    if (run->hooks) run->hooks->before(run->unit, true);
    at::Tensor y;
    {
      at::AutoGradMode on(true);
      y = run->fn(x);
    }
    torch::autograd::backward({y}, {grad[0]});
    if (run->hooks) run->hooks->after(run->unit, true);
    return {x.grad(), at::Tensor()};
  }
};

int64_t unit_of(const std::string& name) {
  static const std::string prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0) return 0;
  return 1 + std::stoll(name.substr(prefix.size()));
}

namespace {

at::Tensor rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const at::Tensor a = x.narrow(-1, 0, half), b = x.narrow(-1, half, half);
  const at::Tensor c = cos.unsqueeze(1).to(x.scalar_type()), s = sin.unsqueeze(1).to(x.scalar_type());
  return at::cat({a * c - b * s, b * c + a * s}, -1);
}

}  // namespace

at::Tensor to_device(const Tensor& t, at::Device device) {
  return at::from_blob(const_cast<float*>(t.ptr()), t.shape, at::kFloat).to(device, /*non_blocking=*/false, /*copy=*/true);
}

void to_host(const at::Tensor& src, Tensor& dst) {
  if (dst.data.size() != size_t(src.numel())) dst.data.assign(src.numel(), 0.0f);
  dst.shape = src.sizes().vec();
  at::from_blob(dst.ptr(), src.sizes(), at::kFloat).copy_(src.detach());
}

Model::Model(ModelConfig cfg, at::Device device, at::ScalarType dtype, bool checkpoint)
    : cfg_(std::move(cfg)), device_(device), dtype_(dtype), checkpoint_(checkpoint) {}

at::Tensor Model::rmsnorm(const at::Tensor& x, const std::string& weight) {
  // As Hugging Face's Qwen3RMSNorm: normalize in fp32, back to the compute dtype, then scale.
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor r = at::rsqrt(xf.pow(2).mean(-1, true) + cfg_.rms_norm_eps);
  return w(weight) * (xf * r).to(x.scalar_type());
}

std::pair<at::Tensor, at::Tensor> Model::rotary(const at::Tensor& positions) {
  const int64_t half = cfg_.head_dim / 2;
  std::vector<double> inv(half);
  for (int64_t j = 0; j < half; j++) inv[j] = std::pow(cfg_.rope_theta, -2.0f * j / cfg_.head_dim);  // fp32, as the reference
  const at::Tensor f = at::from_blob(inv.data(), {half}, at::kDouble).to(device_);
  const at::Tensor angles = positions.to(at::kDouble).unsqueeze(1) * f.unsqueeze(0);
  return {angles.cos().to(at::kFloat), angles.sin().to(at::kFloat)};
}

at::Tensor Model::head_weight() { return w(cfg_.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight"); }

at::Tensor Model::layer(int64_t l, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const Attend& attend) {
  const int64_t n = x.size(0), hq = cfg_.num_attention_heads, hkv = cfg_.num_key_value_heads, hd = cfg_.head_dim;
  auto name = [&](const char* rest) { return layer_name(l, rest); };
  const at::Tensor h = rmsnorm(x, name("input_layernorm.weight"));
  at::Tensor q = at::linear(h, w(name("self_attn.q_proj.weight"))).view({n, hq, hd});
  at::Tensor k = at::linear(h, w(name("self_attn.k_proj.weight"))).view({n, hkv, hd});
  const at::Tensor v = at::linear(h, w(name("self_attn.v_proj.weight"))).view({n, hkv, hd});
  q = rope(rmsnorm(q, name("self_attn.q_norm.weight")), cos, sin);
  k = rope(rmsnorm(k, name("self_attn.k_norm.weight")), cos, sin);
  const at::Tensor mid = x + at::linear(attend(l, q, k, v), w(name("self_attn.o_proj.weight")));
  const at::Tensor h2 = rmsnorm(mid, name("post_attention_layernorm.weight"));
  const at::Tensor act = at::silu(at::linear(h2, w(name("mlp.gate_proj.weight")))) * at::linear(h2, w(name("mlp.up_proj.weight")));
  return mid + at::linear(act, w(name("mlp.down_proj.weight")));
}

at::Tensor Model::hidden(const at::Tensor& tokens, const std::vector<int64_t>& lengths, const KVSink& sink) {
  std::vector<int64_t> pos;
  pos.reserve(tokens.numel());
  for (int64_t len : lengths)
    for (int64_t i = 0; i < len; i++) pos.push_back(i);
  const at::Tensor positions = at::from_blob(pos.data(), {int64_t(pos.size())}, at::kLong).to(device_);
  const Attend attend = [&](int64_t l, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    if (sink) sink(l, k, v);
    return packed_causal_attention(q, k, v, lengths);
  };
  auto [cos, sin] = rotary(positions);
  at::Tensor x = at::embedding(w("model.embed_tokens.weight"), tokens);
  const bool recompute = checkpoint_ && at::GradMode::is_enabled() && !sink;
  if (recompute) runs_.clear();  // the previous graph has had its backward
  for (int64_t l = 0; l < cfg_.num_hidden_layers; l++) {
    if (!recompute) {
      if (hooks_) hooks_->before(1 + l, false);
      x = layer(l, x, cos, sin, attend);
      if (hooks_) hooks_->after(1 + l, false);
      continue;
    }
    // Runs again in backward, after this function has returned: it owns what it uses, and the
    // model keeps it until the next forward (the graph holds only a pointer).
    runs_.push_back(std::make_unique<Run>(Run{[this, l, cos = cos, sin = sin, lengths](const at::Tensor& in) {
      return layer(l, in, cos, sin, [&lengths](int64_t, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
        return packed_causal_attention(q, k, v, lengths);
      });
    }, hooks_, 1 + l}));
    x = CheckpointedLayer::apply(x, runs_.back().get());
  }
  return rmsnorm(x, "model.norm.weight");
}

at::Tensor Model::hidden_with(const at::Tensor& tokens, const at::Tensor& positions, const Attend& attend) {
  auto [cos, sin] = rotary(positions);
  at::Tensor x = at::embedding(w("model.embed_tokens.weight"), tokens);
  for (int64_t l = 0; l < cfg_.num_hidden_layers; l++) x = layer(l, x, cos, sin, attend);
  return rmsnorm(x, "model.norm.weight");
}

at::Tensor packed_causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::vector<int64_t>& lengths) {
  const int64_t n = q.size(0), hq = q.size(1), hkv = k.size(1), hd = q.size(2), group = hq / hkv;
  std::vector<at::Tensor> outs;
  int64_t at_ = 0;
  for (int64_t len : lengths) {
    // [heads, len, hd]; each key/value head serves `group` consecutive query heads.
    const at::Tensor qs = q.narrow(0, at_, len).transpose(0, 1);
    const at::Tensor ks = k.narrow(0, at_, len).repeat_interleave(group, 1).transpose(0, 1);
    const at::Tensor vs = v.narrow(0, at_, len).repeat_interleave(group, 1).transpose(0, 1);
#if TORCH_VERSION_MAJOR >= 2
    // PyTorch's fused kernels (flash or memory-efficient attention on CUDA).
    const at::Tensor o = at::scaled_dot_product_attention(qs.unsqueeze(0), ks.unsqueeze(0), vs.unsqueeze(0), {}, 0.0, true).squeeze(0);
#else
    // The plain form: softmax in fp32 over the causal scores.
    const at::Tensor scores = at::matmul(qs, ks.transpose(1, 2)).to(at::kFloat) * (1.0 / std::sqrt(double(hd)));
    const at::Tensor future = at::ones({len, len}, q.options().dtype(at::kBool)).triu(1);
    const at::Tensor o = at::matmul(scores.masked_fill(future, -INFINITY).softmax(-1).to(q.scalar_type()), vs);
#endif
    outs.push_back(o.transpose(0, 1).reshape({len, hq * hd}));
    at_ += len;
  }
  return outs.size() == 1 ? outs[0] : at::cat(outs, 0).view({n, hq * hd});
}

}  // namespace troupe::torchb
