// The AdamW state of a ZeRO group (stage ≥ 1) in a checkpoint folder: each rank writes its own
// shard, and rank 0 an index once every shard is in place, beside the whole weights
// (model.safetensors, readable by anything) and trainer_state.json:
//   optimizer-rank-R-of-N.safetensors   rank R's flat shard of each unit: exp_avg.unit.U, exp_avg_sq.unit.U
//   optimizer-shards.json               {world, zero, units: [{names, shapes, offsets, numel, shard}]}
// Reading puts the whole moments back together by parameter name, so a group of any size
// (or one process) resumes from it: each rank then keeps the part its stage says.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tensor.h"

namespace troupe::worker {

std::string optimizer_shard_file(int rank, int world);
constexpr const char* kOptimizerShardIndex = "optimizer-shards.json";

// The whole moments by name ("exp_avg.NAME", "exp_avg_sq.NAME") from `dir`'s index and every
// shard it names; FileError naming what is missing or inconsistent.
std::map<std::string, Tensor> read_sharded_optimizer(const std::string& dir);

}  // namespace troupe::worker
