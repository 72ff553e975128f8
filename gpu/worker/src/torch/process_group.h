// The learners' process group on PyTorch's c10d: Gloo between CPU workers, NCCL between GPU
// workers (when this libtorch has it), the same calls either way. Rank 0's worker runs the
// rendezvous store (a c10d TCPStore on a port the kernel picks); its address travels to the
// other ranks over the runtime, as the reference backend's TCP address does.
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "worker/collective.h"

namespace troupe::torchb {

// Rank 0's store, bound before the group forms, so its address can be handed out.
class StoreServer : public worker::Listener {
 public:
  explicit StoreServer(const std::string& host);
  ~StoreServer() override;
  const std::string& address() const override { return address_; }  // host:port
  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
  std::string address_;
};

class ProcessGroup : public worker::Collective {
 public:
  // Joins the group whose store is at `address` (rank 0 passes its StoreServer) within
  // `timeout_ms`; `host` is the address this rank's transport listens on (one the others can
  // reach); `device` cpu or cuda.
  ProcessGroup(int rank, int world, const std::string& address, const std::string& host, const std::string& device, int timeout_ms,
               std::unique_ptr<StoreServer> server);
  ~ProcessGroup() override;

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string transport() const { return transport_; }  // "gloo" or "nccl"

  // worker::Collective, on host buffers (the reference backend's weights, the broadcast op).
  void all_reduce_sum(float* data, size_t n) override;
  void broadcast(float* data, size_t n, int root) override;

  // On device tensors (contiguous). Every rank calls each in the same order.
  void all_reduce_sum(at::Tensor& t);
  double all_reduce_sum(double x);
  void broadcast(at::Tensor& t, int root);
  // full [world · shard] summed across ranks; this rank's shard of the sum into `shard` (added
  // to what it holds when `accumulate`). `full` is scratch afterwards.
  void reduce_scatter(at::Tensor& full, at::Tensor& shard, bool accumulate);
  // Every rank's shard, in rank order, into full [world · shard].
  void all_gather(const at::Tensor& shard, at::Tensor& full);

 private:
  template <class F>
  void run(const char* op, F&& f);

  int rank_, world_;
  std::string transport_;
  std::unique_ptr<StoreServer> server_;
  struct Impl;  // the c10d objects (their class names differ between libtorch 1.x and 2.x)
  std::unique_ptr<Impl> impl_;
};

}  // namespace troupe::torchb
