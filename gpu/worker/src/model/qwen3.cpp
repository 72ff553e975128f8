#include "model/qwen3.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/attention.h"
#include "cpu/embedding.h"
#include "cpu/linear.h"
#include "cpu/rmsnorm.h"
#include "cpu/rope.h"
#include "cpu/swiglu.h"

namespace troupe {
namespace cpu_ = troupe::cpu;

std::string layer_name(int64_t i, const char* rest) { return "model.layers." + std::to_string(i) + "." + rest; }

std::vector<int32_t> Batch::positions() const {
  std::vector<int32_t> out;
  out.reserve(tokens.size());
  for (int64_t len : lengths)
    for (int64_t i = 0; i < len; i++) out.push_back(int32_t(i));
  return out;
}

std::vector<int64_t> Batch::starts() const {
  std::vector<int64_t> out;
  int64_t at = 0;
  for (int64_t len : lengths) {
    out.push_back(at);
    at += len;
  }
  return out;
}

// A view of the same data with another shape (sizes must agree).
static Tensor& reshaped(Tensor& t, std::vector<int64_t> shape) {
  if (Tensor::count(shape) != t.size()) throw ShapeError("internal reshape of mismatched size");
  t.shape = std::move(shape);
  return t;
}

static void add_into(Tensor& a, const Tensor& b) {
  float* pa = a.ptr();
  const float* pb = b.ptr();
  const int64_t n = a.size();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) pa[i] += pb[i];
}

Qwen3::Qwen3(ModelConfig cfg, bool allocate) : cfg_(std::move(cfg)) {
  const int64_t d = cfg_.hidden_size, f = cfg_.intermediate_size, hd = cfg_.head_dim;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    Tensor t;
    if (allocate) t = Tensor(shape);
    else t.shape = shape;
    params_.emplace(name, std::move(t));
  };
  add("model.embed_tokens.weight", {cfg_.vocab_size, d});
  for (int64_t i = 0; i < cfg_.num_hidden_layers; i++) {
    add(layer_name(i, "input_layernorm.weight"), {d});
    add(layer_name(i, "self_attn.q_proj.weight"), {cfg_.q_dim(), d});
    add(layer_name(i, "self_attn.k_proj.weight"), {cfg_.kv_dim(), d});
    add(layer_name(i, "self_attn.v_proj.weight"), {cfg_.kv_dim(), d});
    add(layer_name(i, "self_attn.o_proj.weight"), {d, cfg_.q_dim()});
    add(layer_name(i, "self_attn.q_norm.weight"), {hd});
    add(layer_name(i, "self_attn.k_norm.weight"), {hd});
    add(layer_name(i, "post_attention_layernorm.weight"), {d});
    add(layer_name(i, "mlp.gate_proj.weight"), {f, d});
    add(layer_name(i, "mlp.up_proj.weight"), {f, d});
    add(layer_name(i, "mlp.down_proj.weight"), {d, f});
  }
  add("model.norm.weight", {d});
  if (!cfg_.tie_word_embeddings) add("lm_head.weight", {cfg_.vocab_size, d});
}

// Blocks of 4096 values each draw from their own generator seeded by (seed, tensor, block), so
// the weights are the same whatever the thread count, and filling 0.6B of them is parallel.
void Qwen3::init_random(uint64_t seed, float std) {
  auto mix = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  uint64_t index = 0;
  for (auto& [name, t] : params_) {
    index++;
    if (t.data.size() != t.size_of_shape()) t = Tensor(t.shape);
    if (name.find("norm.weight") != std::string::npos) {
      std::fill(t.data.begin(), t.data.end(), 1.0f);
      continue;
    }
    const int64_t n = t.size(), blocks = (n + 4095) / 4096;
    float* p = t.ptr();
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
      uint64_t state = mix(seed ^ mix(index * 0x100000001b3ull ^ uint64_t(blk)));
      auto uniform = [&] {  // (0, 1]
        state = mix(state);
        return (double((state >> 11) + 1)) * (1.0 / 9007199254740992.0);
      };
      const int64_t end = std::min(n, (blk + 1) * 4096);
      for (int64_t i = blk * 4096; i < end; i += 2) {
        // Box–Muller: two normals from two uniforms.
        const double r = std::sqrt(-2.0 * std::log(uniform())), a = 6.283185307179586 * uniform();
        p[i] = float(std * r * std::cos(a));
        if (i + 1 < end) p[i + 1] = float(std * r * std::sin(a));
      }
    }
  }
}

std::map<std::string, Tensor>& Qwen3::grads() {
  if (grads_.empty())
    for (const auto& [name, t] : params_) grads_.emplace(name, Tensor(t.shape));
  return grads_;
}

void Qwen3::zero_grads() {
  for (auto& [_, t] : grads()) std::fill(t.data.begin(), t.data.end(), 0.0f);
}

// ---- training ------------------------------------------------------------------------------

Tensor Qwen3::forward_train(const Batch& b) {
  const int64_t n = b.tokens.size(), hq = cfg_.num_attention_heads, hkv = cfg_.num_key_value_heads, hd = cfg_.head_dim;
  const auto pos = b.positions();
  const auto starts = b.starts();
  acts_.resize(cfg_.num_hidden_layers);  // buffers of the last step are reused
  Tensor x;
  cpu_::embedding_forward(b.tokens, p("model.embed_tokens.weight"), x);
  for (int64_t l = 0; l < cfg_.num_hidden_layers; l++) {
    LayerActs& a = acts_[l];
    a.x_in = x;
    cpu_::rmsnorm_forward(a.x_in, p(layer_name(l, "input_layernorm.weight")), cfg_.rms_norm_eps, a.h1, a.inv1);
    cpu_::linear_forward(a.h1, p(layer_name(l, "self_attn.q_proj.weight")), a.q_pre);
    cpu_::linear_forward(a.h1, p(layer_name(l, "self_attn.k_proj.weight")), a.k_pre);
    cpu_::linear_forward(a.h1, p(layer_name(l, "self_attn.v_proj.weight")), a.v);
    reshaped(a.q_pre, {n, hq, hd});
    reshaped(a.k_pre, {n, hkv, hd});
    cpu_::rmsnorm_forward(a.q_pre, p(layer_name(l, "self_attn.q_norm.weight")), cfg_.rms_norm_eps, a.q, a.q_inv);
    cpu_::rmsnorm_forward(a.k_pre, p(layer_name(l, "self_attn.k_norm.weight")), cfg_.rms_norm_eps, a.k, a.k_inv);
    cpu_::rope_forward(a.q, pos, cfg_.rope_theta);
    cpu_::rope_forward(a.k, pos, cfg_.rope_theta);
    ensure_shape(a.attn, {n, hq * hd});
    a.probs.resize(b.lengths.size());
    for (size_t s = 0; s < b.lengths.size(); s++) {
      const int64_t len = b.lengths[s], at = starts[s];
      ensure_shape(a.probs[s], {hq, len, len});
      cpu_::attention_forward({len, len, hq, hkv, hd}, a.q.ptr() + at * hq * hd, a.k.ptr() + at * hkv * hd, a.v.ptr() + at * hkv * hd,
                              a.attn.ptr() + at * hq * hd, a.probs[s].ptr());
    }
    Tensor o;
    cpu_::linear_forward(a.attn, p(layer_name(l, "self_attn.o_proj.weight")), o);
    add_into(o, a.x_in);
    a.x_mid = std::move(o);
    cpu_::rmsnorm_forward(a.x_mid, p(layer_name(l, "post_attention_layernorm.weight")), cfg_.rms_norm_eps, a.h2, a.inv2);
    cpu_::linear_forward(a.h2, p(layer_name(l, "mlp.gate_proj.weight")), a.gate);
    cpu_::linear_forward(a.h2, p(layer_name(l, "mlp.up_proj.weight")), a.up);
    cpu_::swiglu_forward(a.gate, a.up, a.act);
    cpu_::linear_forward(a.act, p(layer_name(l, "mlp.down_proj.weight")), x);
    add_into(x, a.x_mid);
  }
  final_in_ = std::move(x);
  has_acts_ = true;
  cpu_::rmsnorm_forward(final_in_, p("model.norm.weight"), cfg_.rms_norm_eps, final_out_, final_inv_);
  Tensor logits;
  cpu_::linear_forward(final_out_, lm_head(), logits);
  return logits;
}

void Qwen3::backward(const Batch& b, Tensor& dlogits) {
  if (!has_acts_) throw ShapeError("backward without a training forward");
  has_acts_ = false;
  const int64_t n = b.tokens.size(), hq = cfg_.num_attention_heads, hkv = cfg_.num_key_value_heads, hd = cfg_.head_dim;
  const auto pos = b.positions();
  const auto starts = b.starts();
  // Gradient buffers live in scratch_ and are reused layer after layer, step after step.
  auto& [dfinal, dx, tmp, dact, dgate, dup, dh2, dattn, dq, dk, dv, dq_pre, dk_pre, dh1] = scratch_;
  cpu_::linear_backward(final_out_, lm_head(), dlogits, dfinal, lm_head_grad());
  cpu_::rmsnorm_backward(final_in_, p("model.norm.weight"), final_inv_, dfinal, dx, g("model.norm.weight"));
  for (int64_t l = cfg_.num_hidden_layers - 1; l >= 0; l--) {
    LayerActs& a = acts_[l];
    // MLP: x = x_mid + down(swiglu(gate(h2), up(h2)))
    cpu_::linear_backward(a.act, p(layer_name(l, "mlp.down_proj.weight")), dx, dact, g(layer_name(l, "mlp.down_proj.weight")));
    cpu_::swiglu_backward(a.gate, a.up, dact, dgate, dup);
    cpu_::linear_backward(a.h2, p(layer_name(l, "mlp.gate_proj.weight")), dgate, dh2, g(layer_name(l, "mlp.gate_proj.weight")));
    cpu_::linear_backward(a.h2, p(layer_name(l, "mlp.up_proj.weight")), dup, tmp, g(layer_name(l, "mlp.up_proj.weight")));
    add_into(dh2, tmp);
    cpu_::rmsnorm_backward(a.x_mid, p(layer_name(l, "post_attention_layernorm.weight")), a.inv2, dh2, tmp,
                           g(layer_name(l, "post_attention_layernorm.weight")));
    add_into(dx, tmp);  // dx is now dL/dx_mid
    // Attention: x_mid = x_in + o_proj(attn)
    cpu_::linear_backward(a.attn, p(layer_name(l, "self_attn.o_proj.weight")), dx, dattn, g(layer_name(l, "self_attn.o_proj.weight")));
    ensure_shape(dq, {n, hq, hd});
    ensure_shape(dk, {n, hkv, hd});
    ensure_shape(dv, {n, hkv * hd});
    for (size_t s = 0; s < b.lengths.size(); s++) {
      const int64_t len = b.lengths[s], at = starts[s];
      cpu_::attention_backward({len, len, hq, hkv, hd}, a.q.ptr() + at * hq * hd, a.k.ptr() + at * hkv * hd, a.v.ptr() + at * hkv * hd,
                               a.probs[s].ptr(), dattn.ptr() + at * hq * hd, dq.ptr() + at * hq * hd, dk.ptr() + at * hkv * hd,
                               dv.ptr() + at * hkv * hd);
    }
    cpu_::rope_backward(dq, pos, cfg_.rope_theta);
    cpu_::rope_backward(dk, pos, cfg_.rope_theta);
    cpu_::rmsnorm_backward(a.q_pre, p(layer_name(l, "self_attn.q_norm.weight")), a.q_inv, dq, dq_pre, g(layer_name(l, "self_attn.q_norm.weight")));
    cpu_::rmsnorm_backward(a.k_pre, p(layer_name(l, "self_attn.k_norm.weight")), a.k_inv, dk, dk_pre, g(layer_name(l, "self_attn.k_norm.weight")));
    reshaped(dq_pre, {n, hq * hd});
    reshaped(dk_pre, {n, hkv * hd});
    reshaped(a.q_pre, {n, hq * hd});
    reshaped(a.k_pre, {n, hkv * hd});
    cpu_::linear_backward(a.h1, p(layer_name(l, "self_attn.q_proj.weight")), dq_pre, dh1, g(layer_name(l, "self_attn.q_proj.weight")));
    cpu_::linear_backward(a.h1, p(layer_name(l, "self_attn.k_proj.weight")), dk_pre, tmp, g(layer_name(l, "self_attn.k_proj.weight")));
    add_into(dh1, tmp);
    cpu_::linear_backward(a.h1, p(layer_name(l, "self_attn.v_proj.weight")), dv, tmp, g(layer_name(l, "self_attn.v_proj.weight")));
    add_into(dh1, tmp);
    cpu_::rmsnorm_backward(a.x_in, p(layer_name(l, "input_layernorm.weight")), a.inv1, dh1, tmp, g(layer_name(l, "input_layernorm.weight")));
    add_into(dx, tmp);  // dL/dx_in
  }
  cpu_::embedding_backward(b.tokens, dx, g("model.embed_tokens.weight"));
}

// ---- inference -----------------------------------------------------------------------------

KVCache Qwen3::new_cache(int64_t capacity) const {
  KVCache c;
  for (int64_t l = 0; l < cfg_.num_hidden_layers; l++) {
    c.k.emplace_back(std::vector<int64_t>{capacity, cfg_.num_key_value_heads, cfg_.head_dim});
    c.v.emplace_back(std::vector<int64_t>{capacity, cfg_.num_key_value_heads, cfg_.head_dim});
  }
  return c;
}

void Qwen3::attention_cached(int64_t l, Tensor& q, Tensor& k, Tensor& v, const std::vector<std::pair<KVCache*, int64_t>>& spans, Tensor& out) {
  const int64_t hq = cfg_.num_attention_heads, hkv = cfg_.num_key_value_heads, hd = cfg_.head_dim;
  int64_t row = 0;
  for (const auto& [cache, len] : spans) {
    const int64_t past = cache->length, total = past + len;
    if (total > cache->k[l].dim(0)) throw ShapeError("KV cache full: " + std::to_string(total) + " positions > capacity " + std::to_string(cache->k[l].dim(0)));
    std::memcpy(cache->k[l].ptr() + past * hkv * hd, k.ptr() + row * hkv * hd, sizeof(float) * len * hkv * hd);
    std::memcpy(cache->v[l].ptr() + past * hkv * hd, v.ptr() + row * hkv * hd, sizeof(float) * len * hkv * hd);
    std::vector<float> probs(hq * len * total);
    cpu_::attention_forward({len, total, hq, hkv, hd}, q.ptr() + row * hq * hd, cache->k[l].ptr(), cache->v[l].ptr(), out.ptr() + row * hq * hd,
                            probs.data());
    row += len;
  }
}

// Rows of `tokens` belong to spans (cache, count) in order; each span continues its cache.
Tensor Qwen3::forward_spans(const std::vector<int32_t>& tokens, const std::vector<std::pair<KVCache*, int64_t>>& spans) {
  const int64_t n = tokens.size(), hq = cfg_.num_attention_heads, hkv = cfg_.num_key_value_heads, hd = cfg_.head_dim;
  std::vector<int32_t> pos;
  for (const auto& [cache, len] : spans)
    for (int64_t i = 0; i < len; i++) pos.push_back(int32_t(cache->length + i));
  Tensor x, h, inv, q, k, v, qn, kn, o, gate, up, act, y;
  cpu_::embedding_forward(tokens, p("model.embed_tokens.weight"), x);
  for (int64_t l = 0; l < cfg_.num_hidden_layers; l++) {
    cpu_::rmsnorm_forward(x, p(layer_name(l, "input_layernorm.weight")), cfg_.rms_norm_eps, h, inv);
    cpu_::linear_forward(h, p(layer_name(l, "self_attn.q_proj.weight")), q);
    cpu_::linear_forward(h, p(layer_name(l, "self_attn.k_proj.weight")), k);
    cpu_::linear_forward(h, p(layer_name(l, "self_attn.v_proj.weight")), v);
    reshaped(q, {n, hq, hd});
    reshaped(k, {n, hkv, hd});
    cpu_::rmsnorm_forward(q, p(layer_name(l, "self_attn.q_norm.weight")), cfg_.rms_norm_eps, qn, inv);
    cpu_::rmsnorm_forward(k, p(layer_name(l, "self_attn.k_norm.weight")), cfg_.rms_norm_eps, kn, inv);
    cpu_::rope_forward(qn, pos, cfg_.rope_theta);
    cpu_::rope_forward(kn, pos, cfg_.rope_theta);
    Tensor attn({n, hq * hd});
    attention_cached(l, qn, kn, v, spans, attn);
    cpu_::linear_forward(attn, p(layer_name(l, "self_attn.o_proj.weight")), o);
    add_into(x, o);
    cpu_::rmsnorm_forward(x, p(layer_name(l, "post_attention_layernorm.weight")), cfg_.rms_norm_eps, h, inv);
    cpu_::linear_forward(h, p(layer_name(l, "mlp.gate_proj.weight")), gate);
    cpu_::linear_forward(h, p(layer_name(l, "mlp.up_proj.weight")), up);
    cpu_::swiglu_forward(gate, up, act);
    cpu_::linear_forward(act, p(layer_name(l, "mlp.down_proj.weight")), y);
    add_into(x, y);
  }
  for (const auto& [cache, len] : spans) cache->length += len;
  cpu_::rmsnorm_forward(x, p("model.norm.weight"), cfg_.rms_norm_eps, h, inv);
  Tensor logits;
  cpu_::linear_forward(h, lm_head(), logits);
  return logits;
}

Tensor Qwen3::forward_cached(const std::vector<int32_t>& tokens, KVCache& cache, int64_t keep) {
  Tensor logits = forward_spans(tokens, {{&cache, int64_t(tokens.size())}});
  const int64_t n = logits.dim(0), vsz = logits.dim(1);
  keep = std::min(keep, n);
  Tensor out({keep, vsz});
  std::memcpy(out.ptr(), logits.ptr() + (n - keep) * vsz, sizeof(float) * keep * vsz);
  return out;
}

Tensor Qwen3::forward_decode(const std::vector<int32_t>& tokens, std::vector<KVCache*>& caches) {
  std::vector<std::pair<KVCache*, int64_t>> spans;
  for (KVCache* c : caches) spans.emplace_back(c, 1);
  return forward_spans(tokens, spans);
}

}  // namespace troupe
