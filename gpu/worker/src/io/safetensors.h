// Safetensors files (Hugging Face's format): 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}}, then the raw tensor bytes. Loads F32, BF16 and F16 into
// fp32; saves F32 or BF16. A checkpoint folder is config.json plus model.safetensors, or several
// shards listed by model.safetensors.index.json, as Hugging Face writes them.
#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor.h"

namespace troupe {

// A missing or unreadable file, or one that is not valid safetensors: says which and why.
struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::map<std::string, Tensor> read_safetensors(const std::string& path);

// Atomic: written to a temporary file beside `path`, fsynced, renamed over it, folder fsynced.
// A crash leaves the old file or the new one, never half of one.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors, const std::string& dtype = "F32",
                       const std::map<std::string, std::string>& metadata = {});

// Hugging Face's sharded layout in `dir`: model-0000K-of-0000N.safetensors, each at most
// `max_shard_bytes` (a larger tensor gets a file of its own), tensors in name order, and
// model.safetensors.index.json mapping every name to its file. Returns the file names.
std::vector<std::string> write_sharded_checkpoint(const std::string& dir, const std::map<std::string, Tensor>& tensors, const std::string& dtype,
                                                  uint64_t max_shard_bytes);

// Every tensor of a checkpoint folder (single file or sharded).
std::map<std::string, Tensor> read_checkpoint_tensors(const std::string& dir);

// Writes `text` to `path` atomically (same rule as above).
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace troupe
