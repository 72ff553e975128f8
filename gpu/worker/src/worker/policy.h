// A model with its optimizer on one backend: everything the worker's operations need of it.
// Two backends implement it: "reference" (the hand-written CPU kernels of cpu/ and model/, the
// readable oracle) and "torch" (the same model in ATen operations, CPU or CUDA; torch/).
//
// Weights cross this boundary as fp32 host tensors under their Hugging Face names, the form
// files and the wire carry, whatever the backend keeps on its device.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cpu/loss.h"
#include "model/config.h"
#include "model/qwen3.h"
#include "worker/collective.h"
#include "worker/generate.h"
#include "worker/protocol.h"
#include "worker/trainer.h"

namespace troupe::worker {

class Policy {
 public:
  virtual ~Policy() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::string backend() const = 0;
  virtual std::string device() const = 0;

  // The weights as fp32 host tensors, current when this returns. A caller that writes into
  // them calls weights_changed() afterwards so the backend takes them up.
  virtual std::map<std::string, Tensor>& host_weights() = 0;
  // Whether host_weights() is a collective (ZeRO-3 with the weights not held): every rank of
  // the group must then call it at once.
  virtual bool weights_need_group() const { return false; }
  virtual void weights_changed() = 0;

  // Log-prob of every token given the ones before it in its sequence (0 at each first token).
  virtual std::vector<float> logprobs(const Batch& b) = 0;
  // Forward and backward of one micro-batch; gradients add up until step().
  virtual cpu::LossTerms accumulate(const MicroBatch& mb, const LossOptions& o) = 0;
  // Sum the gradients across the group (if any), global-norm clip, AdamW, zero the gradients.
  // Returns the gradient norm before clipping.
  virtual double step(const StepOptions& o) = 0;

  // Trains with `group` from now on, storing what ZeRO stage `zero` says (torch/shards.h; the
  // reference backend has stage 0 only). With `sync`, rank 0's weights and optimizer state
  // replace every other rank's (a collective: every rank joins at once).
  virtual void join(Collective& group, int zero, bool sync) = 0;
  virtual int zero() const = 0;
  // ZeRO-3: the whole weights are gathered (a collective) and kept until the next accumulate,
  // so that generating, scoring and reading weights need no other rank. Elsewhere a no-op.
  virtual void hold_weights() {}
  // Bytes of parameters, gradients and optimizer state this rank keeps between steps, and of
  // the whole weights a ZeRO-3 rank holds between steps (hold_weights).
  struct Held {
    int64_t params = 0, grads = 0, optimizer = 0, gathered = 0;
  };
  virtual Held held() const = 0;
  virtual void zero_grads() = 0;
  // The accumulated gradients as fp32 host tensors by name (zeros where none has accumulated).
  virtual std::map<std::string, Tensor> gradients() = 0;
  virtual int64_t steps() const = 0;
  virtual GenOutput generate(const std::vector<std::vector<int32_t>>& prompts, const GenParams& p) = 0;

  // AdamW moments as host tensors named "exp_avg.NAME" and "exp_avg_sq.NAME" (none before the
  // first step), and the step count they belong to.
  virtual std::map<std::string, Tensor> optimizer_state() = 0;
  virtual void set_optimizer_state(std::map<std::string, Tensor>& state, int64_t step) = 0;
  // ZeRO ≥ 1: this rank's shard of the moments, flat per unit, and in `layout` how the shards
  // fit together (worker/sharded_optimizer.h); empty before the first step.
  virtual std::map<std::string, Tensor> optimizer_shard(nlohmann::json& layout) {
    (void)layout;
    throw RequestError("internal", "optimizer_shard: this backend's optimizer state is never sharded");
  }
};

// How a worker runs its model: chosen once, when the worker starts.
struct BackendOptions {
  std::string backend = "reference";  // "reference" | "torch"
  std::string device = "cpu";         // torch: "cpu" | "cuda" | "auto" (CUDA when a GPU is visible)
  std::string precision = "auto";     // torch: "fp32" | "bf16" compute (master weights, gradients and
                                      // optimizer state stay fp32); auto: bf16 on cuda, fp32 on cpu
  bool checkpoint = true;             // torch: recompute each layer in backward instead of keeping its activations
  int64_t logits_chunk = 2048;        // torch: rows of [tokens × vocabulary] logits that exist at once
};

// Every parameter's name and shape for a config: what a checkpoint must hold.
std::map<std::string, std::vector<int64_t>> parameter_shapes(const ModelConfig& cfg);

// Checks that this build can run `o` and settles the device ("auto" becomes "cpu" or "cuda");
// throws RequestError saying what is missing.
void resolve_backend(BackendOptions& o);

// A policy over `weights` (every parameter, fp32 host tensors; consumed). Throws RequestError
// ("unsupported") for a backend this build lacks.
std::unique_ptr<Policy> make_policy(const BackendOptions& o, ModelConfig cfg, std::map<std::string, Tensor> weights);

// Rank 0's first half of forming a group for backend `o`: listening at `host_port` (port 0: the
// kernel's choice).
std::unique_ptr<Listener> listen_for_group(const BackendOptions& o, const std::string& host_port);
// Joins the group of `world` whose rank 0 listens at addresses[0] (rank 0 passes its listener):
// a TCP star for the reference backend, c10d (Gloo on cpu, NCCL on cuda) for torch. `host`:
// the address this rank's own transport listens on, one the others can reach.
std::unique_ptr<Collective> form_group(const BackendOptions& o, int rank, int world, const std::vector<std::string>& addresses, const std::string& host,
                                       int timeout_ms, std::unique_ptr<Listener> listener);

// Moves `name` out of an optimizer state, checking its shape; FileError when it is missing.
Tensor take_state(std::map<std::string, Tensor>& state, const std::string& name, const std::vector<int64_t>& shape);

// Whether this build has the torch backend, and the libtorch version it was built with.
bool torch_available();
std::string torch_version();

}  // namespace troupe::worker
