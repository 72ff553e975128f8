// Collectives between workers: sum all-reduce (gradients) and broadcast (weights). This is the
// interface an NCCL backend implements on GPUs; here it runs over TCP among N processes.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace troupe::worker {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  // Every rank ends with the same sum, bit for bit.
  virtual void all_reduce_sum(float* data, size_t n) = 0;
  virtual void broadcast(float* data, size_t n, int root) = 0;
};

// Star over TCP: rank 0 listens on addresses[0] ("host:port"), the others connect to it. Sums
// are added in rank order at rank 0 and sent back, so every rank holds identical bytes.
// Blocks until all `world` ranks have joined or `timeout_ms` passes.
std::unique_ptr<Collective> tcp_collective(int rank, int world, const std::vector<std::string>& addresses, int timeout_ms);

}  // namespace troupe::worker
