#include "broker/core/timestamp.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>

namespace remo::core {
namespace {

using namespace std::chrono;

TEST(Timestamp, EpochIsFormattedWithMicroseconds) {
  EXPECT_EQ(format_rfc3339_utc(system_clock::time_point{}), "1970-01-01T00:00:00.000000Z");
}

TEST(Timestamp, MicrosecondsAreKeptAndFinerUnitsTruncated) {
  const auto when =
      system_clock::time_point{} + seconds(1714566896) + microseconds(123456) + nanoseconds(789);
  EXPECT_EQ(format_rfc3339_utc(time_point_cast<system_clock::duration>(when)), "2024-05-01T12:34:56.123456Z");
}

TEST(Timestamp, InstantsBeforeTheEpochStillHaveAPositiveFraction) {
  const auto when = system_clock::time_point{} - microseconds(1);
  EXPECT_EQ(format_rfc3339_utc(when), "1969-12-31T23:59:59.999999Z");
}

// The formatter does its own civil-date arithmetic: it must agree with gmtime_r everywhere, leap years and
// the turn of centuries included.
TEST(Timestamp, AgreesWithGmtimeOverCenturies) {
  std::mt19937_64 random(42);
  std::uniform_int_distribution<long long> instant(-2'208'988'800LL * 1'000'000, 7'258'118'400LL * 1'000'000);
  for (int i = 0; i < 20000; ++i) {
    const auto micros = instant(random);
    const system_clock::time_point when{microseconds(micros)};
    const std::time_t whole = static_cast<std::time_t>(floor<seconds>(microseconds(micros)).count());
    std::tm utc{};
    gmtime_r(&whole, &utc);
    char expected[96];
    std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<long long>(micros - whole * 1'000'000LL));
    ASSERT_EQ(format_rfc3339_utc(when), expected) << micros;
  }
}

}  // namespace
}  // namespace remo::core
