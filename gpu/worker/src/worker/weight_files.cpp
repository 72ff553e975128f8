#include "worker/weight_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "worker/protocol.h"

namespace troupe::worker {
using nlohmann::json;

namespace {

// Closes the descriptor whatever happens.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void file_error(const std::string& what, const std::string& path) {
  throw RequestError("file", what + " " + path + ": " + std::strerror(errno));
}

struct Range {
  Tensor* t;
  std::string name;
  size_t start, count;
};

// The tensor and element run a {name, start?, count?} object names, checked against the model.
Range range_of(std::map<std::string, Tensor>& params, const json& r) {
  const std::string name = r.at("name").get<std::string>();
  auto it = params.find(name);
  if (it == params.end()) throw RequestError("bad_request", "weights: the model has no tensor " + name);
  const size_t size = it->second.size();
  const size_t start = r.value("start", size_t(0)), count = r.value("count", size - std::min(start, size));
  if (start > size || count > size - start) {
    throw RequestError("bad_request", "weights: " + name + " has " + std::to_string(size) + " elements, not [" + std::to_string(start) + ", " + std::to_string(start + count) + ")");
  }
  return {&it->second, name, start, count};
}

}  // namespace

json write_weights_file(const std::string& path, std::map<std::string, Tensor>& params, const json& ranges) {
  std::vector<Range> todo;
  if (ranges.empty()) {
    for (auto& [name, t] : params) todo.push_back({&t, name, 0, t.size()});
  } else {
    for (const auto& r : ranges) todo.push_back(range_of(params, r));
  }
  Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (f.fd < 0) file_error("cannot create", path);
  json descs = json::array();
  size_t offset = 0;
  for (const auto& r : todo) {
    const auto* p = reinterpret_cast<const uint8_t*>(r.t->ptr() + r.start);
    const size_t n = r.count * sizeof(float);
    for (size_t done = 0; done < n;) {
      const ssize_t w = ::write(f.fd, p + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) file_error("cannot write", path);
      done += size_t(w);
    }
    descs.push_back({{"name", r.name}, {"shape", r.t->shape}, {"start", r.start}, {"count", r.count}, {"offset", offset}, {"nbytes", n}});
    offset += n;
  }
  return descs;
}

size_t read_weights_file(const std::string& path, std::map<std::string, Tensor>& params, const json& descs) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) file_error("cannot open", path);
  std::vector<std::pair<Range, std::vector<float>>> staged;
  for (const auto& d : descs) {
    const Range r = range_of(params, d);
    if (d.at("shape").get<std::vector<int64_t>>() != r.t->shape) throw RequestError("bad_request", "weights: " + r.name + " has the wrong shape");
    if (d.at("nbytes").get<size_t>() != r.count * sizeof(float)) throw RequestError("bad_request", "weights: " + r.name + ": nbytes does not match count");
    std::vector<float> v(r.count);
    const size_t n = v.size() * sizeof(float), offset = d.at("offset").get<size_t>();
    auto* p = reinterpret_cast<uint8_t*>(v.data());
    for (size_t done = 0; done < n;) {
      const ssize_t got = ::pread(f.fd, p + done, n - done, off_t(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) file_error("cannot read", path);
      if (got == 0) throw RequestError("bad_request", "weights: " + path + " ends inside " + r.name);
      done += size_t(got);
    }
    for (size_t i = 0; i < v.size(); i++) {
      if (!std::isfinite(v[i])) throw RequestError("bad_request", "weights: " + r.name + ": element " + std::to_string(r.start + i) + " is not a finite number");
    }
    staged.emplace_back(r, std::move(v));
  }
  for (auto& [r, v] : staged) std::memcpy(r.t->ptr() + r.start, v.data(), v.size() * sizeof(float));
  return staged.size();
}

}  // namespace troupe::worker
