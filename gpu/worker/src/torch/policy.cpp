#include "torch/policy.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <cstring>

#include "torch/adamw.h"
#include "torch/decoder.h"
#include "torch/logprobs.h"
#include "torch/model.h"
#include "torch/process_group.h"
#include "torch/shards.h"
#include "worker/protocol.h"

namespace troupe::torchb {
using worker::RequestError;

std::string version() { return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH); }

std::string resolve_device(const std::string& asked) {
  const bool cuda = torch::cuda::is_available();
  if (asked == "auto") return cuda ? "cuda" : "cpu";
  if (asked == "cpu") return "cpu";
  if (asked != "cuda") throw RequestError("bad_request", "unknown device '" + asked + "': cpu, cuda or auto");
  if (!cuda) {
    throw RequestError("unsupported", std::string("device cuda: ") + (at::hasCUDA() ? "no CUDA device is visible" : "this worker's libtorch " + version() + " has no CUDA (build against a CUDA PyTorch)"));
  }
  return "cuda";
}

namespace {

// A device out of memory becomes a coded error naming what was asked for; the worker serves on.
bool is_oom(const std::string& w) {
  for (const char* s : {"out of memory", "not enough memory", "can't allocate memory", "Cannot allocate memory"})
    if (w.find(s) != std::string::npos) return true;
  return false;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class TorchPolicy : public worker::Policy {
 public:
  TorchPolicy(const worker::BackendOptions& o, ModelConfig cfg, std::map<std::string, Tensor> weights)
      : opts_(o),
        model_(std::move(cfg), at::Device(o.device == "cuda" ? at::kCUDA : at::kCPU),
               o.precision == "bf16" || (o.precision == "auto" && o.device == "cuda") ? at::kBFloat16 : at::kFloat, o.checkpoint),
        host_(std::move(weights)) {
    guarded("load", "the model's " + std::to_string(model_.config().parameter_count()) + " parameters in fp32", [&] {
      WholeState s;
      for (auto& [name, t] : host_) s.params[name] = to_device(t, model_.device());
      host_.clear();
      shards_ = std::make_unique<Shards>(model_, std::move(s), nullptr, 0, false);
    });
    // The host copy is made again when files or the wire need it: a large model is not held twice.
    host_.clear();
    host_current_ = false;
  }

  const ModelConfig& config() const override { return model_.config(); }
  std::string backend() const override { return "torch"; }
  std::string device() const override { return opts_.device; }

  // At zero stage 3 a collective: every rank asks at once.
  std::map<std::string, Tensor>& host_weights() override {
    if (!host_current_) {
      for (auto& [name, p] : shards_->whole(false).params) to_host(p, host_[name]);
      host_current_ = true;
    }
    return host_;
  }

  bool weights_need_group() const override { return shards_->stage() == 3 && !shards_->held(); }

  void weights_changed() override {
    std::map<std::string, at::Tensor> given;
    for (auto& [name, t] : host_) given[name] = at::from_blob(t.ptr(), t.shape, at::kFloat).to(model_.device());
    shards_->set_params(given);
    host_current_ = true;
  }

  std::vector<float> logprobs(const Batch& b) override {
    std::vector<float> out(b.tokens.size(), 0.0f);
    guarded("logprobs", sizes(b), [&] {
      c10::InferenceMode inference;
      shards_->acquire(0, false);
      const at::Tensor h = model_.hidden(token_tensor(b.tokens, model_.device()), b.lengths);
      const at::Tensor lp = token_logprobs(h, model_.head_weight(), token_tensor(worker::next_targets(b), model_.device()), opts_.logits_chunk).to(at::kCPU);
      shards_->release(0, false);
      // Row r predicts token r + 1: shift into token order (0 at each first token).
      size_t at_ = 0;
      for (int64_t len : b.lengths) {
        std::memcpy(out.data() + at_ + 1, lp.data_ptr<float>() + at_, sizeof(float) * (len - 1));
        at_ += len;
      }
    });
    return out;
  }

  cpu::LossTerms accumulate(const worker::MicroBatch& mb, const worker::LossOptions& o) override {
    cpu::LossTerms t;
    shards_->drop();  // training gathers each layer as it runs
    if (mb.batch.lengths.empty()) {
      // A rank with fewer micro-batches than the group's most still takes part in theirs.
      shards_->idle_pass();
      return t;
    }
    const worker::LossInputs in = worker::loss_inputs(mb, o);
    guarded("accumulate", sizes(mb.batch), [&] {
      const at::Device d = model_.device();
      auto f32 = [&](const std::vector<float>& v) { return at::from_blob(const_cast<float*>(v.data()), {int64_t(v.size())}, at::kFloat).to(d, at::kFloat, false, true); };
      const at::Tensor targets = token_tensor(in.targets, d), weight = f32(in.weight), active = weight != 0;
      // The units whose gradients this backward adds to: with checkpointing each layer is
      // acquired by its own recomputation, so only unit 0 (embedding, norm, head) here.
      const int64_t units = model_.checkpointing() ? 1 : shards_->units();
      for (int64_t u = 0; u < units; u++) shards_->acquire(u, true);
      const at::Tensor h = model_.hidden(token_tensor(mb.batch.tokens, d), mb.batch.lengths);
      const at::Tensor lp = token_logprobs(h, model_.head_weight(), targets, opts_.logits_chunk);
      at::Tensor loss, clipped;
      if (in.pg) {
        // As cpu/loss.cpp: −min(r·A, clip(r)·A) per token; a token whose clipped term is the
        // smaller one gives no gradient.
        const at::Tensor adv = f32(in.adv);
        const at::Tensor r = at::where(active, lp - f32(in.old), at::zeros_like(lp)).exp();
        const at::Tensor rc = r.detach().clamp(1.0 - o.eps_low, 1.0 + o.eps_high);
        const at::Tensor is_clipped = (rc * adv < r.detach() * adv) & active;
        loss = -(weight * at::where(is_clipped, rc, r) * adv).sum();
        clipped = is_clipped.sum();
      } else {
        loss = -(weight * lp).sum();
        clipped = at::zeros({}, targets.options());
      }
      loss.backward();
      for (int64_t u = 0; u < units; u++) shards_->release(u, true);
      const at::Tensor stats = at::stack({loss.detach().to(at::kDouble), active.sum().to(at::kDouble), clipped.to(at::kDouble)}).to(at::kCPU);
      t.loss = stats[0].item<double>();
      t.tokens = stats[1].item<double>();
      t.clipped = stats[2].item<double>();
    }, /*drops_grads=*/true);
    return t;
  }

  double step(const worker::StepOptions& o) override {
    double norm = 0;
    guarded("step", "AdamW state for " + std::to_string(model_.config().parameter_count()) + " parameters", [&] {
      norm = shards_->step(o.adam, o.max_grad_norm);
      host_current_ = false;
    });
    return norm;
  }

  void zero_grads() override { shards_->zero_grads(); }

  std::map<std::string, Tensor> gradients() override {
    std::map<std::string, Tensor> out;
    for (auto& [name, g] : shards_->gradients()) to_host(g, out[name]);
    return out;
  }

  void join(worker::Collective& group, int zero, bool sync) override {
    auto* pg = dynamic_cast<ProcessGroup*>(&group);
    if (!pg) throw RequestError("internal", "the torch backend trains over a c10d process group");
    guarded("join", "re-sharding " + std::to_string(model_.config().parameter_count()) + " parameters", [&] {
      WholeState s = shards_->whole(true);
      shards_.reset();
      shards_ = std::make_unique<Shards>(model_, std::move(s), pg, zero, sync);
      group_ = pg;
      host_current_ = false;
    });
  }

  int zero() const override { return shards_->stage(); }
  void hold_weights() override { shards_->hold(); }

  Held held() const override {
    const HeldBytes h = shards_->held_bytes();
    return Held{h.params, h.grads, h.optimizer, h.gathered};
  }

  int64_t steps() const override { return shards_->steps(); }

  worker::GenOutput generate(const std::vector<std::vector<int32_t>>& prompts, const worker::GenParams& p) override {
    worker::GenOutput out;
    int64_t tokens = 0;
    for (const auto& q : prompts) tokens += int64_t(q.size());
    guarded("generate", std::to_string(prompts.size()) + " sequences, " + std::to_string(tokens) + " prompt tokens, up to " + std::to_string(p.max_tokens) + " new tokens each", [&] {
      c10::InferenceMode inference;
      // Whole for the call (at zero stage 3 a collective): decoding runs every layer for every
      // token, and gathering per layer per token would cost a round trip each.
      for (int64_t u = 0; u < shards_->units(); u++) shards_->acquire(u, false);
      TorchDecoder d(model_);
      out = worker::generate(d, model_.config().vocab_size, model_.config().max_position_embeddings, prompts, p);
      for (int64_t u = 0; u < shards_->units(); u++) shards_->release(u, false);
    });
    return out;
  }

  // At zero stage ≥ 1 a collective: every rank asks at once.
  std::map<std::string, Tensor> optimizer_state() override {
    std::map<std::string, Tensor> st;
    WholeState s = shards_->whole(true);
    for (auto& [name, t] : s.exp_avg) to_host(t, st["exp_avg." + name]);
    for (auto& [name, t] : s.exp_avg_sq) to_host(t, st["exp_avg_sq." + name]);
    return st;
  }

  std::map<std::string, Tensor> optimizer_shard(nlohmann::json& layout) override {
    std::map<std::string, Tensor> out;
    for (auto& [name, t] : shards_->moment_shards(layout)) to_host(t, out[name]);
    return out;
  }

  void set_optimizer_state(std::map<std::string, Tensor>& st, int64_t step) override {
    WholeState s = shards_->whole(false);
    for (auto& [name, p] : s.params) {
      const std::vector<int64_t> shape = p.sizes().vec();
      s.exp_avg[name] = to_device(worker::take_state(st, "exp_avg." + name, shape), model_.device());
      s.exp_avg_sq[name] = to_device(worker::take_state(st, "exp_avg_sq." + name, shape), model_.device());
    }
    s.step = step;
    const int zero = shards_->stage();
    shards_.reset();
    shards_ = std::make_unique<Shards>(model_, std::move(s), group_, zero, false);
  }

 private:
  // Runs `f`; a device out of memory becomes RequestError("out_of_memory") naming the sizes.
  template <class F>
  void guarded(const char* op, const std::string& asked, F&& f, bool drops_grads = false) {
    try {
      f();
    } catch (const c10::Error& e) {
      // libtorch's message without its C++ backtrace, which means nothing to a caller.
      const std::string what = e.what_without_backtrace();
      if (shards_) shards_->abandon();
      if (!is_oom(what)) throw RequestError("internal", std::string(op) + ": " + first_line(what));
      if (drops_grads) zero_grads();
      throw RequestError("out_of_memory", "the " + opts_.device + " ran out of memory for " + asked +
                                              (drops_grads ? " (the gradients accumulated since the last step are dropped)" : "") + ": " +
                                              first_line(what));
    } catch (const std::bad_alloc&) {
      if (shards_) shards_->abandon();
      if (drops_grads) zero_grads();
      throw RequestError("out_of_memory", "the host ran out of memory for " + asked);
    }
  }

  std::string sizes(const Batch& b) const {
    return std::to_string(b.lengths.size()) + " sequences of " + std::to_string(b.tokens.size()) + " tokens (vocabulary " +
           std::to_string(model_.config().vocab_size) + ", logits chunk " + std::to_string(opts_.logits_chunk) + " rows)";
  }

  worker::BackendOptions opts_;
  Model model_;
  std::map<std::string, Tensor> host_;  // fp32 host copy of the weights, for files and the wire
  bool host_current_ = true;
  std::unique_ptr<Shards> shards_;
  ProcessGroup* group_ = nullptr;  // the group joined, if any (the worker owns it)
};

}  // namespace

std::unique_ptr<worker::Policy> make_torch_policy(const worker::BackendOptions& o, ModelConfig cfg, std::map<std::string, Tensor> weights) {
  return std::make_unique<TorchPolicy>(o, std::move(cfg), std::move(weights));
}

}  // namespace troupe::torchb
