// ZeRO for the torch backend: what each rank of a process group stores of the model.
//
// The parameters are cut into units: unit 0 holds everything outside the decoder layers (the
// embedding, the final norm, the output head), unit 1 + l holds layer l. Each unit is one
// flat fp32 buffer, padded to a multiple of the group's size and cut into equal contiguous
// shards, shard r belonging to rank r. A rank holds, by stage:
//
//   stage  parameters  gradients  AdamW moments   per step
//   0      whole       whole      whole           all-reduce gradients; every rank updates everything
//   1      whole       whole      its shard       all-reduce gradients; update the shard; all-gather parameters
//   2      whole       its shard  its shard       reduce-scatter each unit's gradients as its backward ends; update; all-gather
//   3      its shard   its shard  its shard       all-gather a unit just before it runs (forward, and again for the
//                                                 recomputation in backward) and free it after; reduce-scatter as in 2
//
// The gradient norm is taken over the whole gradient (the shards' squares summed across the
// group), so clipping, and so every stage's update, is that of one process on the whole batch.
// Outside a group every stage is stage 0; a group of one runs its stage's collectives on itself.
#pragma once
#include <ATen/ATen.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cpu/adamw.h"
#include "torch/model.h"
#include "torch/process_group.h"

namespace troupe::torchb {

// The whole model's state by Hugging Face name: what files and the wire carry.
struct WholeState {
  std::map<std::string, at::Tensor> params;     // fp32, on the device
  std::map<std::string, at::Tensor> exp_avg;    // empty before the first step
  std::map<std::string, at::Tensor> exp_avg_sq;
  int64_t step = 0;
};

// Bytes of the tensors a rank keeps between steps; `gathered`: the whole parameters a stage-3
// rank holds for generation between steps (hold()), apart from its shard.
struct HeldBytes {
  int64_t params = 0, grads = 0, optimizer = 0, gathered = 0;
};

class Shards : public UnitHooks {
 public:
  // Takes `state` over and binds the model's parameters to it. With `sync`, rank 0's state
  // replaces every other rank's first (a collective: every rank constructs at once).
  Shards(Model& model, WholeState state, ProcessGroup* group, int stage, bool sync);
  ~Shards() override;

  int stage() const { return stage_; }
  int64_t steps() const { return step_; }
  HeldBytes held_bytes() const;

  // Unit u's parameters are bound to the model until the matching release; with `backward`,
  // gradients of the unit accumulate from then on, and release adds them into this rank's
  // shard (stages 2 and 3: a reduce-scatter). Counted: only the first acquire and the last
  // release act. At stage 3 both are collectives.
  void acquire(int64_t unit, bool backward);
  void release(int64_t unit, bool backward);
  void before(int64_t unit, bool backward) override { acquire(unit, backward); }
  void after(int64_t unit, bool backward) override { release(unit, backward); }
  int64_t units() const { return int64_t(units_.size()); }

  // Stage 3: gathers every unit whole and keeps it so until drop() (a collective), so that
  // between steps generation, log-probs, checkpoints and weight syncs read whole weights
  // without the rest of the group. Elsewhere nothing to do.
  void hold();
  void drop();
  bool held() const { return held_; }

  // The collectives of one forward and backward that this rank has no sequences for, in the
  // order the others run them, so the group stays in step.
  void idle_pass();

  // One optimizer step over the accumulated gradients; the gradient norm before clipping.
  double step(const cpu::AdamWConfig& adam, double max_grad_norm);
  void zero_grads();
  // Forgets units left acquired by a forward or backward that failed midway (no collective:
  // the group is out of step after such a failure anyway).
  void abandon();

  // Whole tensors by name, copied out (collectives at stage ≥ 1 for the moments, 3 for the
  // parameters: every rank calls them at once). Gradients: stages 0 and 1 only.
  WholeState whole(bool with_optimizer);
  std::map<std::string, at::Tensor> gradients();
  // Stage ≥ 1: this rank's shard of the moments, flat per unit ("exp_avg.unit.U",
  // "exp_avg_sq.unit.U"; none before the first step), and in `layout` what puts the shards
  // back together (worker/sharded_optimizer.h).
  std::map<std::string, at::Tensor> moment_shards(nlohmann::json& layout) const;
  // Writes whole parameters by name into this rank's storage (every name must be given).
  void set_params(const std::map<std::string, at::Tensor>& params);

 private:
  struct Unit {
    std::vector<std::string> names;
    std::vector<std::vector<int64_t>> shapes;
    std::vector<int64_t> offsets;  // into the flat buffer
    int64_t numel = 0, shard = 0;  // the flat buffer is shard · world long
    at::Tensor param;              // stage < 3: whole; 3: the shard
    at::Tensor grad;               // stage < 2: whole; else the shard
    at::Tensor gathered;  // stage 3: the whole parameters while acquired
    at::Tensor pending;   // stages 2 and 3: the unit's whole gradient while its backward runs
    int users = 0, backward_users = 0;
  };

  at::Tensor flat(Unit& u, const std::map<std::string, at::Tensor>& by_name, const char* what);
  std::map<std::string, at::Tensor> by_name(Unit& u, const at::Tensor& whole_flat);
  at::Tensor mine(const Unit& u, const at::Tensor& whole_flat) const { return whole_flat.narrow(0, rank_ * u.shard, u.shard); }
  void bind(Unit& u, const at::Tensor& whole_params, const at::Tensor& whole_grads);
  void unbind(Unit& u);
  at::Tensor gather(const Unit& u, const at::Tensor& shard);

  Model& model_;
  ProcessGroup* group_;
  int stage_, rank_ = 0, world_ = 1;
  std::vector<Unit> units_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;  // per unit; stage 0: whole, else the shard; empty before the first step
  int64_t step_ = 0;
  bool held_ = false;
};

}  // namespace troupe::torchb
