#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "worker/collective.h"

namespace troupe::worker {

static void send_all(int fd, const void* buf, size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error(std::string("collective: a peer went away (send: ") + std::strerror(errno) + ")");
    p += w;
    n -= size_t(w);
  }
}

static void recv_all(int fd, void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw std::runtime_error("collective: a peer went away (recv)");
    p += r;
    n -= size_t(r);
  }
}

static sockaddr_in resolve(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("collective address '" + address + "': host:port expected");
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(address.substr(0, colon).c_str(), address.substr(colon + 1).c_str(), &hints, &res) != 0 || !res) {
    throw std::invalid_argument("collective address '" + address + "' does not resolve");
  }
  sockaddr_in a;
  std::memcpy(&a, res->ai_addr, sizeof a);
  freeaddrinfo(res);
  return a;
}

/** A socket listening on `addr`; throws naming `what` when it cannot. */
static int listen_on(const sockaddr_in& addr, int backlog, const std::string& what) {
  const int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(ls, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(ls, backlog) != 0) {
    const std::string why = std::strerror(errno);
    ::close(ls);
    throw std::runtime_error("collective: cannot listen on " + what + " (" + why + ")");
  }
  return ls;
}

TcpListener::TcpListener(const std::string& host_port) {
  fd_ = listen_on(resolve(host_port), 64, host_port);
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  address_ = host_port.substr(0, host_port.rfind(':')) + ":" + std::to_string(ntohs(bound.sin_port));
}

TcpListener::~TcpListener() {
  if (fd_ >= 0) ::close(fd_);
}

int TcpListener::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

class TcpCollective : public Collective {
 public:
  TcpCollective(int rank, int world) : rank_(rank), world_(world), peers_(world, -1) {}
  ~TcpCollective() override {
    for (int fd : peers_)
      if (fd >= 0) ::close(fd);
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }

  void join(const std::string& root_address, int timeout_ms, std::unique_ptr<TcpListener> listener) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    const sockaddr_in addr = resolve(root_address);
    if (rank_ == 0) {
      const int ls = listener ? listener->release() : listen_on(addr, world_, root_address);
      const int one = 1;
      for (int joined = 1; joined < world_;) {
        const int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
        pollfd pf{ls, POLLIN, 0};
        if (left <= 0 || ::poll(&pf, 1, left) <= 0) {
          ::close(ls);
          throw std::runtime_error("collective: only " + std::to_string(joined) + " of " + std::to_string(world_) + " ranks joined in time");
        }
        const int fd = ::accept(ls, nullptr, nullptr);
        if (fd < 0) continue;
        int32_t r = -1;
        recv_all(fd, &r, 4);
        if (r <= 0 || r >= world_ || peers_[r] >= 0) {
          ::close(fd);
          continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        peers_[r] = fd;
        joined++;
      }
      ::close(ls);
    } else {
      for (;;) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
          const int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          const int32_t r = rank_;
          send_all(fd, &r, 4);
          peers_[0] = fd;
          return;
        }
        ::close(fd);
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("collective: cannot reach rank 0 at " + root_address);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  void all_reduce_sum(float* data, size_t n) override {
    if (rank_ != 0) {
      send_all(peers_[0], data, n * 4);
      recv_all(peers_[0], data, n * 4);
      return;
    }
    std::vector<float> tmp(n);
    for (int r = 1; r < world_; r++) {
      recv_all(peers_[r], tmp.data(), n * 4);
      for (size_t i = 0; i < n; i++) data[i] += tmp[i];
    }
    for (int r = 1; r < world_; r++) send_all(peers_[r], data, n * 4);
  }

  void broadcast(float* data, size_t n, int root) override {
    if (root < 0 || root >= world_) throw std::invalid_argument("broadcast root " + std::to_string(root) + " is not a rank");
    if (rank_ == 0) {
      if (root != 0) recv_all(peers_[root], data, n * 4);
      for (int r = 1; r < world_; r++)
        if (r != root) send_all(peers_[r], data, n * 4);
    } else if (rank_ == root) {
      send_all(peers_[0], data, n * 4);
    } else {
      recv_all(peers_[0], data, n * 4);
    }
  }

 private:
  int rank_, world_;
  std::vector<int> peers_;
};

std::unique_ptr<Collective> tcp_collective(int rank, int world, const std::vector<std::string>& addresses, int timeout_ms,
                                           std::unique_ptr<TcpListener> listener) {
  if (world < 1 || rank < 0 || rank >= world) throw std::invalid_argument("collective: rank " + std::to_string(rank) + " of world " + std::to_string(world));
  if (addresses.empty()) throw std::invalid_argument("collective: the rendezvous needs rank 0's address");
  auto c = std::make_unique<TcpCollective>(rank, world);
  if (world > 1) c->join(addresses[0], timeout_ms, rank == 0 ? std::move(listener) : nullptr);
  return c;
}

}  // namespace troupe::worker
