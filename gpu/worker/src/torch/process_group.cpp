#include "torch/process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "worker/protocol.h"

namespace troupe::torchb {
using worker::RequestError;

namespace {

// c10d's collectives live on ProcessGroup in libtorch 1.x and on Backend from 2.0 on; the
// calls are the same.
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif

std::pair<std::string, uint16_t> split_address(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) throw RequestError("bad_request", "collective address '" + address + "': host:port expected");
  return {address.substr(0, colon), uint16_t(std::stoi(address.substr(colon + 1)))};
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

struct StoreServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

StoreServer::StoreServer(const std::string& host) : impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions o;
  o.port = 0;  // the kernel's choice, read back below: no port is chosen first and bound later
  o.isServer = true;
  o.waitWorkers = false;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(host, o);
  } catch (const std::exception& e) {
    throw RequestError("collective", "collective: cannot listen on " + host + ": " + first_line(e.what()));
  }
  address_ = host + ":" + std::to_string(impl_->store->getPort());
}

StoreServer::~StoreServer() = default;

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Backend> pg;
};

ProcessGroup::ProcessGroup(int rank, int world, const std::string& address, const std::string& host, const std::string& device, int timeout_ms,
                           std::unique_ptr<StoreServer> server)
    : rank_(rank), world_(world), server_(std::move(server)), impl_(std::make_unique<Impl>()) {
  if (world < 1 || rank < 0 || rank >= world) throw RequestError("bad_request", "collective: rank " + std::to_string(rank) + " of " + std::to_string(world));
  // timeout_ms bounds the rendezvous. A collective may wait far longer for a rank still busy
  // with a bigger share (a long log-prob pass): PyTorch's default of 30 minutes. A rank that
  // dies is noticed at once anyway, by its closed connections.
  const auto timeout = std::chrono::milliseconds(timeout_ms);
  const auto op_timeout = std::chrono::milliseconds(30 * 60 * 1000);
  try {
    if (server_) {
      impl_->store = server_->impl().store;
    } else {
      const auto [h, port] = split_address(address);
      c10d::TCPStoreOptions o;
      o.port = port;
      o.isServer = false;
      o.waitWorkers = false;
      o.timeout = timeout;
      impl_->store = c10::make_intrusive<c10d::TCPStore>(h, o);
    }
    impl_->store->setTimeout(timeout);
    // A fresh prefix per group formed on this store, so a group formed again does not read
    // an earlier one's keys.
    auto store = c10::make_intrusive<c10d::PrefixStore>("troupe", impl_->store);
    if (device == "cuda") {
#ifdef USE_C10D_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = op_timeout;
      impl_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, opts);
      transport_ = "nccl";
#else
      throw RequestError("unsupported", "collective: this worker's libtorch has no NCCL (build against a CUDA PyTorch)");
#endif
    } else {
      auto opts = c10d::ProcessGroupGloo::Options::create(op_timeout);
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
      impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, opts);
      transport_ = "gloo";
    }
  } catch (const RequestError&) {
    throw;
  } catch (const std::exception& e) {
    throw RequestError("collective", "collective: rank " + std::to_string(rank) + " of " + std::to_string(world) + " could not join the group at " + address + ": " +
                                         first_line(e.what()));
  }
}

ProcessGroup::~ProcessGroup() = default;

// A failed collective (a peer gone, a timeout) becomes one coded error; the group is unusable
// afterwards, and the worker says so.
template <class F>
void ProcessGroup::run(const char* op, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    throw RequestError("collective", std::string("collective ") + op + " failed on rank " + std::to_string(rank_) + " of " + std::to_string(world_) +
                                         ": " + first_line(e.what()));
  }
}

void ProcessGroup::all_reduce_sum(at::Tensor& t) {
  run("all_reduce", [&] {
    std::vector<at::Tensor> v{t};
    impl_->pg->allreduce(v)->wait();
  });
}

double ProcessGroup::all_reduce_sum(double x) {
  at::Tensor t = at::full({1}, x, at::TensorOptions().dtype(at::kDouble).device(transport_ == "nccl" ? at::kCUDA : at::kCPU));
  all_reduce_sum(t);
  return t.item<double>();
}

void ProcessGroup::broadcast(at::Tensor& t, int root) {
  run("broadcast", [&] {
    std::vector<at::Tensor> v{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    impl_->pg->broadcast(v, o)->wait();
  });
}

void ProcessGroup::reduce_scatter(at::Tensor& full, at::Tensor& shard, bool accumulate) {
  const int64_t n = shard.numel();
  run("reduce_scatter", [&] {
    if (transport_ == "nccl") {
      at::Tensor out = accumulate ? at::empty_like(shard) : shard;
      impl_->pg->_reduce_scatter_base(out, full)->wait();
      if (accumulate) shard.add_(out);
      return;
    }
    // Gloo has no reduce-scatter in every libtorch: one reduce per rank, each to the rank
    // owning that shard. The same bytes move; only the owner's copy of a shard is the sum.
    for (int r = 0; r < world_; r++) {
      std::vector<at::Tensor> v{full.narrow(0, r * n, n)};
      c10d::ReduceOptions o;
      o.rootRank = r;
      impl_->pg->reduce(v, o)->wait();
    }
    const at::Tensor mine = full.narrow(0, rank_ * n, n);
    if (accumulate) shard.add_(mine);
    else shard.copy_(mine);
  });
}

void ProcessGroup::all_gather(const at::Tensor& shard, at::Tensor& full) {
  const int64_t n = shard.numel();
  run("all_gather", [&] {
    if (transport_ == "nccl") {
      impl_->pg->_allgather_base(full, const_cast<at::Tensor&>(shard))->wait();
      return;
    }
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < world_; r++) out[0].push_back(full.narrow(0, r * n, n));
    std::vector<at::Tensor> in{shard};
    impl_->pg->allgather(out, in)->wait();
  });
}

void ProcessGroup::all_reduce_sum(float* data, size_t n) {
  at::Tensor t = at::from_blob(data, {int64_t(n)}, at::kFloat);
  if (transport_ == "nccl") {
    at::Tensor d = t.to(at::kCUDA);
    all_reduce_sum(d);
    t.copy_(d);
  } else {
    all_reduce_sum(t);
  }
}

void ProcessGroup::broadcast(float* data, size_t n, int root) {
  at::Tensor t = at::from_blob(data, {int64_t(n)}, at::kFloat);
  if (transport_ == "nccl") {
    at::Tensor d = t.to(at::kCUDA);
    broadcast(d, root);
    t.copy_(d);
  } else {
    broadcast(t, root);
  }
}

}  // namespace troupe::torchb
