#include "model/config.h"

namespace troupe {

static int64_t need_int(const nlohmann::json& j, const char* key, const std::string& where, int64_t min = 1) {
  if (!j.contains(key) || !j[key].is_number_integer()) throw ConfigError(where + ": `" + key + "` must be an integer");
  const int64_t v = j[key].get<int64_t>();
  if (v < min) throw ConfigError(where + ": `" + key + "` must be at least " + std::to_string(min) + ", not " + std::to_string(v));
  return v;
}

ModelConfig parse_config(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + ": a model config must be a JSON object");
  ModelConfig c;
  c.raw = j;
  c.vocab_size = need_int(j, "vocab_size", where);
  c.hidden_size = need_int(j, "hidden_size", where);
  c.intermediate_size = need_int(j, "intermediate_size", where);
  c.num_hidden_layers = need_int(j, "num_hidden_layers", where);
  c.num_attention_heads = need_int(j, "num_attention_heads", where);
  c.num_key_value_heads = j.contains("num_key_value_heads") ? need_int(j, "num_key_value_heads", where) : c.num_attention_heads;
  c.head_dim = j.contains("head_dim") ? need_int(j, "head_dim", where) : c.hidden_size / c.num_attention_heads;
  c.max_position_embeddings = j.contains("max_position_embeddings") ? need_int(j, "max_position_embeddings", where) : 32768;
  if (j.contains("rms_norm_eps")) c.rms_norm_eps = j["rms_norm_eps"].get<float>();
  if (j.contains("rope_theta")) c.rope_theta = j["rope_theta"].get<float>();
  // Newer transformers write the rotary settings as one object instead (and may omit rope_theta).
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    if (!j.contains(key) || !j[key].is_object()) continue;
    const auto& r = j[key];
    if (r.contains("rope_theta")) c.rope_theta = r["rope_theta"].get<float>();
    const std::string type = r.value("rope_type", r.value("type", std::string("default")));
    if (type != "default") throw ConfigError(where + ": `" + key + "` asks for rope_type '" + type + "'; only the default rotary embedding is implemented");
  }
  if (j.contains("tie_word_embeddings")) c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    throw ConfigError(where + ": num_attention_heads (" + std::to_string(c.num_attention_heads) + ") must be a multiple of num_key_value_heads (" +
                      std::to_string(c.num_key_value_heads) + ")");
  }
  if (c.head_dim % 2 != 0) throw ConfigError(where + ": head_dim must be even (rotary embeddings pair channels)");
  return c;
}

int64_t ModelConfig::parameter_count() const {
  const int64_t d = hidden_size;
  const int64_t per_layer = d * q_dim() + 2 * d * kv_dim() + q_dim() * d + 3 * d * intermediate_size + 2 * d + 2 * head_dim;
  return vocab_size * d * (tie_word_embeddings ? 1 : 2) + num_hidden_layers * per_layer + d;
}

}  // namespace troupe
