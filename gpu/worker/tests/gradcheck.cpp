// Checks every CPU kernel's backward against central finite differences of its forward.
// For an op y = f(inputs), the scalar L = Σ y ⊙ R (R random) has dL/dy = R, so backward(R)
// must match (L(x + h) − L(x − h)) / 2h for every input element.
// Prints one line per gradient (`PASS|FAIL op/grad max_err=…`) and exits 1 on any failure.
// `--corrupt` adds an error to one analytic gradient: the check must then fail (the mocha test
// runs both ways, so a checker that passes everything is caught).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "cpu/attention.h"
#include "cpu/embedding.h"
#include "cpu/linear.h"
#include "cpu/loss.h"
#include "cpu/rmsnorm.h"
#include "cpu/rope.h"
#include "cpu/swiglu.h"
#include "model/qwen3.h"

using troupe::Tensor;
namespace cpu = troupe::cpu;

static std::mt19937 rng(1234);
static bool corrupt = false;
static int failures = 0;

static Tensor randn(std::vector<int64_t> shape, float scale = 1.0f) {
  Tensor t(std::move(shape));
  std::normal_distribution<float> d(0.0f, scale);
  for (auto& v : t.data) v = d(rng);
  return t;
}

static double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += double(a.data[i]) * b.data[i];
  return s;
}

// Compares `analytic` with the numeric gradient of `loss` with respect to `x`.
static void check(const char* name, Tensor& x, const Tensor& analytic, const std::function<double()>& loss) {
  const float h = 3e-3f;
  double max_err = 0;
  for (size_t i = 0; i < x.size(); i++) {
    const float keep = x.data[i];
    x.data[i] = keep + h;
    const double up = loss();
    x.data[i] = keep - h;
    const double down = loss();
    x.data[i] = keep;
    const double numeric = (up - down) / (2.0 * h);
    double a = analytic.data[i];
    if (corrupt && i == 0) a += 0.5;
    const double err = std::fabs(a - numeric) / std::max(1.0, std::fabs(numeric));
    max_err = std::max(max_err, err);
  }
  const bool ok = max_err < 1e-2;
  if (!ok) failures++;
  std::printf("%s %s max_err=%.2e\n", ok ? "PASS" : "FAIL", name, max_err);
}

static void linear() {
  Tensor x = randn({5, 7}), w = randn({4, 7}, 0.5f), r = randn({5, 4});
  Tensor y, dx, dw({4, 7});
  auto loss = [&] { cpu::linear_forward(x, w, y); return dot(y, r); };
  loss();
  cpu::linear_backward(x, w, r, dx, dw);
  check("linear/dx", x, dx, loss);
  check("linear/dw", w, dw, loss);
}

static void rmsnorm() {
  Tensor x = randn({3, 8}), w = randn({8}, 0.5f), r = randn({3, 8});
  for (auto& v : w.data) v += 1.0f;
  Tensor y, inv, dx, dw({8});
  auto loss = [&] { cpu::rmsnorm_forward(x, w, 1e-6f, y, inv); return dot(y, r); };
  loss();
  cpu::rmsnorm_backward(x, w, inv, r, dx, dw);
  check("rmsnorm/dx", x, dx, loss);
  check("rmsnorm/dw", w, dw, loss);
}

static void swiglu() {
  Tensor g = randn({4, 6}, 2.0f), u = randn({4, 6}), r = randn({4, 6});
  Tensor h, dg, du;
  auto loss = [&] { cpu::swiglu_forward(g, u, h); return dot(h, r); };
  loss();
  cpu::swiglu_backward(g, u, r, dg, du);
  check("swiglu/dg", g, dg, loss);
  check("swiglu/du", u, du, loss);
}

static void embedding() {
  Tensor table = randn({6, 5}), r = randn({4, 5});
  std::vector<int32_t> ids = {3, 1, 3, 5};  // a repeated id: its gradient rows add up
  Tensor x, dtable({6, 5});
  auto loss = [&] { cpu::embedding_forward(ids, table, x); return dot(x, r); };
  loss();
  cpu::embedding_backward(ids, r, dtable);
  check("embedding/dtable", table, dtable, loss);
}

static void rope() {
  Tensor x = randn({5, 2, 6}), r = randn({5, 2, 6});
  std::vector<int32_t> pos = {0, 1, 2, 7, 1000};
  auto loss = [&] { Tensor y = x; cpu::rope_forward(y, pos, 10000.0f); return dot(y, r); };
  Tensor dx = r;
  cpu::rope_backward(dx, pos, 10000.0f);
  check("rope/dx", x, dx, loss);
}

// GQA (4 query heads over 2 key/value heads); tq < tk as when decoding after a cache.
static void attention(int64_t tq, int64_t tk, const char* tag) {
  const cpu::AttentionShape sh{tq, tk, 4, 2, 3};
  Tensor q = randn({tq, 4, 3}), k = randn({tk, 2, 3}), v = randn({tk, 2, 3}), r = randn({tq, 4, 3});
  Tensor o({tq, 4, 3}), probs({4, tq, tk});
  auto loss = [&] { cpu::attention_forward(sh, q.ptr(), k.ptr(), v.ptr(), o.ptr(), probs.ptr()); return dot(o, r); };
  loss();
  Tensor dq({tq, 4, 3}), dk({tk, 2, 3}), dv({tk, 2, 3});
  cpu::attention_backward(sh, q.ptr(), k.ptr(), v.ptr(), probs.ptr(), r.ptr(), dq.ptr(), dk.ptr(), dv.ptr());
  check((std::string("attention") + tag + "/dq").c_str(), q, dq, loss);
  check((std::string("attention") + tag + "/dk").c_str(), k, dk, loss);
  check((std::string("attention") + tag + "/dv").c_str(), v, dv, loss);
}

// The policy-gradient loss through log-softmax, away from the clip edges (where it has kinks).
static void policy_loss() {
  Tensor logits = randn({6, 5});
  std::vector<int32_t> targets = {1, 4, 0, -1, 2, 3};
  std::vector<float> lp, dlp, w = {0.2f, 0.2f, 0.2f, 0.2f, 0.0f, 0.2f}, adv = {1, -1, 1, 1, -1, -1}, old(6);
  cpu::token_logprobs(logits, targets, lp);
  const float shift[6] = {-0.7f, 0.05f, 0.0f, 0.0f, 0.3f, 0.7f};  // ratios e^{0.7} (clipped for A>0), ~1, …
  for (int i = 0; i < 6; i++) old[i] = lp[i] + shift[i];
  auto loss = [&] {
    std::vector<float> l, d;
    cpu::token_logprobs(logits, targets, l);
    return cpu::policy_gradient_loss(l, old, adv, w, 0.2f, 0.28f, d).loss;
  };
  cpu::policy_gradient_loss(lp, old, adv, w, 0.2f, 0.28f, dlp);
  Tensor dlogits = logits;
  cpu::token_logprobs_backward(dlogits, targets, dlp);
  check("policy_loss/dlogits", logits, dlogits, loss);
}

// Hand-computed: lp = log ½ everywhere, ratios 2 and ½ with A = ±1, clip [0.8, 1.28], weight ¼.
static void loss_values() {
  const float h = std::log(0.5f);
  std::vector<float> lp(5, h), old = {std::log(0.25f), std::log(0.25f), 0.0f, 0.0f, 0.0f}, adv = {1, -1, 1, -1, 1};
  std::vector<float> w = {0.25f, 0.25f, 0.25f, 0.25f, 0.0f}, dlp;
  auto t = cpu::policy_gradient_loss(lp, old, adv, w, 0.2f, 0.28f, dlp);
  // r=2,A=+1 → −1.28 (clipped) · r=2,A=−1 → +2 · r=½,A=+1 → −½ · r=½,A=−1 → +0.8 (clipped) · masked
  const double want = 0.25 * (-1.28 + 2 - 0.5 + 0.8);
  const std::vector<float> want_d = {0, 0.5f, -0.125f, 0, 0};
  double err = std::fabs(t.loss - want) + std::fabs(t.tokens - 4) + std::fabs(t.clipped - 2);
  for (int i = 0; i < 5; i++) err += std::fabs(dlp[i] - want_d[i]);
  if (corrupt) err += 1;
  std::printf("%s loss/policy_gradient_hand_values err=%.2e\n", err < 1e-5 ? "PASS" : "FAIL", err);
  if (err >= 1e-5) failures++;
  auto c = cpu::cross_entropy_loss(lp, w, dlp);
  const double ce_err = std::fabs(c.loss - 4 * 0.25 * std::log(2.0)) + std::fabs(dlp[0] + 0.25f) + std::fabs(dlp[4]) + (corrupt ? 1 : 0);
  std::printf("%s loss/cross_entropy_hand_values err=%.2e\n", ce_err < 1e-5 ? "PASS" : "FAIL", ce_err);
  if (ce_err >= 1e-5) failures++;
  Tensor logits({1, 2});  // [0, 0]: softmax ½ ½, so dlogits = dlp · [½, −½]
  std::vector<float> one = {2.0f};
  cpu::token_logprobs_backward(logits, {0}, one);
  const double b_err = std::fabs(logits.data[0] - 1.0f) + std::fabs(logits.data[1] + 1.0f) + (corrupt ? 1 : 0);
  std::printf("%s loss/logits_backward_hand_values err=%.2e\n", b_err < 1e-6 ? "PASS" : "FAIL", b_err);
  if (b_err >= 1e-6) failures++;
}

// The whole model: two packed sequences through a 2-layer GQA Qwen3, each weight checked.
static void model(bool tied) {
  nlohmann::json cfg = {{"vocab_size", 11}, {"hidden_size", 8}, {"intermediate_size", 12}, {"num_hidden_layers", 2},
                        {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 4}, {"rope_theta", 10000.0},
                        {"tie_word_embeddings", tied}};
  troupe::Qwen3 m(troupe::parse_config(cfg, "test"));
  m.init_random(7, 0.3f);
  troupe::Batch b{{1, 5, 2, 9, 3, 3, 0}, {3, 4}};
  Tensor r = randn({7, 11});
  auto loss = [&] { Tensor l = m.forward_train(b); return dot(l, r); };
  loss();
  Tensor dl = r;
  m.zero_grads();
  m.backward(b, dl);
  for (auto& [name, t] : m.params()) check(((tied ? "model_tied/" : "model/") + name).c_str(), t, m.grads().at(name), loss);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) corrupt = corrupt || std::strcmp(argv[i], "--corrupt") == 0;
  linear();
  rmsnorm();
  swiglu();
  embedding();
  rope();
  attention(5, 5, "");
  attention(2, 6, "_cached");
  attention(150, 150, "_blocks");        // several 64-row query blocks
  attention(70, 135, "_blocks_cached");  // blocks after a cache
  policy_loss();
  loss_values();
  model(true);
  model(false);
  return failures ? 1 : 0;
}
