// The torch backend against the reference backend on the same weights, in one process:
// logits, log-probs, both losses, every parameter's gradient, the weights after one AdamW step,
// generation (cache against recomputation, greedy and sampled, seeds), and the torch backend's
// own options (activation checkpointing on/off, chunked/unchunked log-probs).
//
//   troupe-torch-parity [--device cpu|cuda] [--precision fp32|bf16] [--corrupt]
//
// Prints one line per check (`PASS|FAIL name err=… tol=…`), exits 1 on any failure.
// Errors are relative to the largest magnitude of the reference side (max |a − b| / max |b|),
// so one tolerance fits tensors of any scale. Tolerances:
//   fp32 1e-4: the two backends sum in different orders (OpenBLAS against ATen's kernels),
//     which moves each result by a few ulps (~1e-7 relative); through two layers, a softmax
//     and a backward that grows to ~1e-5 at most. 1e-4 keeps a 10× margin and still fails a
//     wrong formula, whose errors are O(1) (see --corrupt).
//   bf16 5e-2: bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 2e-3 per operation);
//     tens of roundings through the layers add up to ~1e-2. Gradients and the AdamW update are
//     compared in bf16 by ‖a − b‖ / ‖b‖ (rel_l2), with 0.1 and 0.2 (a norm weight's gradient
//     sums thousands of rounded products; the update's first step
//     is nearly lr·sign(g), so every small gradient's rounding shows in it).
// The same-backend checks (checkpointing, chunking, cache) compare one computation done two
// ways with the same kernels: 1e-6 in fp32.
// --corrupt perturbs the torch side of every comparison: every check must then fail, which
// shows that the comparisons can fail.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "model/qwen3.h"
#include "torch/model.h"
#include "worker/policy.h"

using namespace troupe;
using namespace troupe::worker;

static bool corrupt = false;
static int failures = 0;

static void report(const std::string& name, double err, double tol) {
  const bool ok = err <= tol;  // NaN fails
  if (!ok) failures++;
  std::printf("%s %s err=%.3g tol=%.3g\n", ok ? "PASS" : "FAIL", name.c_str(), err, tol);
}

// max |a − b| / max(max |b|, 1e-12); a is the side under test.
static double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, scale = 1e-12;
  for (size_t i = 0; i < a.size(); i++) scale = std::max(scale, double(std::fabs(b[i])));
  for (size_t i = 0; i < a.size(); i++) {
    const double x = a[i] + (corrupt && i == 0 ? scale : 0.0);
    diff = std::max(diff, std::fabs(x - b[i]));
  }
  return diff / scale;
}

// ‖a − b‖ / ‖b‖: the bf16 measure for whole tensors, where a few elements near zero round far
// from the fp32 value (and AdamW's first step, lr·g/(|g| + eps), turns those into sign flips)
// while the tensor as a whole agrees.
static double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, norm = 1e-24;
  for (size_t i = 0; i < a.size(); i++) {
    const double x = a[i] + (corrupt && i == 0 ? 0.5 * (std::fabs(b[i]) + 1) : 0.0);
    diff += (x - b[i]) * (x - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff / norm);
}

static double tokens_differ(const GenOutput& a, const GenOutput& b) {
  double n = corrupt ? 1 : 0;
  for (size_t i = 0; i < b.tokens.size(); i++) n += a.tokens.at(i) != b.tokens[i];
  return n;
}

static ModelConfig config(bool tied) {
  return parse_config(
      {{"vocab_size", 96}, {"hidden_size", 32}, {"intermediate_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
       {"num_key_value_heads", 2}, {"head_dim", 8}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", tied},
       {"max_position_embeddings", 128}},
      "parity config");
}

static std::map<std::string, Tensor> weights(const ModelConfig& cfg) {
  Qwen3 m(cfg, false);
  m.init_random(7, 0.15f);  // large enough that logits and gradients are far from uniform
  return m.params();
}

static MicroBatch batch(const ModelConfig& cfg, bool pg) {
  MicroBatch mb;
  mb.batch.lengths = {5, 11, 3};
  uint32_t x = 12345;
  for (int i = 0; i < 19; i++) mb.batch.tokens.push_back(int32_t((x = x * 1664525u + 1013904223u) >> 8) % int32_t(cfg.vocab_size));
  for (int i = 0; i < 19; i++) mb.mask.push_back(i % 4 == 0 ? 0.0f : 1.0f);
  if (pg) {
    mb.advantages = {1.0f, -0.5f, 0.75f};
    // Old log-probs far enough from the new ones that some tokens are clipped.
    for (int i = 0; i < 19; i++) mb.old_logprobs.push_back(-4.6f + 0.3f * float(i % 5) - 0.6f);
  }
  return mb;
}

static std::vector<float> flat(std::map<std::string, Tensor>& m, const std::string& name) { return m.at(name).data; }

int main(int argc, char** argv) {
  BackendOptions torch_opts;
  torch_opts.backend = "torch";
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--corrupt") corrupt = true;
    else if (a == "--device" && i + 1 < argc) torch_opts.device = argv[++i];
    else if (a == "--precision" && i + 1 < argc) torch_opts.precision = argv[++i];
    else {
      std::fprintf(stderr, "usage: troupe-torch-parity [--device cpu|cuda] [--precision fp32|bf16] [--corrupt]\n");
      return 2;
    }
  }
  resolve_backend(torch_opts);
  const bool bf16 = torch_opts.precision == "bf16" || (torch_opts.precision == "auto" && torch_opts.device == "cuda");
  const double tol = bf16 ? 5e-2 : 1e-4, same = bf16 ? 1e-2 : 1e-6;
  const std::string tag = torch_opts.device + (bf16 ? "/bf16" : "/fp32");
  const BackendOptions ref_opts;

  for (const bool tied : {false, true}) {
    const ModelConfig cfg = config(tied);
    const std::string pre = tag + (tied ? "/tied/" : "/untied/");
    // Log-probs and generation.
    {
      auto ref = make_policy(ref_opts, cfg, weights(cfg));
      auto tor = make_policy(torch_opts, cfg, weights(cfg));
      const Batch b = batch(cfg, false).batch;
      report(pre + "logprobs", rel_err(tor->logprobs(b), ref->logprobs(b)), tol);
      // The whole logits [tokens × vocabulary]: the reference's training forward against the
      // torch model's hidden states times its output projection.
      {
        Qwen3 host(cfg, false);
        host.params() = weights(cfg);
        const Tensor expected = host.forward_train(b);
        const bool cuda = torch_opts.device == "cuda";
        torchb::Model m(cfg, at::Device(cuda ? at::kCUDA : at::kCPU), bf16 ? at::kBFloat16 : at::kFloat, false);
        for (auto& [name, t] : host.params()) m.params()[name] = torchb::to_device(t, m.device());
        at::NoGradGuard no_grad;
        std::vector<int32_t> toks = b.tokens;
        const at::Tensor ids = at::from_blob(toks.data(), {int64_t(toks.size())}, at::kInt).to(m.device(), at::kLong);
        Tensor got;
        torchb::to_host(at::matmul(m.hidden(ids, b.lengths), m.head_weight().t()).to(at::kFloat), got);
        report(pre + "logits", rel_err(got.data, expected.data), tol);
      }
      const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {5, 8, 13, 21, 34, 55}, {7}};
      for (const float temp : {0.0f, 1.0f}) {
        GenParams p;
        p.max_tokens = 12;
        p.temperature = temp;
        p.top_p = temp > 0 ? 0.9f : 1.0f;
        p.top_k = temp > 0 ? 20 : 0;
        p.seed = 99;
        const std::string kind = temp > 0 ? "sampled" : "greedy";
        const GenOutput cached = tor->generate(prompts, p);
        GenParams fresh = p;
        fresh.use_cache = false;
        // In bf16 the cached and recomputed logits round differently, and a sampled draw near a
        // boundary can flip: there only greedy decoding must agree.
        if (!bf16 || temp == 0) report(pre + "generate_" + kind + "/cache_vs_recompute", tokens_differ(tor->generate(prompts, fresh), cached), 0);
        report(pre + "generate_" + kind + "/seed_reproduces", tokens_differ(tor->generate(prompts, p), cached), 0);
        // bf16 can flip a near-tie against the fp32 reference; only fp32 must agree exactly.
        if (!bf16) report(pre + "generate_" + kind + "/vs_reference", tokens_differ(cached, ref->generate(prompts, p)), 0);
        std::vector<float> a, r;
        const GenOutput refg = ref->generate(prompts, p);
        for (size_t i = 0; i < prompts.size(); i++)
          if (cached.tokens[i] == refg.tokens[i]) {
            a.insert(a.end(), cached.logprobs[i].begin(), cached.logprobs[i].end());
            r.insert(r.end(), refg.logprobs[i].begin(), refg.logprobs[i].end());
          }
        report(pre + "generate_" + kind + "/logprobs_vs_reference", rel_err(a, r), tol);
      }
    }
    // Losses, gradients, one AdamW step.
    for (const bool pg : {true, false}) {
      const std::string loss = pg ? "pg" : "ce";
      auto ref = make_policy(ref_opts, cfg, weights(cfg));
      auto tor = make_policy(torch_opts, cfg, weights(cfg));
      LossOptions o;
      o.mode = loss;
      o.loss_scale = 4;
      o.batch_sequences = 3;
      const MicroBatch mb = batch(cfg, pg);
      const auto lr = ref->accumulate(mb, o), lt = tor->accumulate(mb, o);
      report(pre + loss + "/loss", rel_err({float(lt.loss)}, {float(lr.loss)}), tol);
      report(pre + loss + "/tokens_and_clipped", std::fabs(lt.tokens - lr.tokens) + std::fabs(lt.clipped - lr.clipped) + (corrupt ? 1 : 0), 0);
      if (pg && lr.clipped == 0) report(pre + loss + "/some_tokens_clipped", 1, 0);  // the batch must exercise the clip
      auto gr = ref->gradients(), gt = tor->gradients();
      double worst = 0;
      std::string worst_name;
      for (auto& [name, g] : gr) {
        const double e = bf16 ? rel_l2(flat(gt, name), g.data) : rel_err(flat(gt, name), g.data);
        if (!(e <= worst)) worst = e, worst_name = name;
      }
      report(pre + loss + "/gradients(worst:" + worst_name + ")", worst, bf16 ? 0.1 : tol);
      StepOptions so;
      so.adam.lr = 1e-2f;
      // AdamW's first step moves a weight by lr·g/(|g| + eps): where |g| is near eps that
      // ratio turns a 1e-6 gradient difference into an O(1) one. A larger eps keeps the
      // update a smooth function of the gradient, so this compares the optimizer's arithmetic.
      so.adam.eps = 1e-3f;
      so.max_grad_norm = 0.5;
      const double nr = ref->step(so), nt = tor->step(so);
      report(pre + loss + "/grad_norm", rel_err({float(nt)}, {float(nr)}), tol);
      // The step moves each weight by about lr; compare the moves, not the weights.
      auto w0 = weights(cfg);
      auto wr = ref->host_weights(), wt = tor->host_weights();
      std::vector<float> dr, dt;
      for (auto& [name, t] : w0)
        for (size_t i = 0; i < t.size(); i++) {
          dr.push_back(wr.at(name).data[i] - t.data[i]);
          dt.push_back(wt.at(name).data[i] - t.data[i]);
        }
      report(pre + loss + "/adamw_update", bf16 ? rel_l2(dt, dr) : rel_err(dt, dr), bf16 ? 0.2 : tol);
    }
    // The torch backend's own switches give the same numbers.
    {
      BackendOptions a = torch_opts, b = torch_opts;
      a.checkpoint = true;
      a.logits_chunk = 4096;
      b.checkpoint = false;
      b.logits_chunk = 4;  // 19 tokens: five chunks, the last one short
      auto pa = make_policy(a, cfg, weights(cfg)), pb = make_policy(b, cfg, weights(cfg));
      LossOptions o;
      o.loss_scale = 4;
      o.batch_sequences = 3;
      const MicroBatch mb = batch(cfg, true);
      report(pre + "chunked_logprobs", rel_err(pb->logprobs(mb.batch), pa->logprobs(mb.batch)), same);
      pa->accumulate(mb, o);
      pb->accumulate(mb, o);
      auto ga = pa->gradients(), gb = pb->gradients();
      double worst = 0;
      for (auto& [name, g] : ga) worst = std::max(worst, rel_err(flat(gb, name), g.data));
      report(pre + "checkpoint_and_chunks_gradients", worst, same);
    }
  }
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
