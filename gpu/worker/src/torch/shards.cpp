#include "torch/shards.h"

#include "torch/adamw.h"
#include "worker/protocol.h"

namespace troupe::torchb {
using worker::RequestError;

Shards::Shards(Model& model, WholeState state, ProcessGroup* group, int stage, bool sync) : model_(model), group_(group) {
  if (stage < 0 || stage > 3) throw RequestError("bad_request", "zero stage " + std::to_string(stage) + ": 0, 1, 2 or 3");
  if (group_) {
    rank_ = group_->rank();
    world_ = group_->world();
  }
  // A group of one runs the stage asked for (its collectives are copies): the same code path
  // as many ranks, which one GPU can check. No group at all is stage 0.
  stage_ = group_ ? stage : 0;
  if (stage_ == 3 && !model_.checkpointing()) {
    throw RequestError("bad_request", "zero stage 3 gathers each layer again for its backward: it needs activation checkpointing (--checkpoint on)");
  }
  sync = sync && group_;
  const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat).device(model_.device());

  // Units in name order within each, layers in order.
  int64_t n_units = 1 + model_.config().num_hidden_layers;
  units_.resize(n_units);
  for (auto& [name, t] : state.params) {
    const int64_t u = unit_of(name);
    if (u >= n_units) throw RequestError("bad_request", "parameter " + name + " belongs to no layer of the model");
    Unit& x = units_[u];
    x.names.push_back(name);
    x.shapes.push_back(t.sizes().vec());
    x.offsets.push_back(x.numel);
    x.numel += t.numel();
  }
  for (Unit& x : units_) {
    x.shard = (x.numel + world_ - 1) / world_;
    at::Tensor whole = flat(x, state.params, "parameters");
    for (const auto& name : x.names) state.params.erase(name);  // held once, here
    if (sync) group_->broadcast(whole, 0);
    x.param = stage_ < 3 ? whole : mine(x, whole).clone();
    x.grad = at::zeros({stage_ < 2 ? x.shard * world_ : x.shard}, f32);
    if (stage_ < 3) bind(x, x.param, stage_ < 2 ? x.grad : at::Tensor());
  }

  // The moments and the step count: rank 0's when synchronizing.
  at::Tensor has = at::tensor({state.exp_avg.empty() ? 0.0 : 1.0, double(state.step)}, at::kDouble).to(model_.device());
  if (sync) group_->broadcast(has, 0);
  step_ = int64_t(has[1].item<double>());
  if (has[0].item<double>() != 0) {
    for (Unit& x : units_) {
      for (auto* kind : {&state.exp_avg, &state.exp_avg_sq}) {
        at::Tensor whole = flat(x, *kind, "optimizer state");
        if (sync) group_->broadcast(whole, 0);
        (kind == &state.exp_avg ? exp_avg_ : exp_avg_sq_).push_back(stage_ == 0 ? whole : mine(x, whole).clone());
      }
    }
  }
  model_.set_hooks(this);
}

Shards::~Shards() { model_.set_hooks(nullptr); }

// The unit's tensors from `by_name` laid end to end, zero-padded to shard · world; zeros where
// `by_name` is empty (a rank about to receive rank 0's state).
at::Tensor Shards::flat(Unit& u, const std::map<std::string, at::Tensor>& by_name, const char* what) {
  at::Tensor f = at::zeros({u.shard * world_}, at::TensorOptions().dtype(at::kFloat).device(model_.device()));
  if (by_name.empty()) return f;
  for (size_t i = 0; i < u.names.size(); i++) {
    auto it = by_name.find(u.names[i]);
    if (it == by_name.end()) throw RequestError("bad_request", std::string(what) + ": " + u.names[i] + " is missing");
    if (it->second.sizes().vec() != u.shapes[i]) throw RequestError("bad_request", std::string(what) + ": " + u.names[i] + " has the wrong shape");
    f.narrow(0, u.offsets[i], it->second.numel()).copy_(it->second.reshape(-1));
  }
  return f;
}

std::map<std::string, at::Tensor> Shards::by_name(Unit& u, const at::Tensor& whole_flat) {
  std::map<std::string, at::Tensor> out;
  for (size_t i = 0; i < u.names.size(); i++) {
    int64_t n = 1;
    for (int64_t d : u.shapes[i]) n *= d;
    out[u.names[i]] = whole_flat.narrow(0, u.offsets[i], n).view(u.shapes[i]);
  }
  return out;
}

// The model's parameters become leaves over the flat buffer's memory, and their gradients
// (when given) views of the flat gradient, into which autograd accumulates in place.
void Shards::bind(Unit& u, const at::Tensor& whole_params, const at::Tensor& whole_grads) {
  auto params = by_name(u, whole_params);
  auto grads = whole_grads.defined() ? by_name(u, whole_grads) : std::map<std::string, at::Tensor>{};
  for (auto& [name, p] : params) {
    at::Tensor leaf = p.detach().requires_grad_(true);
    if (!grads.empty()) leaf.mutable_grad() = grads.at(name);
    model_.params()[name] = leaf;
  }
}

void Shards::unbind(Unit& u) {
  for (const auto& name : u.names) model_.params().erase(name);
  u.gathered = at::Tensor();
}

at::Tensor Shards::gather(const Unit& u, const at::Tensor& shard) {
  // A normal tensor even under inference mode: the transport writes into it from its own thread.
  c10::InferenceMode normal(false);
  at::Tensor whole = at::empty({u.shard * world_}, shard.options());
  group_->all_gather(shard.contiguous(), whole);
  return whole;
}

void Shards::acquire(int64_t unit, bool backward) {
  Unit& u = units_.at(unit);
  if (u.users++ == 0 && stage_ == 3) {
    u.gathered = gather(u, u.param);
    bind(u, u.gathered, at::Tensor());
  }
  if (backward && u.backward_users++ == 0 && stage_ >= 2) {
    u.pending = at::zeros({u.shard * world_}, u.param.options());
    for (auto& [name, g] : by_name(u, u.pending)) model_.params().at(name).mutable_grad() = g;
  }
}

void Shards::release(int64_t unit, bool backward) {
  Unit& u = units_.at(unit);
  if (backward && --u.backward_users == 0 && stage_ >= 2) {
    at::NoGradGuard no_grad;
    group_->reduce_scatter(u.pending, u.grad, /*accumulate=*/true);
    for (const auto& name : u.names) model_.params().at(name).mutable_grad() = at::Tensor();
    u.pending = at::Tensor();
  }
  if (--u.users == 0 && stage_ == 3) unbind(u);
}

void Shards::hold() {
  if (stage_ != 3 || held_) return;
  for (int64_t u = 0; u < units(); u++) acquire(u, false);
  held_ = true;
}

void Shards::drop() {
  if (!held_) return;
  for (int64_t u = 0; u < units(); u++) release(u, false);
  held_ = false;
}

void Shards::idle_pass() {
  const int64_t n = units();
  if (model_.checkpointing()) {
    acquire(0, true);
    for (int64_t u = 1; u < n; u++) acquire(u, false), release(u, false);  // the forward's layers
    for (int64_t u = n - 1; u >= 1; u--) acquire(u, true), release(u, true);  // their backward, last first
    release(0, true);
  } else {
    for (int64_t u = 0; u < n; u++) acquire(u, true);
    for (int64_t u = 0; u < n; u++) release(u, true);
  }
}

double Shards::step(const cpu::AdamWConfig& adam, double max_grad_norm) {
  at::NoGradGuard no_grad;
  drop();  // the whole copy would be stale
  // What this rank updates: everything at stage 0, its shard from stage 1 on.
  std::vector<at::Tensor> w, g;
  for (Unit& u : units_) {
    if (group_ && stage_ < 2) group_->all_reduce_sum(u.grad);
    w.push_back(stage_ == 0 || stage_ == 3 ? u.param : mine(u, u.param));
    g.push_back(stage_ == 1 ? mine(u, u.grad) : u.grad);
  }
  // The norm of the whole gradient: from stage 1 on each rank holds a disjoint part of it.
  double squares = squared_norm(g);
  if (group_ && stage_ >= 1) squares = group_->all_reduce_sum(squares);
  const double norm = std::sqrt(squares);
  clip_to(g, norm, max_grad_norm);
  adamw_step(w, g, exp_avg_, exp_avg_sq_, ++step_, adam);
  if (stage_ == 1 || stage_ == 2) {
    for (Unit& u : units_) group_->all_gather(mine(u, u.param).clone(), u.param);
  }
  zero_grads();
  return norm;
}

void Shards::zero_grads() {
  for (Unit& u : units_) u.grad.zero_();
}

void Shards::abandon() {
  for (Unit& u : units_) {
    if (u.backward_users > 0 && stage_ >= 2) {
      for (const auto& name : u.names) {
        auto it = model_.params().find(name);
        if (it != model_.params().end()) it->second.mutable_grad() = at::Tensor();
      }
    }
    u.pending = at::Tensor();
    u.backward_users = 0;
    if (u.users > 0 && stage_ == 3) unbind(u);
    u.users = 0;
  }
}

HeldBytes Shards::held_bytes() const {
  HeldBytes h;
  for (const Unit& u : units_) {
    h.params += u.param.numel() * 4;
    h.grads += u.grad.numel() * 4;
    if (u.gathered.defined()) h.gathered += u.gathered.numel() * 4;
  }
  for (const auto* v : {&exp_avg_, &exp_avg_sq_})
    for (const auto& t : *v) h.optimizer += t.numel() * 4;
  return h;
}

WholeState Shards::whole(bool with_optimizer) {
  WholeState s;
  s.step = step_;
  for (size_t k = 0; k < units_.size(); k++) {
    Unit& u = units_[k];
    for (auto& [name, t] : by_name(u, stage_ < 3 ? u.param : held_ ? u.gathered : gather(u, u.param))) s.params[name] = t;
    if (!with_optimizer || exp_avg_.empty()) continue;
    for (auto& [name, t] : by_name(u, stage_ == 0 ? exp_avg_[k] : gather(u, exp_avg_[k]))) s.exp_avg[name] = t;
    for (auto& [name, t] : by_name(u, stage_ == 0 ? exp_avg_sq_[k] : gather(u, exp_avg_sq_[k]))) s.exp_avg_sq[name] = t;
  }
  return s;
}

std::map<std::string, at::Tensor> Shards::moment_shards(nlohmann::json& layout) const {
  if (stage_ < 1) throw RequestError("internal", "moment_shards: the moments are whole at zero stage 0");
  layout = {{"world", world_}, {"zero", stage_}, {"units", nlohmann::json::array()}};
  std::map<std::string, at::Tensor> out;
  for (size_t k = 0; k < units_.size(); k++) {
    const Unit& u = units_[k];
    layout["units"].push_back({{"names", u.names}, {"shapes", u.shapes}, {"offsets", u.offsets}, {"numel", u.numel}, {"shard", u.shard}});
    if (exp_avg_.empty()) continue;
    out["exp_avg.unit." + std::to_string(k)] = exp_avg_[k];
    out["exp_avg_sq.unit." + std::to_string(k)] = exp_avg_sq_[k];
  }
  return out;
}

std::map<std::string, at::Tensor> Shards::gradients() {
  if (stage_ >= 2) throw RequestError("unsupported", "gradients: at zero stage " + std::to_string(stage_) + " each rank holds only its shard of the summed gradients");
  std::map<std::string, at::Tensor> out;
  for (Unit& u : units_)
    for (auto& [name, t] : by_name(u, u.grad)) out[name] = t;
  return out;
}

void Shards::set_params(const std::map<std::string, at::Tensor>& params) {
  at::NoGradGuard no_grad;
  for (Unit& u : units_) {
    const at::Tensor whole = flat(u, params, "set_weights");
    u.param.copy_(stage_ == 3 ? mine(u, whole) : whole);
    if (held_) u.gathered.copy_(whole);
  }
}

}  // namespace troupe::torchb
