#include "worker/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

namespace troupe::worker {

// splitmix64: decorrelates the per-sequence seeds (seed, 0), (seed, 1), …
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Picks the next token from one row of logits; returns it with its log-prob.
static std::pair<int32_t, float> sample(const float* logits, int64_t v, const GenParams& p, std::mt19937_64& rng) {
  const double t = p.temperature > 0 ? p.temperature : 1.0;
  double mx = logits[0];
  for (int64_t j = 1; j < v; j++) mx = std::max(mx, double(logits[j]));
  std::vector<double> prob(v);
  double sum = 0;
  for (int64_t j = 0; j < v; j++) sum += (prob[j] = std::exp((logits[j] - mx) / t));
  for (auto& x : prob) x /= sum;
  auto logprob = [&](int32_t tok) { return float((logits[tok] - mx) / t - std::log(sum)); };
  if (p.temperature <= 0) {
    const int32_t best = int32_t(std::max_element(logits, logits + v) - logits);
    return {best, logprob(best)};
  }
  std::uniform_real_distribution<double> u(0.0, 1.0);
  if (p.top_k <= 0 && p.top_p >= 1.0f) {
    double r = u(rng), acc = 0;
    for (int64_t j = 0; j < v; j++) {
      acc += prob[j];
      if (r < acc) return {int32_t(j), logprob(int32_t(j))};
    }
    return {int32_t(v - 1), logprob(int32_t(v - 1))};
  }
  // Truncated: the most likely tokens, at most top_k of them, until their mass reaches top_p.
  std::vector<int32_t> order(v);
  std::iota(order.begin(), order.end(), 0);
  const int64_t k = p.top_k > 0 ? std::min(p.top_k, v) : v;
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) { return prob[a] > prob[b] || (prob[a] == prob[b] && a < b); });
  int64_t keep = 0;
  double mass = 0;
  while (keep < k && (keep == 0 || mass < p.top_p)) mass += prob[order[keep++]];
  double r = u(rng) * mass, acc = 0;
  for (int64_t i = 0; i < keep; i++) {
    acc += prob[order[i]];
    if (r < acc) return {order[i], logprob(order[i])};
  }
  return {order[keep - 1], logprob(order[keep - 1])};
}

GenOutput generate(Decoder& d, int64_t v, int64_t context, const std::vector<std::vector<int32_t>>& prompts, const GenParams& p) {
  const size_t b = prompts.size();
  GenOutput out;
  out.tokens.resize(b);
  out.logprobs.resize(b);
  out.finish.assign(b, "length");
  std::vector<std::mt19937_64> rngs;
  for (size_t i = 0; i < b; i++) rngs.emplace_back(mix(p.seed ^ mix(i + 1)));
  std::vector<float> last(b * v);  // each live sequence's latest logits
  // A sequence ends at the model's context length (finish "length") whatever max_tokens says;
  // this also bounds the KV cache a request can make the worker allocate.
  std::vector<int64_t> budget(b), capacity(b);
  for (size_t i = 0; i < b; i++) {
    if (prompts[i].empty()) throw std::invalid_argument("prompt " + std::to_string(i) + " is empty");
    if (int64_t(prompts[i].size()) >= context) {
      throw std::invalid_argument("prompt " + std::to_string(i) + " has " + std::to_string(prompts[i].size()) + " tokens; the model's context is " + std::to_string(context));
    }
    budget[i] = std::min(p.max_tokens, context - int64_t(prompts[i].size()));
    capacity[i] = int64_t(prompts[i].size()) + budget[i];
  }
  if (p.use_cache && b > 0) d.prefill(prompts, capacity, last.data());
  std::vector<size_t> live(b);
  std::iota(live.begin(), live.end(), 0);
  std::vector<float> fed;
  for (int64_t step = 0; step < p.max_tokens && !live.empty(); step++) {
    if (!p.use_cache) {
      for (size_t i : live) {
        std::vector<int32_t> seq = prompts[i];
        seq.insert(seq.end(), out.tokens[i].begin(), out.tokens[i].end());
        d.recompute(seq, last.data() + i * v);
      }
    }
    std::vector<size_t> next_live;
    std::vector<int32_t> feed, sampled;
    for (size_t i : live) {
      auto [tok, lp] = sample(last.data() + i * v, v, p, rngs[i]);
      out.tokens[i].push_back(tok);
      out.logprobs[i].push_back(lp);
      sampled.push_back(tok);
      if (std::find(p.stop.begin(), p.stop.end(), tok) != p.stop.end()) {
        out.finish[i] = "stop";
        continue;
      }
      if (step + 1 < budget[i]) {
        next_live.push_back(i);
        feed.push_back(tok);
      }
    }
    if (p.on_tokens) p.on_tokens(live, sampled);
    live = std::move(next_live);
    if (p.use_cache && !live.empty()) {
      fed.resize(live.size() * v);
      d.decode(live, feed, fed.data());
      for (size_t r = 0; r < live.size(); r++) std::copy(fed.data() + r * v, fed.data() + (r + 1) * v, last.data() + live[r] * v);
    }
  }
  return out;
}

}  // namespace troupe::worker
