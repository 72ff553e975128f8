// The Qwen3 dense model in ATen operations (the torch backend): the same computation as
// model/qwen3 (the reference), written once for CPU and CUDA and differentiated by autograd.
//
// Parameters are fp32 master weights under their Hugging Face names. Each forward casts them to
// the compute dtype (fp32 on CPU; bf16 on CUDA by default), so gradients and optimizer state
// stay fp32 while the matrix products run in bf16.
//
// A batch is packed, as in the reference: sequences end to end, attention causal within each.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "tensor.h"

namespace troupe::torchb {

// Receives each layer's keys (after norm and rotary) and values [n, kv_heads, head_dim] of a
// forward, so that a prefill can fill a KV cache.
using KVSink = std::function<void(int64_t layer, const at::Tensor& k, const at::Tensor& v)>;

// Attention of one layer: q [n, heads, hd], k and v [n, kv_heads, hd] → [n, heads · hd].
using Attend = std::function<at::Tensor(int64_t layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)>;

// Told before and after each decoder layer's parameters are used (shards.h gathers and frees
// them there): unit 1 + l for layer l. `backward`: the recomputation of a checkpointed layer
// whose backward follows, and after: that backward is done.
struct UnitHooks {
  virtual ~UnitHooks() = default;
  virtual void before(int64_t unit, bool backward) = 0;
  virtual void after(int64_t unit, bool backward) = 0;
};

// The unit a parameter belongs to: 1 + l for a parameter of layer l, else 0.
int64_t unit_of(const std::string& name);

class Model {
 public:
  Model(ModelConfig cfg, at::Device device, at::ScalarType dtype, bool checkpoint);

  const ModelConfig& config() const { return cfg_; }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  bool checkpointing() const { return checkpoint_; }
  std::map<std::string, at::Tensor>& params() { return params_; }
  void set_hooks(UnitHooks* h) { hooks_ = h; }

  // Hidden states after the final norm [n, hidden] (compute dtype) for a packed batch. With
  // checkpointing on and grad mode enabled, each layer's activations are recomputed in
  // backward instead of kept; the closures that graph needs live until the next call, so run
  // its backward first.
  at::Tensor hidden(const at::Tensor& tokens, const std::vector<int64_t>& lengths, const KVSink& sink = nullptr);
  // Hidden states of rows at `positions` whose attention `attend` computes (decoding).
  at::Tensor hidden_with(const at::Tensor& tokens, const at::Tensor& positions, const Attend& attend);
  // The output projection [vocab, hidden] in the compute dtype (the embedding table when tied).
  at::Tensor head_weight();
  // One layer: x [n, hidden] → [n, hidden].
  at::Tensor layer(int64_t l, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const Attend& attend);

 private:
  at::Tensor w(const std::string& name) { return params_.at(name).to(dtype_); }
  at::Tensor rmsnorm(const at::Tensor& x, const std::string& weight);
  // cos and sin [n, head_dim / 2] for the positions (angles in double, as the reference).
  std::pair<at::Tensor, at::Tensor> rotary(const at::Tensor& positions);

  ModelConfig cfg_;
  at::Device device_;
  at::ScalarType dtype_;
  bool checkpoint_;
  std::map<std::string, at::Tensor> params_;
  UnitHooks* hooks_ = nullptr;
  // The layer closures the last checkpointed forward's graph points to.
  struct Run {
    std::function<at::Tensor(const at::Tensor&)> fn;
    UnitHooks* hooks;
    int64_t unit;
  };
  friend struct CheckpointedLayer;
  std::vector<std::unique_ptr<Run>> runs_;
};

// Causal attention of one packed batch, sequence by sequence.
at::Tensor packed_causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::vector<int64_t>& lengths);

// A host tensor's values as an fp32 tensor on `device`, and back into a host tensor.
at::Tensor to_device(const Tensor& t, at::Device device);
void to_host(const at::Tensor& src, Tensor& dst);

}  // namespace troupe::torchb
