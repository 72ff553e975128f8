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

}  // namespace

json write_weights_file(const std::string& path, std::map<std::string, Tensor>& params, const std::vector<std::string>& names) {
  Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (f.fd < 0) file_error("cannot create", path);
  json descs = json::array();
  size_t offset = 0;
  for (auto& [name, t] : params) {
    if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
    const auto* p = reinterpret_cast<const uint8_t*>(t.ptr());
    const size_t n = t.size() * sizeof(float);
    for (size_t done = 0; done < n;) {
      const ssize_t w = ::write(f.fd, p + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) file_error("cannot write", path);
      done += size_t(w);
    }
    descs.push_back({{"name", name}, {"shape", t.shape}, {"offset", offset}, {"nbytes", n}});
    offset += n;
  }
  return descs;
}

size_t read_weights_file(const std::string& path, std::map<std::string, Tensor>& params, const json& descs) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) file_error("cannot open", path);
  std::vector<std::pair<Tensor*, std::vector<float>>> staged;
  for (const auto& d : descs) {
    const std::string name = d.at("name").get<std::string>();
    auto it = params.find(name);
    if (it == params.end()) throw RequestError("bad_request", "set_weights: the model has no tensor " + name);
    if (d.at("shape").get<std::vector<int64_t>>() != it->second.shape) throw RequestError("bad_request", "set_weights: " + name + " has the wrong shape");
    std::vector<float> v(it->second.size());
    const size_t n = v.size() * sizeof(float), offset = d.at("offset").get<size_t>();
    if (d.at("nbytes").get<size_t>() != n) throw RequestError("bad_request", "set_weights: " + name + " has the wrong size");
    auto* p = reinterpret_cast<uint8_t*>(v.data());
    for (size_t done = 0; done < n;) {
      const ssize_t r = ::pread(f.fd, p + done, n - done, off_t(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) file_error("cannot read", path);
      if (r == 0) throw RequestError("bad_request", "set_weights: " + path + " ends inside " + name);
      done += size_t(r);
    }
    for (size_t i = 0; i < v.size(); i++) {
      if (!std::isfinite(v[i])) throw RequestError("bad_request", "set_weights: " + name + ": element " + std::to_string(i) + " is not a finite number");
    }
    staged.emplace_back(&it->second, std::move(v));
  }
  for (auto& [t, v] : staged) t->data = std::move(v);
  return staged.size();
}

}  // namespace troupe::worker
