// Replays, through the fuzz targets themselves, every input a fuzzer ever crashed on
// (tests/data/fuzz-regressions/<target>/) and the checked-in seed corpora (tests/fuzz/corpus/<target>/).
// Runs in the ordinary build with any compiler: a regression aborts the test binary (fuzz_require) or, in
// the sanitizer builds, is reported by ASan/UBSan.
#include <gtest/gtest.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.hpp"

namespace remo::fuzz {

// How gtest shows a target (in --gtest_list_tests and failures): its name, not the struct's bytes.
void PrintTo(const FuzzTarget& target, std::ostream* out) { *out << target.name; }

namespace {

namespace fs = std::filesystem;

const fs::path kRegressionsDir = fs::path(REMO_TEST_DATA_DIR) / "fuzz-regressions";
const fs::path kCorpusDir = fs::path(REMO_TEST_DATA_DIR).parent_path() / "fuzz" / "corpus";

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::uint8_t> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class FuzzRegressions : public ::testing::TestWithParam<FuzzTarget> {
 protected:
  static void SetUpTestSuite() {
    ASSERT_GE(sodium_init(), 0);
    spdlog::set_level(spdlog::level::off);
  }

  // Runs every file of dir through the target; returns how many there were.
  static std::size_t replay(const fs::path& dir) {
    const auto files = files_in(dir);
    for (const fs::path& file : files) {
      SCOPED_TRACE(file.string());
      const std::vector<std::uint8_t> input = read_bytes(file);
      GetParam().run(input);
    }
    return files.size();
  }
};

TEST_P(FuzzRegressions, EveryCrashInputIsHandled) { replay(kRegressionsDir / std::string(GetParam().name)); }

TEST_P(FuzzRegressions, EverySeedIsHandled) {
  EXPECT_GT(replay(kCorpusDir / std::string(GetParam().name)), 0u) << "the target has a seed corpus";
}

TEST(FuzzRegressionFiles, EveryDirectoryNamesATarget) {
  for (const fs::path& base : {kRegressionsDir, kCorpusDir}) {
    for (const auto& entry : fs::directory_iterator(base)) {
      const std::string name = entry.path().filename().string();
      EXPECT_TRUE(std::any_of(kFuzzTargets.begin(), kFuzzTargets.end(),
                              [&](const FuzzTarget& target) { return target.name == name; }))
          << entry.path() << " is replayed by no target";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzRegressions, ::testing::ValuesIn(kFuzzTargets),
                         [](const ::testing::TestParamInfo<FuzzTarget>& target) {
                           // gtest accepts only [A-Za-z0-9_] in a test name.
                           std::string name(target.param.name);
                           for (char& c : name) {
                             if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace remo::fuzz
