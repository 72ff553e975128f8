// The reference backend as a Policy: the hand-written CPU model (model/qwen3) with its Trainer.
#include <cstring>

#include "io/safetensors.h"
#include "worker/policy.h"
#include "worker/protocol.h"

namespace troupe::worker {
namespace {

// Generation over per-sequence KV caches of the reference model.
class ReferenceDecoder : public Decoder {
 public:
  explicit ReferenceDecoder(Qwen3& m) : m_(m) {}
  void prefill(const std::vector<std::vector<int32_t>>& prompts, const std::vector<int64_t>& capacity, float* out) override {
    const int64_t v = m_.config().vocab_size;
    caches_.clear();
    for (size_t i = 0; i < prompts.size(); i++) {
      caches_.push_back(m_.new_cache(capacity[i]));
      const Tensor l = m_.forward_cached(prompts[i], caches_.back(), 1);
      std::memcpy(out + i * v, l.ptr(), sizeof(float) * v);
    }
  }
  void decode(const std::vector<size_t>& rows, const std::vector<int32_t>& tokens, float* out) override {
    std::vector<KVCache*> cs;
    for (size_t r : rows) cs.push_back(&caches_.at(r));
    const Tensor l = m_.forward_decode(tokens, cs);
    std::memcpy(out, l.ptr(), sizeof(float) * l.size());
  }
  void recompute(const std::vector<int32_t>& seq, float* out) override {
    KVCache fresh = m_.new_cache(int64_t(seq.size()));
    const Tensor l = m_.forward_cached(seq, fresh, 1);
    std::memcpy(out, l.ptr(), sizeof(float) * l.size());
  }

 private:
  Qwen3& m_;
  std::vector<KVCache> caches_;
};

class ReferencePolicy : public Policy {
 public:
  ReferencePolicy(ModelConfig cfg, std::map<std::string, Tensor> weights) : model_(std::move(cfg), false), trainer_(model_) {
    model_.params() = std::move(weights);
  }
  const ModelConfig& config() const override { return model_.config(); }
  std::string backend() const override { return "reference"; }
  std::string device() const override { return "cpu"; }
  std::map<std::string, Tensor>& host_weights() override { return model_.params(); }
  void weights_changed() override {}
  std::vector<float> logprobs(const Batch& b) override { return sequence_logprobs(model_, b); }
  cpu::LossTerms accumulate(const MicroBatch& mb, const LossOptions& o) override { return trainer_.accumulate(mb, o); }
  double step(const StepOptions& o) override { return trainer_.step(o, group_); }
  void join(Collective& group, int zero, bool sync) override {
    if (zero != 0) throw RequestError("unsupported", "zero stage " + std::to_string(zero) + ": the reference backend has stage 0 only (use the torch backend)");
    group_ = &group;
    if (!sync || group.world() < 2) return;
    for (auto& [_, t] : model_.params()) group.broadcast(t.ptr(), t.size(), 0);
    // Rank 0's AdamW moments and step count too, so a resumed group steps as one process would.
    float head[2] = {trainer_.m().empty() ? 0.0f : 1.0f, float(trainer_.steps())};
    group.broadcast(head, 2, 0);
    if (head[0] == 0) return;
    if (trainer_.m().empty()) {
      for (auto& [_, t] : model_.params()) {
        trainer_.m().push_back(Tensor(t.shape));
        trainer_.v().push_back(Tensor(t.shape));
      }
    }
    for (auto* moments : {&trainer_.m(), &trainer_.v()})
      for (auto& t : *moments) group.broadcast(t.ptr(), t.size(), 0);
    trainer_.restore(int64_t(head[1]));
  }
  int zero() const override { return 0; }
  Held held() const override {
    Held h;
    for (auto& [_, t] : const_cast<Qwen3&>(model_).params()) h.params += int64_t(t.size()) * 4;
    h.grads = h.params;
    for (auto* moments : {&trainer_.m(), &trainer_.v()})
      for (auto& t : *moments) h.optimizer += int64_t(t.size()) * 4;
    return h;
  }
  void zero_grads() override { model_.zero_grads(); }
  std::map<std::string, Tensor> gradients() override { return model_.grads(); }
  int64_t steps() const override { return trainer_.steps(); }
  GenOutput generate(const std::vector<std::vector<int32_t>>& prompts, const GenParams& p) override {
    ReferenceDecoder d(model_);
    return worker::generate(d, model_.config().vocab_size, model_.config().max_position_embeddings, prompts, p);
  }
  std::map<std::string, Tensor> optimizer_state() override {
    std::map<std::string, Tensor> st;
    if (trainer_.m().empty()) return st;
    size_t k = 0;
    for (auto& [name, _] : model_.params()) {
      st["exp_avg." + name] = trainer_.m()[k];
      st["exp_avg_sq." + name] = trainer_.v()[k++];
    }
    return st;
  }
  void set_optimizer_state(std::map<std::string, Tensor>& st, int64_t step) override {
    trainer_.reset();
    for (auto& [name, t] : model_.params()) {
      trainer_.m().push_back(take_state(st, "exp_avg." + name, t.shape));
      trainer_.v().push_back(take_state(st, "exp_avg_sq." + name, t.shape));
    }
    trainer_.restore(step);
  }

 private:
  Qwen3 model_;
  Trainer trainer_;
  Collective* group_ = nullptr;
};

}  // namespace

Tensor take_state(std::map<std::string, Tensor>& st, const std::string& name, const std::vector<int64_t>& shape) {
  auto it = st.find(name);
  if (it == st.end()) throw FileError("optimizer state: " + name + " is missing");
  expect_shape(it->second, shape, ("optimizer state " + name).c_str());
  return std::move(it->second);
}

std::map<std::string, std::vector<int64_t>> parameter_shapes(const ModelConfig& cfg) {
  std::map<std::string, std::vector<int64_t>> out;
  Qwen3 shapes_only(cfg, false);  // named: a temporary would die before the loop ran
  for (auto& [name, t] : shapes_only.params()) out.emplace(name, t.shape);
  return out;
}

std::unique_ptr<Policy> make_reference_policy(ModelConfig cfg, std::map<std::string, Tensor> weights) {
  return std::make_unique<ReferencePolicy>(std::move(cfg), std::move(weights));
}

}  // namespace troupe::worker
