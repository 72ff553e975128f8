// Batched generation: prefill the prompts into their KV caches, then decode all live sequences
// one token per step together. Sampling: temperature (0 = greedy), top-k, top-p, stop tokens, a
// token budget and a seed; sequence i draws from its own generator seeded from (seed, i), so
// a sequence's draws do not depend on what the other sequences of the batch hold.
// The log-prob returned per token is log softmax(logits / temperature) at the sampled token
// (the raw model's at temperature 0 or 1), before top-k/top-p truncation.
//
// The loop and the sampler are shared by every backend (a backend supplies a Decoder), so the
// same weights, prompts and seed give the same tokens whichever backend runs the model.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::worker {

struct GenParams {
  int64_t max_tokens = 256;
  float temperature = 1.0f, top_p = 1.0f;
  int64_t top_k = 0;  // 0: no limit
  std::vector<int32_t> stop;
  uint64_t seed = 0;
  bool use_cache = true;  // false: recompute every prefix (the reference the cache is tested against)
  // Called after each decoding step with the sequences that took a token and the token each
  // took (a stop token included): what a streaming caller sends on before the batch ends.
  std::function<void(const std::vector<size_t>& rows, const std::vector<int32_t>& tokens)> on_tokens;
};

struct GenOutput {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<float>> logprobs;
  std::vector<std::string> finish;  // "stop" or "length"
};

// What generation needs of a model. Logits come back as fp32 rows on the host.
class Decoder {
 public:
  virtual ~Decoder() = default;
  // Runs every prompt into a fresh cache able to hold capacity[i] positions; writes each
  // prompt's last logits row to out[i · vocab …].
  virtual void prefill(const std::vector<std::vector<int32_t>>& prompts, const std::vector<int64_t>& capacity, float* out) = 0;
  // Feeds tokens[r] to sequence rows[r]; writes their next logits to out[r · vocab …].
  virtual void decode(const std::vector<size_t>& rows, const std::vector<int32_t>& tokens, float* out) = 0;
  // The last logits row after `seq`, computed from scratch without a cache.
  virtual void recompute(const std::vector<int32_t>& seq, float* out) = 0;
};

GenOutput generate(Decoder& d, int64_t vocab, int64_t context, const std::vector<std::vector<int32_t>>& prompts, const GenParams& p);

}  // namespace troupe::worker
