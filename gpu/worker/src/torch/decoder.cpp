#include "torch/decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace troupe::torchb {

at::Tensor token_tensor(const std::vector<int32_t>& tokens, at::Device device) {
  return at::from_blob(const_cast<int32_t*>(tokens.data()), {int64_t(tokens.size())}, at::kInt).to(device, at::kLong);
}

// A copy, never a view of `v`: the caller changes `v` afterwards.
static at::Tensor long_tensor(const std::vector<int64_t>& v, at::Device device) {
  return at::from_blob(const_cast<int64_t*>(v.data()), {int64_t(v.size())}, at::kLong).to(device, at::kLong, false, true);
}

void TorchDecoder::logits_to_host(const at::Tensor& hidden_rows, float* out) {
  const at::Tensor logits = at::matmul(hidden_rows, m_.head_weight().t()).to(at::kFloat).contiguous().to(at::kCPU);
  std::memcpy(out, logits.data_ptr<float>(), sizeof(float) * logits.numel());
}

void TorchDecoder::prefill(const std::vector<std::vector<int32_t>>& prompts, const std::vector<int64_t>& capacity, float* out) {
  const ModelConfig& c = m_.config();
  const int64_t b = int64_t(prompts.size());
  // One slot more than the longest sequence: a finished sequence keeps writing its next slot.
  const int64_t cap = *std::max_element(capacity.begin(), capacity.end()) + 1;
  const auto opts = at::TensorOptions().dtype(m_.dtype()).device(m_.device());
  k_.assign(c.num_hidden_layers, at::Tensor());
  v_.assign(c.num_hidden_layers, at::Tensor());
  for (int64_t l = 0; l < c.num_hidden_layers; l++) {
    k_[l] = at::zeros({b, cap, c.num_key_value_heads, c.head_dim}, opts);
    v_[l] = at::zeros({b, cap, c.num_key_value_heads, c.head_dim}, opts);
  }
  std::vector<int32_t> packed;
  std::vector<int64_t> lengths, last;
  for (const auto& p : prompts) {
    packed.insert(packed.end(), p.begin(), p.end());
    lengths.push_back(int64_t(p.size()));
    last.push_back(int64_t(packed.size()) - 1);
  }
  length_ = lengths;
  const at::Tensor h = m_.hidden(token_tensor(packed, m_.device()), lengths, [&](int64_t l, const at::Tensor& k, const at::Tensor& v) {
    int64_t at_ = 0;
    for (int64_t s = 0; s < b; s++) {
      k_[l][s].narrow(0, 0, lengths[s]).copy_(k.narrow(0, at_, lengths[s]));
      v_[l][s].narrow(0, 0, lengths[s]).copy_(v.narrow(0, at_, lengths[s]));
      at_ += lengths[s];
    }
  });
  const at::Tensor idx = long_tensor(last, m_.device());
  logits_to_host(h.index_select(0, idx), out);
}

void TorchDecoder::decode(const std::vector<size_t>& rows, const std::vector<int32_t>& tokens, float* out) {
  const ModelConfig& c = m_.config();
  const int64_t b = int64_t(length_.size()), hq = c.num_attention_heads, hkv = c.num_key_value_heads, hd = c.head_dim;
  std::vector<int32_t> feed(b, 0);
  for (size_t r = 0; r < rows.size(); r++) feed[rows[r]] = tokens[r];
  const at::Tensor pos = long_tensor(length_, m_.device());
  const int64_t span = *std::max_element(length_.begin(), length_.end()) + 1;
  const at::Tensor seq = at::arange(b, pos.options());
  const at::Tensor future = at::arange(span, pos.options()).unsqueeze(0) > pos.unsqueeze(1);  // [b, span]
  const double scale = 1.0 / std::sqrt(double(hd));
  const Attend attend = [&](int64_t l, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    k_[l].index_put_({seq, pos}, k);
    v_[l].index_put_({seq, pos}, v);
    const at::Tensor keys = k_[l].narrow(1, 0, span).permute({0, 2, 3, 1});    // [b, kv, hd, span]
    const at::Tensor values = v_[l].narrow(1, 0, span).permute({0, 2, 1, 3});  // [b, kv, span, hd]
    const at::Tensor qg = q.view({b, hkv, hq / hkv, hd});
    const at::Tensor scores = (at::matmul(qg, keys).to(at::kFloat) * scale).masked_fill(future.view({b, 1, 1, span}), -INFINITY);
    return at::matmul(scores.softmax(-1).to(q.scalar_type()), values).reshape({b, hq * hd});
  };
  const at::Tensor h = m_.hidden_with(token_tensor(feed, m_.device()), pos, attend);
  std::vector<int64_t> live(rows.begin(), rows.end());
  for (size_t r : rows) length_[r]++;
  logits_to_host(h.index_select(0, long_tensor(live, m_.device())), out);
}

void TorchDecoder::recompute(const std::vector<int32_t>& seq, float* out) {
  const at::Tensor h = m_.hidden(token_tensor(seq, m_.device()), {int64_t(seq.size())});
  logits_to_host(h.narrow(0, h.size(0) - 1, 1), out);
}

}  // namespace troupe::torchb
