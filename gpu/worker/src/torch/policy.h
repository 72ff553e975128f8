// The torch backend as a worker Policy (worker/policy.h): the Model of model.h with fp32
// master weights, chunked log-probs, the DEEPSWE losses, AdamW and generation, on CPU or CUDA.
#pragma once
#include <memory>
#include <string>

#include "worker/policy.h"

namespace troupe::torchb {

std::unique_ptr<worker::Policy> make_torch_policy(const worker::BackendOptions& o, ModelConfig cfg, std::map<std::string, Tensor> weights);

// "cpu", or "cuda" when asked for (or "auto") and a CUDA device is visible; throws
// RequestError("unsupported") for "cuda" where none is.
std::string resolve_device(const std::string& asked);

// The libtorch this worker was built with, e.g. "1.13.0".
std::string version();

}  // namespace troupe::torchb
