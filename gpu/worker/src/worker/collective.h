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

// What rank 0 listens with before the group forms, bound at once on a port the kernel picks, so
// the address handed to the other ranks can never be taken between being chosen and being
// bound: a TCP socket here, a c10d store for the torch backend.
class Listener {
 public:
  virtual ~Listener() = default;
  virtual const std::string& address() const = 0;  // host:actual-port
};

// The reference backend's listening socket. Closed unless handed to tcp_collective.
class TcpListener : public Listener {
 public:
  explicit TcpListener(const std::string& host_port);
  ~TcpListener() override;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  const std::string& address() const override { return address_; }
  int release();                                            // the socket, now the caller's

 private:
  int fd_ = -1;
  std::string address_;
};

// Star over TCP: rank 0 listens on addresses[0] ("host:port"), or on `listener` when given
// (bound earlier at addresses[0]), the others connect to it. Sums are added in rank order at
// rank 0 and sent back, so every rank holds identical bytes. Blocks until all `world` ranks
// have joined or `timeout_ms` passes.
std::unique_ptr<Collective> tcp_collective(int rank, int world, const std::vector<std::string>& addresses, int timeout_ms,
                                           std::unique_ptr<TcpListener> listener = nullptr);

}  // namespace troupe::worker
