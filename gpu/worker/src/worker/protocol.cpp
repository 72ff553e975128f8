#include "worker/protocol.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace troupe::worker {

static size_t width(const std::string& dtype) {
  if (dtype == "f32" || dtype == "i32") return 4;
  throw RequestError("bad_request", "tensor dtype '" + dtype + "': f32 or i32 expected");
}

size_t WireTensor::count() const {
  size_t n = 1;
  for (auto d : shape) n *= size_t(d);
  return n;
}

std::vector<float> WireTensor::f32(const std::string& what) const {
  if (dtype != "f32") throw RequestError("bad_request", what + ": f32 expected, got " + dtype);
  std::vector<float> v(count());
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  for (size_t i = 0; i < v.size(); i++) {
    if (!std::isfinite(v[i])) throw RequestError("bad_request", what + ": element " + std::to_string(i) + " is not a finite number");
  }
  return v;
}

std::vector<int32_t> WireTensor::i32(const std::string& what) const {
  if (dtype != "i32") throw RequestError("bad_request", what + ": i32 expected, got " + dtype);
  std::vector<int32_t> v(count());
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

template <class T>
static WireTensor make(const char* dtype, const std::vector<T>& v, std::vector<int64_t> shape) {
  WireTensor t{dtype, std::move(shape), {}};
  t.bytes.resize(v.size() * sizeof(T));
  std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}
WireTensor WireTensor::from(const std::vector<float>& v, std::vector<int64_t> shape) { return make("f32", v, std::move(shape)); }
WireTensor WireTensor::from(const std::vector<int32_t>& v, std::vector<int64_t> shape) { return make("i32", v, std::move(shape)); }

const WireTensor& Frame::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw RequestError("bad_request", "tensor '" + name + "' is missing from the request");
  return it->second;
}

// Reads exactly n bytes; false if the input ended before the first byte.
static bool read_all(int fd, void* buf, size_t n, bool first) {
  auto* p = static_cast<uint8_t*>(buf);
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (got == 0 && first) return false;
      throw std::runtime_error("input ended inside a frame");
    }
    got += size_t(r);
  }
  return true;
}

static void write_all(int fd, const void* buf, size_t n) {
  const auto* p = static_cast<const uint8_t*>(buf);
  while (n) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error(std::string("cannot write a reply: ") + std::strerror(errno));
    p += w;
    n -= size_t(w);
  }
}

bool read_frame(int fd, Frame& f) {
  uint32_t hlen = 0;
  if (!read_all(fd, &hlen, 4, true)) return false;
  std::vector<uint8_t> h(hlen);
  read_all(fd, h.data(), hlen, false);
  f.header = nlohmann::json::from_msgpack(h);
  f.tensors.clear();
  // The bytes are read even when a tensor description is bad, so the stream stays in step.
  std::string bad;
  if (f.header.contains("tensors")) {
    for (const auto& d : f.header["tensors"]) {
      WireTensor t;
      t.dtype = d.value("dtype", "");
      t.shape = d.value("shape", std::vector<int64_t>{});
      const uint64_t nbytes = d.value("nbytes", uint64_t(0));
      t.bytes.resize(nbytes);
      read_all(fd, t.bytes.data(), nbytes, false);
      try {
        if (t.count() * width(t.dtype) != nbytes) bad = "tensor '" + d.value("name", "") + "': shape and byte count disagree";
      } catch (const RequestError& e) {
        bad = e.what();
      }
      f.tensors[d.value("name", "")] = std::move(t);
    }
  }
  if (!bad.empty()) throw RequestError("bad_request", bad);
  return true;
}

void write_frame(int fd, const nlohmann::json& header, const std::vector<std::pair<std::string, WireTensor>>& tensors) {
  nlohmann::json h = header;
  h["tensors"] = nlohmann::json::array();
  for (const auto& [name, t] : tensors) h["tensors"].push_back({{"name", name}, {"dtype", t.dtype}, {"shape", t.shape}, {"nbytes", t.bytes.size()}});
  const std::vector<uint8_t> packed = nlohmann::json::to_msgpack(h);
  const uint32_t hlen = packed.size();
  write_all(fd, &hlen, 4);
  write_all(fd, packed.data(), packed.size());
  for (const auto& [_, t] : tensors) write_all(fd, t.bytes.data(), t.bytes.size());
}

}  // namespace troupe::worker
