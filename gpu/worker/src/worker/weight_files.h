// Weights through a file instead of the stdout/stdin pipe. The caller (on the same machine,
// usually a tmpfs such as /dev/shm) gets or puts hundreds of MB with one write or read each
// side, where the 64 KiB pipe costs a hand-off between processes per 64 KiB (measured: a
// 116 MB get_weights spent ~250 ms in the pipe).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor.h"

namespace troupe::worker {

// Writes the named tensors' f32 bytes back to back into `path` (created or truncated) and
// returns their descriptors: [{name, shape, offset, nbytes}] in file order.
nlohmann::json write_weights_file(const std::string& path, std::map<std::string, Tensor>& params, const std::vector<std::string>& names);

// Reads the tensors described in `descs` from `path` and installs them, all or nothing: every
// name, shape, size and value (finite) is checked before any weight changes. Returns the count.
size_t read_weights_file(const std::string& path, std::map<std::string, Tensor>& params, const nlohmann::json& descs);

}  // namespace troupe::worker
