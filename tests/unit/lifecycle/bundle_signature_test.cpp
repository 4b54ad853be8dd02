#include "broker/lifecycle/bundle_signature.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

namespace fs = std::filesystem;

// Committed vectors made by OpenSSH's ssh-keygen -Y sign -n remo-broker (see tests/data/sshsig).
const fs::path kVectors = fs::path(REMO_TEST_DATA_DIR) / "sshsig";
constexpr std::string_view kFingerprint = "SHA256:vWbgvnu11BtMroVRnbllYFusQHvK9mu1x5FDwdIKEqI";

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// The request's "signature" field as check_bundle_signature takes it: null when absent. The pointer is into
// body, a temporary that lives to the end of the caller's full expression.
const Json* signature_of(const Json& body) {
  const auto field = body.find("signature");
  return field == body.end() ? nullptr : &*field;
}

class BundleSignatureTest : public ::testing::Test {
 protected:
  fs::path write(std::string_view text) {
    const fs::path file = dir_ / "allowed_signers";
    std::ofstream(file) << text;
    return file;
  }

  test_support::TempDir dir_;
};

TEST_F(BundleSignatureTest, LoadsTheCommittedAllowedSignersAndNotesOtherKeyTypes) {
  auto signers = load_allowed_signers(kVectors / "allowed_signers");
  ASSERT_TRUE(signers.ok()) << signers.error().message;
  EXPECT_EQ(signers->signers.size(), 1U);
  EXPECT_EQ(signers->notes.size(), 1U) << "the ECDSA line is noted, not fatal";
}

TEST_F(BundleSignatureTest, AFileThatCannotServeRefusesWithOneLineNamingIt) {
  const std::string key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNPlF7NSt8Da2UwWCljSm2w7ugFLTGtIXuCM5Zwjubc";
  struct Case {
    std::string text;
    std::string expected;
  };
  for (const Case& bad : std::vector<Case>{
           {"alice@example.com\n", "line 1"},
           {"# fine\nalice " + key + "\nbob ssh-ed25519 not-base64!\n", "line 3"},
           {"alice namespaces=\"remo-broker " + key + "\n", "line 1"},
           {"# nobody\n\n", "no ssh-ed25519 key"},
       }) {
    const fs::path file = write(bad.text);
    auto loaded = load_allowed_signers(file);
    ASSERT_FALSE(loaded.ok()) << bad.text;
    EXPECT_EQ(loaded.error().code, "config");
    EXPECT_NE(loaded.error().message.find("allowed_signers " + file.string()), std::string::npos);
    EXPECT_NE(loaded.error().message.find(bad.expected), std::string::npos) << loaded.error().message;
    EXPECT_EQ(loaded.error().message.find('\n'), std::string::npos) << "one line";
  }
  auto missing = load_allowed_signers(dir_ / "absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no such file"), std::string::npos);
  auto directory = load_allowed_signers(dir_.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, "config");
}

TEST_F(BundleSignatureTest, WithoutAllowedSignersASignatureIsNotChecked) {
  const auto checked =
      check_bundle_signature(signature_of(Json({{"op", "push-creds"}, {"signature", "garbage"}})),
                             bytes_of("anything"), std::nullopt);
  ASSERT_TRUE(checked.ok());
  EXPECT_FALSE(checked->has_value());
}

TEST_F(BundleSignatureTest, AGoodSignatureNamesItsSigner) {
  const auto signers = load_allowed_signers(kVectors / "allowed_signers");
  ASSERT_TRUE(signers.ok());
  const auto checked = check_bundle_signature(
      signature_of(Json({{"op", "push-creds"}, {"signature", read_text(kVectors / "message.txt.sig")}})),
      bytes_of(read_text(kVectors / "message.txt")), *signers);
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  ASSERT_TRUE(checked->has_value());
  EXPECT_EQ((*checked)->fingerprint, kFingerprint);
  EXPECT_EQ((*checked)->principal, "vector@remo-broker");
}

TEST_F(BundleSignatureTest, EveryRefusalSaysWhy) {
  const auto signers = load_allowed_signers(kVectors / "allowed_signers");
  ASSERT_TRUE(signers.ok());
  const std::string message = read_text(kVectors / "message.txt");
  const std::string signature = read_text(kVectors / "message.txt.sig");
  struct Case {
    Json body;
    std::string data;
    std::string code;
    std::string expected;
  };
  for (const Case& bad : std::vector<Case>{
           {{{"op", "push-creds"}}, message, "signature_invalid", "missing signature"},
           {{{"op", "push-creds"}, {"signature", signature}},
            message + "x",
            "signature_invalid",
            "bad signature"},
           {{{"op", "push-creds"}, {"signature", "nope"}}, message, "signature_invalid", "malformed armor"},
           {{{"op", "push-creds"}, {"signature", read_text(kVectors / "message.txt.ecdsa.sig")}},
            message,
            "signature_invalid",
            "unsupported key type"},
           {{{"op", "push-creds"}, {"signature", 1}},
            message,
            "protocol_error",
            "'signature' must be a string"},
       }) {
    const auto checked = check_bundle_signature(signature_of(Json(bad.body)), bytes_of(bad.data), *signers);
    ASSERT_FALSE(checked.ok()) << bad.expected;
    EXPECT_EQ(checked.error().code, bad.code);
    EXPECT_NE(checked.error().message.find(bad.expected), std::string::npos) << checked.error().message;
  }
}

}  // namespace
}  // namespace remo::server
