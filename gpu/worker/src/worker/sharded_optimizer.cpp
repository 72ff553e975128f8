#include "worker/sharded_optimizer.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/safetensors.h"

namespace troupe::worker {
namespace fs = std::filesystem;
using nlohmann::json;

std::string optimizer_shard_file(int rank, int world) {
  char name[64];
  std::snprintf(name, sizeof name, "optimizer-rank-%05d-of-%05d.safetensors", rank, world);
  return name;
}

std::map<std::string, Tensor> read_sharded_optimizer(const std::string& dir) {
  const fs::path index = fs::path(dir) / kOptimizerShardIndex;
  std::ifstream in(index);
  if (!in) throw FileError(index.string() + ": cannot open");
  json layout;
  try {
    layout = json::parse(in);
  } catch (const std::exception& e) {
    throw FileError(index.string() + ": not JSON (" + e.what() + ")");
  }
  const int world = layout.value("world", 0);
  if (world < 1) throw FileError(index.string() + ": world must be at least 1");
  std::vector<std::map<std::string, Tensor>> shards;
  for (int r = 0; r < world; r++) shards.push_back(read_safetensors((fs::path(dir) / optimizer_shard_file(r, world)).string()));
  std::map<std::string, Tensor> out;
  const auto& units = layout.at("units");
  for (size_t u = 0; u < units.size(); u++) {
    const int64_t shard = units[u].at("shard").get<int64_t>();
    for (const char* kind : {"exp_avg", "exp_avg_sq"}) {
      const std::string key = std::string(kind) + ".unit." + std::to_string(u);
      std::vector<float> whole;
      whole.reserve(size_t(shard) * world);
      for (int r = 0; r < world; r++) {
        auto it = shards[r].find(key);
        if (it == shards[r].end() || int64_t(it->second.size()) != shard) {
          throw FileError(dir + "/" + optimizer_shard_file(r, world) + ": " + key + " is missing or not " + std::to_string(shard) + " values");
        }
        whole.insert(whole.end(), it->second.data.begin(), it->second.data.end());
      }
      const auto& names = units[u].at("names");
      for (size_t i = 0; i < names.size(); i++) {
        Tensor t(units[u].at("shapes")[i].get<std::vector<int64_t>>());
        const int64_t at = units[u].at("offsets")[i].get<int64_t>();
        if (at + int64_t(t.size()) > int64_t(whole.size())) throw FileError(index.string() + ": unit " + std::to_string(u) + " is larger than its shards");
        std::memcpy(t.ptr(), whole.data() + at, sizeof(float) * t.size());
        out[std::string(kind) + "." + names[i].get<std::string>()] = std::move(t);
      }
    }
  }
  return out;
}

}  // namespace troupe::worker
