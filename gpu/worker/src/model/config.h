// The model's shape, read from a Hugging Face Qwen3 config.json (the same file a real
// checkpoint folder carries), so any size loads: from a 1M-parameter test model to Qwen3-0.6B.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace troupe {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ModelConfig {
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0;
  int64_t num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0, max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f, rope_theta = 1e6f;
  bool tie_word_embeddings = false;
  nlohmann::json raw;  // kept whole, so a save writes back what was loaded

  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t parameter_count() const;
};

// Throws ConfigError naming the field (and `where`, e.g. the file) for a missing or bad value.
ModelConfig parse_config(const nlohmann::json& j, const std::string& where);

}  // namespace troupe
