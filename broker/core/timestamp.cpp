#include "broker/core/timestamp.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace remo::core {

std::string format_rfc3339_utc(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto micros = time_point_cast<microseconds>(when);
  // floor, not truncation toward zero, so instants before 1970 still get a fraction in 0..999999
  const auto seconds = floor<std::chrono::seconds>(micros);
  const auto fraction = (micros - seconds).count();
  const std::time_t epoch_seconds = system_clock::to_time_t(seconds);
  std::tm utc{};
  gmtime_r(&epoch_seconds, &utc);
  std::array<char, 40> text{};
  const int length = std::snprintf(text.data(), text.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                                   utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                                   utc.tm_sec, static_cast<long long>(fraction));
  return std::string(text.data(), static_cast<std::size_t>(length));
}

}  // namespace remo::core
