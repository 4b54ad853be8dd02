// Runs the C2SP CCTV age vectors in tests/data/age-vectors (see the README there) through decrypt().
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "age_test_support.hpp"
#include "broker/crypto/age.hpp"

namespace remo::crypto {
namespace {

namespace fs = std::filesystem;

const fs::path kVectorDir = fs::path(REMO_TEST_DATA_DIR) / "age-vectors";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> vector_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kVectorDir)) {
    const std::string name = entry.path().filename().string();
    if (name != "README.md" && name != "SHA256SUMS") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct Vector {
  std::multimap<std::string, std::string> fields;
  std::string body;
  std::string field(const std::string& key) const {
    const auto it = fields.find(key);
    return it == fields.end() ? "" : it->second;
  }
};

Vector parse_vector(const std::string& text) {
  Vector vector;
  const std::size_t split = text.find("\n\n");
  std::istringstream header(text.substr(0, split));
  for (std::string line; std::getline(header, line);) {
    const std::size_t colon = line.find(": ");
    vector.fields.emplace(line.substr(0, colon), line.substr(colon + 2));
  }
  vector.body = text.substr(split + 2);
  return vector;
}

// The error code our decrypt() owes for an upstream expectation (see the README's table).
std::string expected_code(const Vector& vector) {
  const std::string expect = vector.field("expect");
  if (vector.fields.count("passphrase") != 0 && expect != "header failure") return "unsupported";
  static const std::map<std::string, std::string> kCodes = {{"success", "ok"},
                                                            {"no match", "no_identity_matched"},
                                                            {"HMAC failure", "header_mac"},
                                                            {"header failure", "header"},
                                                            {"payload failure", "payload"},
                                                            {"armor failure", "armor"}};
  return kCodes.at(expect);
}

class CctvVector : public ::testing::TestWithParam<std::string> {};

TEST_P(CctvVector, HasTheExpectedOutcome) {
  const Vector vector = parse_vector(read_file(kVectorDir / GetParam()));
  ASSERT_TRUE(vector.fields.count("compressed") == 0) << "compressed vectors are not vendored";
  std::vector<X25519Identity> identities;
  for (auto [it, end] = vector.fields.equal_range("identity"); it != end; ++it) {
    identities.push_back(X25519Identity::parse(it->second).value());
  }
  auto result = decrypt(testing::to_bytes(vector.body), identities);
  const std::string want = expected_code(vector);
  const std::string got = result.ok() ? "ok" : result.error().code;
  EXPECT_EQ(got, want) << "expect: " << vector.field("expect")
                       << (result.ok() ? std::string() : " (" + result.error().message + ")");
  if (result.ok() && want == "ok") {
    EXPECT_EQ(testing::sha256_hex(result->span()), vector.field("payload"));
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, CctvVector, ::testing::ValuesIn(vector_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return testing::test_name(param_info.param);
                         });

TEST(CctvVectors, FilesMatchTheirPinnedHashes) {
  std::istringstream sums(read_file(kVectorDir / "SHA256SUMS"));
  std::size_t checked = 0;
  for (std::string hash, name; sums >> hash >> name; ++checked) {
    const std::string data = read_file(kVectorDir / name);
    EXPECT_EQ(testing::sha256_hex(testing::to_bytes(data)), hash) << name;
  }
  EXPECT_EQ(checked, vector_names().size());
  EXPECT_GE(checked, 50u);
}

}  // namespace
}  // namespace remo::crypto
