// The worker's operations, one method per protocol op (see protocol.h for the framing and
// gpu/worker.ts for the typed client). State: the policy (model and optimizer on the backend
// chosen at start) and the collective group.
#pragma once
#include <memory>

#include "worker/collective.h"
#include "worker/policy.h"
#include "worker/protocol.h"

namespace troupe::worker {

struct Reply {
  nlohmann::json result = nlohmann::json::object();
  std::vector<std::pair<std::string, WireTensor>> tensors;
};

class Worker {
 public:
  explicit Worker(BackendOptions o) : backend_(std::move(o)) {}
  // Runs one request; throws RequestError (and the library's errors) for the caller to report.
  Reply handle(const Frame& req);
  bool shutting_down() const { return shutdown_; }

 private:
  Policy& model();
  Reply info();
  Reply init(const nlohmann::json& a);
  Reply load(const nlohmann::json& a);
  Reply save(const nlohmann::json& a);
  Reply export_hf(const nlohmann::json& a);
  Reply generate(const Frame& req);
  Reply logprobs(const Frame& req);
  Reply accumulate(const Frame& req);
  Reply step(const nlohmann::json& a);
  Reply get_weights(const nlohmann::json& a);
  Reply set_weights(const Frame& req);
  Reply get_gradients();
  Reply collective_listen(const nlohmann::json& a);
  Reply collective_init(const nlohmann::json& a);
  Reply broadcast(const nlohmann::json& a);
  Reply agree(const nlohmann::json& a);
  Reply bench_matmul(const nlohmann::json& a);
  void rejoin();

  BackendOptions backend_;
  std::unique_ptr<Policy> model_;
  std::unique_ptr<Collective> coll_;
  std::unique_ptr<Listener> listener_;  // bound by collective_listen, used by rank 0's init
  int zero_ = 0;                       // the ZeRO stage the group trains with
  bool shutdown_ = false;
};

}  // namespace troupe::worker
