// The one place a backend is chosen.
#include "worker/policy.h"
#include "worker/protocol.h"
#ifdef TROUPE_WITH_TORCH
#include "torch/policy.h"
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

}  // namespace troupe::worker
