#include "broker/core/timestamp.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace remo::core
