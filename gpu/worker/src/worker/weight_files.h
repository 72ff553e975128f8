// Weights through a file instead of the stdout/stdin pipe. The caller (on the same machine,
// usually a tmpfs such as /dev/shm) gets or puts hundreds of MB with one write or read each
// side, where the 64 KiB pipe costs a hand-off between processes per 64 KiB (measured: a
// 116 MB get_weights spent ~250 ms in the pipe).
//
// A range is a run of elements of one tensor, {name, start, count}, so that a tensor bigger
// than a transfer bucket (an embedding table) can travel in several buckets and the stages of
// a transfer overlap.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor.h"

namespace troupe::worker {

// Writes the ranges' f32 values back to back into `path` (created or truncated) and returns
// where each lies: [{name, shape, start, count, offset, nbytes}]. No ranges: every tensor whole.
nlohmann::json write_weights_file(const std::string& path, std::map<std::string, Tensor>& params, const nlohmann::json& ranges);

// Reads the ranges described by `descs` (as write_weights_file returns them) from `path` into
// the tensors, all or nothing: every name, shape, range and value (finite) is checked before
// any weight changes. Returns the number of ranges.
size_t read_weights_file(const std::string& path, std::map<std::string, Tensor>& params, const nlohmann::json& descs);

}  // namespace troupe::worker
