#include "broker/core/timestamp.hpp"

#include <array>

namespace remo::core {
namespace {

// Writes value as exactly `digits` decimal digits (zero-padded) at out, and returns the position after.
char* put_digits(char* out, long long value, int digits) {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + digits;
}

}  // namespace

// Civil date arithmetic from <chrono> instead of gmtime_r + snprintf: gmtime_r takes glibc's time zone
// lock, and every audit line of every get comes through here.
std::string format_rfc3339_utc(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto micros = time_point_cast<microseconds>(when);
  // floor, not truncation toward zero, so instants before 1970 still get a fraction in 0..999999
  const auto day = floor<days>(micros);
  const year_month_day date{day};
  const hh_mm_ss time{floor<seconds>(micros - day)};
  const auto fraction = (micros - floor<seconds>(micros)).count();

  std::array<char, 32> text{};  // "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" is 27 characters
  char* out = text.data();
  out = put_digits(out, static_cast<int>(date.year()), 4);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(date.month()), 2);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(date.day()), 2);
  *out++ = 'T';
  out = put_digits(out, time.hours().count(), 2);
  *out++ = ':';
  out = put_digits(out, time.minutes().count(), 2);
  *out++ = ':';
  out = put_digits(out, time.seconds().count(), 2);
  *out++ = '.';
  out = put_digits(out, fraction, 6);
  *out++ = 'Z';
  return std::string(text.data(), static_cast<std::size_t>(out - text.data()));
}

}  // namespace remo::core
