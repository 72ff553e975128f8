#include "worker/ops.h"


#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "cpu/gemm.h"
#include "io/safetensors.h"
#include "worker/generate.h"
#include "worker/sharded_optimizer.h"
#include "worker/weight_files.h"

namespace troupe::worker {
namespace fs = std::filesystem;
using nlohmann::json;

// The packed sequences of a request, checked against the model's vocabulary here, once for
// every backend.
static Batch read_batch(const Frame& req, int64_t vocab) {
  Batch b;
  b.tokens = req.tensor("tokens").i32("tokens");
  for (size_t i = 0; i < b.tokens.size(); i++) {
    if (b.tokens[i] < 0 || b.tokens[i] >= vocab) {
      throw RequestError("bad_request", "token id " + std::to_string(b.tokens[i]) + " at position " + std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
  for (int32_t l : req.tensor("lengths").i32("lengths")) {
    if (l < 1) throw RequestError("bad_request", "lengths: every sequence needs at least one token");
    b.lengths.push_back(l);
  }
  int64_t total = 0;
  for (auto l : b.lengths) total += l;
  if (total != int64_t(b.tokens.size())) {
    throw RequestError("bad_request", "lengths add up to " + std::to_string(total) + " but " + std::to_string(b.tokens.size()) + " tokens were sent");
  }
  return b;
}

Reply Worker::handle(const Frame& req) {
  const std::string op = req.header.value("op", "");
  const json a = req.header.value("args", json::object());
  if (op == "info") return info();
  if (op == "init") return init(a);
  if (op == "load") return load(a);
  if (op == "save") return save(a);
  if (op == "export") return export_hf(a);
  if (op == "generate") return generate(req);
  if (op == "logprobs") return logprobs(req);
  if (op == "accumulate") return accumulate(req);
  if (op == "step") return step(a);
  if (op == "zero_grads") return model().zero_grads(), Reply{};
  if (op == "get_weights") return get_weights(a);
  if (op == "set_weights") return set_weights(req);
  if (op == "get_gradients") return get_gradients();
  if (op == "collective_listen") return collective_listen(a);
  if (op == "collective_init") return collective_init(a);
  if (op == "broadcast") return broadcast(a);
  if (op == "hold_weights") return model().hold_weights(), info();
  if (op == "agree") return agree(a);
  if (op == "bench_matmul") return bench_matmul(a);
  if (op == "shutdown") return shutdown_ = true, Reply{};
  throw RequestError("bad_request", "unknown op '" + op + "'");
}

Policy& Worker::model() {
  if (!model_) throw RequestError("no_model", "no model loaded: send init or load first");
  return *model_;
}

Reply Worker::info() {
  Reply r;
  r.result["backend"] = backend_.backend;
  r.result["device"] = model_ ? model_->device() : backend_.device;
  r.result["backends"] = torch_available() ? json::array({"reference", "torch"}) : json::array({"reference"});
  if (torch_available()) r.result["torch_version"] = torch_version();
  if (model_) {
    r.result["config"] = model_->config().raw;
    r.result["parameters"] = model_->config().parameter_count();
    r.result["step"] = model_->steps();
  }
  r.result["rank"] = coll_ ? coll_->rank() : 0;
  r.result["world"] = coll_ ? coll_->world() : 1;
  if (model_) {
    r.result["zero"] = model_->zero();
    const Policy::Held h = model_->held();
    r.result["held"] = {{"params", h.params}, {"grads", h.grads}, {"optimizer", h.optimizer}, {"gathered", h.gathered}};
  }
  return r;
}

Reply Worker::init(const json& a) {
  // Every backend starts from the reference's initializer, so one seed gives one set of weights.
  ModelConfig cfg = parse_config(a.value("config", json()), "init config");
  Qwen3 host(cfg, false);
  host.init_random(a.value("seed", uint64_t(0)), a.value("init_std", 0.02f));
  model_.reset();  // the old model's memory is free before the new one takes its own
  model_ = make_policy(backend_, std::move(cfg), std::move(host.params()));
  rejoin();
  return info();
}

// A Hugging Face folder: config.json + model.safetensors (or shards). The model is replaced
// only once everything has loaded, so a bad folder leaves the old model serving.
Reply Worker::load(const json& a) {
  const std::string dir = a.value("path", "");
  std::ifstream in(fs::path(dir) / "config.json");
  if (!in) throw FileError(dir + "/config.json: cannot open");
  json cfg;
  try {
    cfg = json::parse(in);
  } catch (const std::exception& e) {
    throw ConfigError(dir + "/config.json: not JSON (" + e.what() + ")");
  }
  ModelConfig mc = parse_config(cfg, dir + "/config.json");
  const auto shapes = parameter_shapes(mc);
  auto tensors = read_checkpoint_tensors(dir);
  json ignored = json::array();
  std::map<std::string, Tensor> weights;
  for (auto& [name, t] : tensors) {
    auto it = shapes.find(name);
    if (it == shapes.end()) {
      ignored.push_back(name);  // e.g. lm_head.weight saved beside tied embeddings
      continue;
    }
    expect_shape(t, it->second, (dir + ": " + name).c_str());
    weights.emplace(name, std::move(t));
  }
  for (auto& [name, _] : shapes) {
    if (!weights.count(name)) throw FileError(dir + ": tensor " + name + " is missing from the checkpoint");
  }
  std::map<std::string, Tensor> state;
  int64_t step = 0;
  const bool shard_index = fs::exists(fs::path(dir) / kOptimizerShardIndex);
  const bool with_state = a.value("optimizer", false) && (shard_index || fs::exists(fs::path(dir) / "optimizer.safetensors"));
  if (with_state) {
    const std::string source = dir + "/" + (shard_index ? std::string(kOptimizerShardIndex) : "optimizer.safetensors");
    state = shard_index ? read_sharded_optimizer(dir) : read_safetensors((fs::path(dir) / "optimizer.safetensors").string());
    for (auto& [name, shape] : shapes) {
      for (const char* kind : {"exp_avg.", "exp_avg_sq."}) {
        auto it = state.find(kind + name);
        if (it == state.end()) throw FileError(source + ": " + kind + name + " is missing");
        expect_shape(it->second, shape, (source + ": " + kind + name).c_str());
      }
    }
    std::ifstream sf(fs::path(dir) / "trainer_state.json");
    step = json::parse(sf).value("step", int64_t(0));
  }
  // On a device the old model must go first: two large models may not fit side by side.
  model_.reset();
  model_ = make_policy(backend_, std::move(mc), std::move(weights));
  if (with_state) model_->set_optimizer_state(state, step);
  rejoin();
  Reply r = info();
  r.result["ignored"] = ignored;
  return r;
}

// Every rank of a ZeRO group (stage ≥ 1) saves into the same folder at once: each writes its
// shard of the optimizer state, rank 0 the weights (gathered at stage 3, so every rank takes
// part) and, once every shard is in place, the index. Outside such a group only rank 0 writes.
Reply Worker::save(const json& a) {
  Policy& m = model();
  const std::string dir = a.value("path", "");
  if (dir.empty()) throw RequestError("bad_request", "save: path is required");
  const int rank = coll_ ? coll_->rank() : 0, world = coll_ ? coll_->world() : 1;
  const bool sharded = coll_ && world > 1 && m.zero() >= 1;
  if (rank != 0 && !sharded) return Reply{};
  const bool optimizer = a.value("optimizer", false);
  fs::create_directories(dir);
  json layout;
  if (sharded && optimizer) {
    const auto shard = m.optimizer_shard(layout);
    if (!shard.empty()) write_safetensors((fs::path(dir) / optimizer_shard_file(rank, world)).string(), shard);
  }
  // Rank 0 writes the weights; the others read them only where that is a collective (a whole
  // host copy per rank would be 131 GB each for a 32B model).
  if (rank == 0 || m.weights_need_group()) {
    auto& weights = m.host_weights();
    if (rank == 0) {
      write_file_atomic((fs::path(dir) / "config.json").string(), m.config().raw.dump(2));
      write_safetensors((fs::path(dir) / "model.safetensors").string(), weights, a.value("dtype", "F32"), {{"format", "pt"}});
    }
  }
  if (!optimizer) return Reply{};
  if (sharded) {
    float done = 1;
    coll_->all_reduce_sum(&done, 1);  // every shard is written
    if (rank == 0 && m.steps() > 0) {
      write_file_atomic((fs::path(dir) / kOptimizerShardIndex).string(), layout.dump());
      write_file_atomic((fs::path(dir) / "trainer_state.json").string(), json{{"step", m.steps()}}.dump());
    }
    return Reply{};
  }
  const auto st = m.optimizer_state();
  if (!st.empty()) {
    write_safetensors((fs::path(dir) / "optimizer.safetensors").string(), st);
    write_file_atomic((fs::path(dir) / "trainer_state.json").string(), json{{"step", m.steps()}}.dump());
  }
  return Reply{};
}

// The weights in Hugging Face's sharded layout (what transformers and vLLM load): config.json,
// model-0000K-of-0000N.safetensors and their index. At zero stage 3 every rank takes part.
Reply Worker::export_hf(const json& a) {
  Policy& m = model();
  const std::string dir = a.value("path", "");
  if (dir.empty()) throw RequestError("bad_request", "export: path is required");
  const std::string dtype = a.value("dtype", "BF16");
  const uint64_t max_bytes = a.value("max_shard_bytes", uint64_t(5) << 30);
  const bool rank0 = !coll_ || coll_->rank() == 0;
  if (!rank0 && !m.weights_need_group()) return Reply{};
  auto& weights = m.host_weights();
  if (!rank0) return Reply{};
  fs::create_directories(dir);
  json cfg = m.config().raw;
  cfg["torch_dtype"] = dtype == "BF16" ? "bfloat16" : "float32";
  write_file_atomic((fs::path(dir) / "config.json").string(), cfg.dump(2));
  Reply r;
  r.result["files"] = write_sharded_checkpoint(dir, weights, dtype, max_bytes);
  return r;
}

Reply Worker::generate(const Frame& req) {
  const json a = req.header.value("args", json::object());
  const Batch b = read_batch(req, model().config().vocab_size);
  GenParams p;
  p.max_tokens = a.value("max_tokens", int64_t(256));
  p.temperature = a.value("temperature", 1.0f);
  p.top_p = a.value("top_p", 1.0f);
  p.top_k = a.value("top_k", int64_t(0));
  p.stop = a.value("stop", std::vector<int32_t>{});
  p.seed = a.value("seed", uint64_t(0));
  p.use_cache = a.value("use_cache", true);
  if (p.max_tokens < 1) throw RequestError("bad_request", "max_tokens must be at least 1");
  if (p.top_p <= 0 || p.top_p > 1) throw RequestError("bad_request", "top_p must be in (0, 1]");
  if (a.value("stream", false)) {
    // Each step's tokens go out at once as a partial reply of this request (ok, no result),
    // before the whole batch's reply: a server streams them to its clients as they come.
    const json id = req.header.value("id", json());
    p.on_tokens = [id](const std::vector<size_t>& rows, const std::vector<int32_t>& tokens) {
      write_frame(1, {{"id", id}, {"ok", true}, {"partial", {{"rows", rows}, {"tokens", tokens}}}}, {});
    };
  }
  std::vector<std::vector<int32_t>> prompts;
  size_t at = 0;
  for (auto len : b.lengths) {
    prompts.emplace_back(b.tokens.begin() + at, b.tokens.begin() + at + len);
    at += len;
  }
  const GenOutput g = model().generate(prompts, p);
  std::vector<int32_t> toks, lens;
  std::vector<float> lps;
  for (size_t i = 0; i < g.tokens.size(); i++) {
    toks.insert(toks.end(), g.tokens[i].begin(), g.tokens[i].end());
    lps.insert(lps.end(), g.logprobs[i].begin(), g.logprobs[i].end());
    lens.push_back(int32_t(g.tokens[i].size()));
  }
  Reply r;
  r.result["finish"] = g.finish;
  r.tensors.emplace_back("tokens", WireTensor::from(toks, {int64_t(toks.size())}));
  r.tensors.emplace_back("logprobs", WireTensor::from(lps, {int64_t(lps.size())}));
  r.tensors.emplace_back("lengths", WireTensor::from(lens, {int64_t(lens.size())}));
  return r;
}

Reply Worker::logprobs(const Frame& req) {
  const Batch b = read_batch(req, model().config().vocab_size);
  const auto lp = model().logprobs(b);
  Reply r;
  r.tensors.emplace_back("logprobs", WireTensor::from(lp, {int64_t(lp.size())}));
  return r;
}

Reply Worker::accumulate(const Frame& req) {
  const json a = req.header.value("args", json::object());
  MicroBatch mb;
  mb.batch = read_batch(req, model().config().vocab_size);
  mb.mask = req.tensor("mask").f32("mask");
  LossOptions o;
  o.mode = a.value("mode", "pg");
  o.eps_low = a.value("eps_low", 0.2f);
  o.eps_high = a.value("eps_high", 0.28f);
  o.loss_scale = a.value("loss_scale", 32768.0);
  o.batch_sequences = a.value("batch_sequences", double(mb.batch.lengths.size()));
  o.batch_tokens = a.value("batch_tokens", 0.0);
  if (o.mode == "pg") {
    mb.old_logprobs = req.tensor("old_logprobs").f32("old_logprobs");
    mb.advantages = req.tensor("advantages").f32("advantages");
  }
  const auto t = model().accumulate(mb, o);
  Reply r;
  r.result = {{"loss", t.loss}, {"tokens", t.tokens}, {"clipped", t.clipped}};
  return r;
}

Reply Worker::step(const json& a) {
  Policy& m = model();
  StepOptions o;
  o.adam.lr = a.value("lr", 1e-6f);
  o.adam.weight_decay = a.value("weight_decay", 0.01f);
  o.adam.beta1 = a.value("beta1", 0.9f);
  o.adam.beta2 = a.value("beta2", 0.999f);
  o.adam.eps = a.value("eps", 1e-8f);
  o.max_grad_norm = a.value("max_grad_norm", 1.0);
  const double norm = m.step(o);
  Reply r;
  r.result = {{"grad_norm", norm}, {"step", m.steps()}};
  return r;
}

Reply Worker::get_weights(const json& a) {
  auto& weights = model().host_weights();
  const auto names = a.value("names", std::vector<std::string>{});
  // meta: names and shapes only, so a caller can plan buckets before moving any bytes.
  const bool meta = a.value("meta", false);
  Reply r;
  if (a.contains("file")) {  // the bytes in a file, only their descriptors in the reply
    r.result["tensors"] = write_weights_file(a["file"].get<std::string>(), weights, a.value("ranges", json::array()));
    return r;
  }
  if (meta) r.result["tensors"] = json::array();
  for (auto& [name, t] : weights) {
    if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
    if (meta) r.result["tensors"].push_back({{"name", name}, {"shape", t.shape}});
    else r.tensors.emplace_back(name, WireTensor::from(t.data, t.shape));
  }
  return r;
}

// The gradients accumulated since the last step, by parameter name (checks against other
// implementations, e.g. scripts/gpu_check.py against Hugging Face).
Reply Worker::get_gradients() {
  Reply r;
  for (auto& [name, g] : model().gradients()) r.tensors.emplace_back(name, WireTensor::from(g.data, g.shape));
  return r;
}

// All or nothing: every tensor is checked before any is written.
Reply Worker::set_weights(const Frame& req) {
  Policy& m = model();
  auto& weights = m.host_weights();
  const json a = req.header.value("args", json::object());
  if (a.contains("file")) {
    Reply r;
    r.result["set"] = read_weights_file(a["file"].get<std::string>(), weights, a.value("tensors", json::array()));
    m.weights_changed();
    return r;
  }
  std::vector<std::pair<Tensor*, std::vector<float>>> staged;
  for (const auto& [name, w] : req.tensors) {
    auto it = weights.find(name);
    if (it == weights.end()) throw RequestError("bad_request", "set_weights: the model has no tensor " + name);
    if (w.shape != it->second.shape) throw RequestError("bad_request", "set_weights: " + name + " has the wrong shape");
    staged.emplace_back(&it->second, w.f32(name));
  }
  for (auto& [t, v] : staged) t->data = std::move(v);
  m.weights_changed();
  Reply r;
  r.result["set"] = staged.size();
  return r;
}

Reply Worker::collective_listen(const json& a) {
  listener_ = listen_for_group(backend_, a.value("address", std::string("127.0.0.1:0")));
  Reply r;
  r.result["address"] = listener_->address();
  return r;
}

Reply Worker::collective_init(const json& a) {
  coll_.reset();
  const auto addresses = a.value("addresses", std::vector<std::string>{});
  // Rank 0 uses the socket collective_listen bound, when it is the address given.
  auto listener = listener_ && !addresses.empty() && addresses[0] == listener_->address() ? std::move(listener_) : nullptr;
  listener_.reset();
  coll_ = form_group(backend_, a.value("rank", 0), a.value("world", 1), addresses, a.value("host", std::string("127.0.0.1")), a.value("timeout_ms", 30000),
                     std::move(listener));
  zero_ = a.value("zero", 0);
  // Rank 0's weights and optimizer state become every rank's, then each keeps what its stage says.
  if (model_) model_->join(*coll_, zero_, a.value("sync", true));
  return info();
}

// A model loaded or made while in a group trains with it, keeping what this rank loaded (no
// collective: a rank may load alone).
void Worker::rejoin() {
  if (coll_) model_->join(*coll_, zero_, false);
}

// The group's largest `value` (every rank asks at once): how many micro-batches each must run.
Reply Worker::agree(const json& a) {
  float v = a.value("value", 0.0f);
  if (coll_ && coll_->world() > 1) {
    std::vector<float> all(coll_->world(), 0.0f);
    all[coll_->rank()] = v;
    coll_->all_reduce_sum(all.data(), all.size());
    v = *std::max_element(all.begin(), all.end());
  }
  Reply r;
  r.result["max"] = v;
  return r;
}

Reply Worker::broadcast(const json& a) {
  Policy& m = model();
  if (!coll_) throw RequestError("bad_request", "broadcast: no collective group (send collective_init first)");
  for (auto& [_, t] : m.host_weights()) coll_->broadcast(t.ptr(), t.size(), a.value("root", 0));
  m.weights_changed();
  return Reply{};
}

}  // namespace troupe::worker

namespace troupe::worker {

// The machine's practical matmul limit: OpenBLAS sgemm y[m,n] = x[m,k]·W[n,k]ᵀ, the layout of
// every projection, timed over `reps` runs after a warm-up. Benchmarks compare against it.
Reply Worker::bench_matmul(const json& a) {
  const int64_t m = a.value("m", int64_t(512)), n = a.value("n", int64_t(512)), k = a.value("k", int64_t(512)), reps = a.value("reps", int64_t(5));
  if (m < 1 || n < 1 || k < 1 || reps < 1 || m * k > (int64_t(1) << 30) || n * k > (int64_t(1) << 30)) throw RequestError("bad_request", "bench_matmul: sizes out of range");
  std::vector<float> x(m * k, 0.5f), w(n * k, 0.25f), y(m * n);
  auto run = [&] { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x.data(), k, w.data(), k, 0.0f, y.data(), n); };
  run();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < reps; i++) run();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Reply r;
  r.result = {{"gflops", 2.0 * m * n * k * reps / s / 1e9}, {"seconds", s}};
  return r;
}

}  // namespace troupe::worker
