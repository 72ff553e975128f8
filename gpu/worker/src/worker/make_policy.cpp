// The one place a backend is chosen.
#include "worker/policy.h"
#include "worker/protocol.h"
#ifdef TROUPE_WITH_TORCH
#include "torch/policy.h"
#include "torch/process_group.h"
#endif

namespace troupe::worker {

std::unique_ptr<Policy> make_reference_policy(ModelConfig cfg, std::map<std::string, Tensor> weights);

bool torch_available() {
#ifdef TROUPE_WITH_TORCH
  return true;
#else
  return false;
#endif
}

std::string torch_version() {
#ifdef TROUPE_WITH_TORCH
  return torchb::version();
#else
  return "";
#endif
}

void resolve_backend(BackendOptions& o) {
  if (o.backend == "reference") {
    if (o.device == "auto") o.device = "cpu";
    if (o.device != "cpu") throw RequestError("bad_request", "backend reference runs on the cpu only, not on device '" + o.device + "'");
    return;
  }
  if (o.backend != "torch") throw RequestError("bad_request", "unknown backend '" + o.backend + "': reference or torch");
#ifdef TROUPE_WITH_TORCH
  o.device = torchb::resolve_device(o.device);
#else
  throw RequestError("unsupported", "backend torch: this worker was built without libtorch (install libtorch-dev, or point CMake at a PyTorch, and rebuild)");
#endif
}

std::unique_ptr<Policy> make_policy(const BackendOptions& o, ModelConfig cfg, std::map<std::string, Tensor> weights) {
  if (o.backend == "reference") return make_reference_policy(std::move(cfg), std::move(weights));
#ifdef TROUPE_WITH_TORCH
  if (o.backend == "torch") return torchb::make_torch_policy(o, std::move(cfg), std::move(weights));
#endif
  BackendOptions checked = o;
  resolve_backend(checked);  // throws, saying what this build lacks or what is unknown
  throw RequestError("internal", "backend " + o.backend + ": no policy");
}

std::unique_ptr<Listener> listen_for_group(const BackendOptions& o, const std::string& host_port) {
#ifdef TROUPE_WITH_TORCH
  if (o.backend == "torch") return std::make_unique<torchb::StoreServer>(host_port.substr(0, host_port.rfind(':')));
#endif
  return std::make_unique<TcpListener>(host_port);
}

std::unique_ptr<Collective> form_group(const BackendOptions& o, int rank, int world, const std::vector<std::string>& addresses, const std::string& host,
                                       int timeout_ms, std::unique_ptr<Listener> listener) {
  if (addresses.empty()) throw RequestError("bad_request", "collective_init: addresses[0] (rank 0's host:port) is required");
#ifdef TROUPE_WITH_TORCH
  if (o.backend == "torch") {
    std::unique_ptr<torchb::StoreServer> server(dynamic_cast<torchb::StoreServer*>(listener.release()));
    return std::make_unique<torchb::ProcessGroup>(rank, world, addresses[0], host, o.device, timeout_ms, std::move(server));
  }
#endif
  std::unique_ptr<TcpListener> tcp(dynamic_cast<TcpListener*>(listener.release()));
  return tcp_collective(rank, world, addresses, timeout_ms, std::move(tcp));
}

}  // namespace troupe::worker
