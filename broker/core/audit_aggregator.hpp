// RefusalAggregator: bounds the audit volume of refusals. Refusals (rate_limited, locked, protocol_error,
// peer_unexpected, denied, and internal_error while the audit log cannot be written) are grouped by
// (project, peer uid, outcome): the first of a group in each wall-clock second is written in full, the rest
// of that second are only counted, and each second with counted refusals becomes one "audit.suppressed"
// line. So a flood costs at most two lines per group per second, however fast it comes.
// Not thread-safe: AuditLog calls it under its own mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace remo::core {

class RefusalAggregator {
 public:
  struct Key {
    std::string project;  // "" when the event names none (the admin socket)
    std::int64_t peer_uid = -1;
    std::string outcome;
    friend auto operator<=>(const Key&, const Key&) = default;
  };

  // Whether an event is a refusal this class groups, and its key if so.
  static std::optional<Key> key_of(const nlohmann::json& event);

  // true: write the event in full (the first of its key in `second`); false: it was counted.
  bool admit(const Key& key, std::string_view event_name, std::int64_t second);

  // The "audit.suppressed" events of the seconds before `second`, oldest first; forgets those seconds.
  std::vector<nlohmann::json> take_finished(std::int64_t second);

  // Whether any second holds counted refusals (the writer then wakes when that second ends).
  bool has_counts() const { return counted_ > 0 || !finished_.empty(); }
  std::uint64_t suppressed_total() const { return suppressed_total_; }

 private:
  struct Window {
    std::int64_t second = 0;
    std::uint64_t count = 0;
    std::map<std::string, std::uint64_t, std::less<>> by_event;
  };
  std::map<Key, Window> windows_;
  std::vector<nlohmann::json> finished_;  // summaries of windows replaced before take_finished saw them
  std::uint64_t counted_ = 0;             // refusals counted in windows_ and not yet summarised
  std::uint64_t suppressed_total_ = 0;
};

}  // namespace remo::core
