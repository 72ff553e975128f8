// The worker's framed binary protocol over stdin/stdout. One frame:
//   u32 little-endian header length · header (msgpack map) · tensor bytes
// The header names its tensors in order, {"name", "dtype": "f32"|"i32", "shape"}; their raw
// little-endian bytes follow back to back, so tensors cost no per-element encoding.
// Requests: {"id", "op", "args", "tensors"}. Replies: {"id", "ok": true, "result", "tensors"}
// or {"id", "ok": false, "error": {"code", "message"}}. A request that asks to stream (generate
// with args.stream) also gets partial replies before its reply: {"id", "ok": true, "partial"}.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace troupe::worker {

// A bad request: the reply says so and the worker carries on.
struct RequestError : std::runtime_error {
  std::string code;
  RequestError(std::string c, const std::string& m) : std::runtime_error(m), code(std::move(c)) {}
};

struct WireTensor {
  std::string dtype;  // "f32" or "i32"
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  size_t count() const;
  std::vector<float> f32(const std::string& what) const;    // checks dtype, and that every value is finite
  std::vector<int32_t> i32(const std::string& what) const;  // checks dtype
  static WireTensor from(const std::vector<float>& v, std::vector<int64_t> shape);
  static WireTensor from(const std::vector<int32_t>& v, std::vector<int64_t> shape);
};

struct Frame {
  nlohmann::json header;
  std::map<std::string, WireTensor> tensors;
  const WireTensor& tensor(const std::string& name) const;  // RequestError if absent
};

// False on a clean end of input; throws on a torn frame.
bool read_frame(int fd, Frame& f);
void write_frame(int fd, const nlohmann::json& header, const std::vector<std::pair<std::string, WireTensor>>& tensors);

}  // namespace troupe::worker
