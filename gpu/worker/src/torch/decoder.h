// Generation on the torch backend: a padded KV cache per layer [sequences, capacity, kv_heads,
// head_dim] on the device, filled by one packed prefill; each decoding step runs every
// sequence of the batch (a finished one re-writes its last slot, and its row is ignored), so
// the step is a few large batched products instead of one small one per sequence.
#pragma once
#include "torch/model.h"
#include "worker/generate.h"

namespace troupe::torchb {

class TorchDecoder : public worker::Decoder {
 public:
  explicit TorchDecoder(Model& m) : m_(m) {}
  void prefill(const std::vector<std::vector<int32_t>>& prompts, const std::vector<int64_t>& capacity, float* out) override;
  void decode(const std::vector<size_t>& rows, const std::vector<int32_t>& tokens, float* out) override;
  void recompute(const std::vector<int32_t>& seq, float* out) override;

 private:
  // Logits [rows, vocab] of hidden rows, copied to `out` as fp32.
  void logits_to_host(const at::Tensor& hidden_rows, float* out);

  Model& m_;
  std::vector<at::Tensor> k_, v_;  // per layer [sequences, capacity, kv_heads, head_dim]
  std::vector<int64_t> length_;    // positions each sequence's cache holds
};

// Tokens as an int64 tensor on `device`.
at::Tensor token_tensor(const std::vector<int32_t>& tokens, at::Device device);

}  // namespace troupe::torchb
