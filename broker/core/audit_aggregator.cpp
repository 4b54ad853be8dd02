#include "broker/core/audit_aggregator.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "broker/core/timestamp.hpp"
#include "protocol/codes.hpp"

namespace remo::core {
namespace {

using nlohmann::json;

constexpr std::array kGroupedOutcomes{protocol::code::kRateLimited,   protocol::code::kLocked,
                                      protocol::code::kProtocolError, protocol::code::kPeerUnexpected,
                                      protocol::code::kDenied,        protocol::code::kInternalError};

std::string text_field(const json& object, const char* name) {
  const auto found = object.find(name);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

json summary_of(const RefusalAggregator::Key& key, std::int64_t second, std::uint64_t count,
                const std::map<std::string, std::uint64_t, std::less<>>& by_event) {
  const auto start = std::chrono::system_clock::time_point(std::chrono::seconds(second));
  json event{{"event", "audit.suppressed"},
             {"decision", "deny"},
             {"outcome", key.outcome},
             {"peer_uid", key.peer_uid >= 0 ? json(key.peer_uid) : json(nullptr)},
             {"window_start", format_rfc3339_utc(start)},
             {"window_seconds", 1},
             {"count", count},
             {"events", by_event}};
  if (!key.project.empty()) event["project"] = key.project;
  return event;
}

}  // namespace

std::optional<RefusalAggregator::Key> RefusalAggregator::key_of(const json& event) {
  const auto decision = event.find("decision");
  if (decision == event.end() || !decision->is_string() ||
      decision->get_ref<const std::string&>() != "deny") {
    return std::nullopt;
  }
  std::string outcome = text_field(event, "outcome");
  if (std::find(kGroupedOutcomes.begin(), kGroupedOutcomes.end(), outcome) == kGroupedOutcomes.end()) {
    return std::nullopt;
  }
  Key key{text_field(event, "project"), -1, std::move(outcome)};
  if (const auto peer = event.find("peer"); peer != event.end() && peer->is_object()) {
    if (const auto uid = peer->find("uid"); uid != peer->end() && uid->is_number_integer()) {
      key.peer_uid = uid->get<std::int64_t>();
    }
  }
  return key;
}

bool RefusalAggregator::admit(const Key& key, std::string_view event_name, std::int64_t second) {
  auto [it, inserted] = windows_.try_emplace(key);
  Window& window = it->second;
  if (inserted || window.second != second) {
    if (!inserted && window.count > 0) {  // its second is over and not yet summarised: summarise it now
      finished_.push_back(summary_of(key, window.second, window.count, window.by_event));
      counted_ -= window.count;
    }
    window = Window{second, 0, {}};
    return true;
  }
  ++window.count;
  ++counted_;
  ++suppressed_total_;
  auto counted = window.by_event.find(event_name);
  if (counted == window.by_event.end()) counted = window.by_event.emplace(std::string(event_name), 0).first;
  ++counted->second;
  return false;
}

std::vector<json> RefusalAggregator::take_finished(std::int64_t second) {
  std::vector<json> summaries = std::move(finished_);
  finished_.clear();
  for (auto it = windows_.begin(); it != windows_.end();) {
    Window& window = it->second;
    if (window.second >= second) {
      ++it;
      continue;
    }
    if (window.count > 0) {
      summaries.push_back(summary_of(it->first, window.second, window.count, window.by_event));
      counted_ -= window.count;
    }
    it = windows_.erase(it);
  }
  return summaries;
}

}  // namespace remo::core
