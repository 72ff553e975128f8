// The Qwen3 dense model on the CPU backend: parameters under their Hugging Face names, a
// training forward that keeps what backward needs, backward into gradient buffers, and an
// inference forward over a KV cache.
//
// A batch is packed: the sequences' tokens end to end, no padding. Matrix products run over
// every row of the batch at once; attention runs per sequence (causal within it).
#pragma once
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model/config.h"
#include "tensor.h"

namespace troupe {

struct Batch {
  std::vector<int32_t> tokens;   // [n] every sequence, end to end
  std::vector<int64_t> lengths;  // one per sequence; Σ = n
  std::vector<int32_t> positions() const;
  std::vector<int64_t> starts() const;
};

// Per sequence, per layer: keys and values of the positions seen so far.
struct KVCache {
  std::vector<Tensor> k, v;  // [layers] of [capacity, kv_heads, head_dim]
  int64_t length = 0;
};

// What the training forward keeps of one layer for backward.
struct LayerActs {
  Tensor x_in, h1, inv1;             // block input, attention-norm output and its 1/rms
  Tensor q_pre, q_inv, k_pre, k_inv;  // projections before their head norms [n, heads, hd]
  Tensor q, k, v;                    // after norm and rope (v: projection)
  std::vector<Tensor> probs;         // per sequence [heads, L, L]
  Tensor attn, x_mid, h2, inv2;      // attention output [n, q_dim], residual, MLP-norm output
  Tensor gate, up, act;              // [n, intermediate]
};

// Gradient buffers of backward(), kept between calls.
struct BackwardScratch {
  Tensor dfinal, dx, tmp, dact, dgate, dup, dh2, dattn, dq, dk, dv, dq_pre, dk_pre, dh1;
};

class Qwen3 {
 public:
  // allocate = false: parameters get their shapes but no memory (a load fills them), so a
  // large model is not held twice while it loads.
  explicit Qwen3(ModelConfig cfg, bool allocate = true);

  const ModelConfig& config() const { return cfg_; }
  std::map<std::string, Tensor>& params() { return params_; }
  // Gradient buffers, allocated on first use: a model that only generates holds none.
  std::map<std::string, Tensor>& grads();

  // Every weight ~ N(0, std), norms = 1 (as Hugging Face initializes Qwen3).
  void init_random(uint64_t seed, float std = 0.02f);

  // Training: logits [n, vocab] for every position; activations are kept for backward().
  Tensor forward_train(const Batch& b);
  // Accumulates dL/dθ into grads() given dL/dlogits (consumed).
  void backward(const Batch& b, Tensor& dlogits);
  void zero_grads();

  // Inference: runs `tokens` of one sequence after what its cache holds; returns the logits of
  // the last `keep` positions [keep, vocab].
  Tensor forward_cached(const std::vector<int32_t>& tokens, KVCache& cache, int64_t keep);
  // Decoding step for many sequences at once: one token each, logits [rows, vocab].
  Tensor forward_decode(const std::vector<int32_t>& tokens, std::vector<KVCache*>& caches);
  KVCache new_cache(int64_t capacity) const;

 private:
  Tensor& p(const std::string& name) { return params_.at(name); }
  Tensor& g(const std::string& name) { return grads().at(name); }
  const Tensor& lm_head() { return cfg_.tie_word_embeddings ? p("model.embed_tokens.weight") : p("lm_head.weight"); }
  Tensor& lm_head_grad() { return cfg_.tie_word_embeddings ? g("model.embed_tokens.weight") : g("lm_head.weight"); }
  Tensor forward_spans(const std::vector<int32_t>& tokens, const std::vector<std::pair<KVCache*, int64_t>>& spans);
  // Attention block for rows that each belong to a cached sequence (shared by both inference paths).
  void attention_cached(int64_t layer, Tensor& q, Tensor& k, Tensor& v, const std::vector<std::pair<KVCache*, int64_t>>& spans,
                        Tensor& out);

  ModelConfig cfg_;
  std::map<std::string, Tensor> params_, grads_;
  // What forward_train keeps for backward.
  std::vector<LayerActs> acts_;
  Tensor final_in_, final_inv_, final_out_;
  bool has_acts_ = false;
  BackwardScratch scratch_;
};

std::string layer_name(int64_t i, const char* rest);

}  // namespace troupe
