// Batched generation: prefill each prompt into its KV cache, then decode all live sequences one
// token per step together. Sampling: temperature (0 = greedy), top-k, top-p, stop tokens, a
// token budget and a seed; sequence i draws from its own generator seeded from (seed, i), so
// a sequence's draws do not depend on what the other sequences of the batch hold.
// The log-prob returned per token is log softmax(logits / temperature) at the sampled token
// (the raw model's at temperature 0 or 1), before top-k/top-p truncation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/qwen3.h"

namespace troupe::worker {

struct GenParams {
  int64_t max_tokens = 256;
  float temperature = 1.0f, top_p = 1.0f;
  int64_t top_k = 0;  // 0: no limit
  std::vector<int32_t> stop;
  uint64_t seed = 0;
  bool use_cache = true;  // false: recompute every prefix (the reference the cache is tested against)
};

struct GenOutput {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<float>> logprobs;
  std::vector<std::string> finish;  // "stop" or "length"
};

GenOutput generate(Qwen3& model, const std::vector<std::vector<int32_t>>& prompts, const GenParams& p);

}  // namespace troupe::worker
