#include "orchestrator/api/api_limits.h"

namespace radflow {

StreamTicket::StreamTicket(std::shared_ptr<StreamGate> gate, std::string client)
    : gate_(std::move(gate)), client_(std::move(client)) {}

StreamTicket::~StreamTicket() { gate_->leave(client_); }

std::unique_ptr<StreamTicket> StreamGate::try_enter(const std::string& client, Refusal* why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (open_ >= max_streams_) {
    *why = Refusal::kServerLimit;
    return nullptr;
  }
  int& mine = per_client_[client];
  if (mine >= max_per_client_) {
    *why = Refusal::kClientLimit;
    return nullptr;
  }
  ++mine;
  ++open_;
  *why = Refusal::kNone;
  return std::make_unique<StreamTicket>(shared_from_this(), client);
}

int StreamGate::open_streams() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_;
}

void StreamGate::leave(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  --open_;
  auto it = per_client_.find(client);
  if (it != per_client_.end() && --it->second <= 0) per_client_.erase(it);
}

}  // namespace radflow
