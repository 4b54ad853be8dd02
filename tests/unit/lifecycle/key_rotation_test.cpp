#include "broker/lifecycle/key_rotation.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "broker/core/state_file.hpp"
#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kBundle = "TOKEN = \"CANARY-7c1e9a54d2b8-do-not-leak\"\n";

class KeyRotationTest : public ::testing::Test {
 protected:
  KeyRotationTest() {
    fs::create_directories(dir_ / "state");
    broker_.identities.push_back(crypto::X25519Identity::generate());
    broker_.recipient = broker_.identities[0].recipient().encode();
    broker_.secrets_file = dir_ / "state" / "secrets.enc";
    const auto& recipient = broker_.identities[0].recipient();
    auto ciphertext = crypto::encrypt(bytes(kBundle), std::span(&recipient, 1));
    EXPECT_TRUE(
        core::write_file_atomically(broker_.secrets_file, std::span<const std::uint8_t>(*ciphertext)));
  }

  static std::span<const std::uint8_t> bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};  // NOLINT: byte view
  }

  // Whether key opens secrets.enc (and then to the bundle it was given).
  bool opens(const crypto::X25519Identity& key) const {
    auto ciphertext = core::read_file_if_exists(broker_.secrets_file);
    auto plaintext = crypto::decrypt(**ciphertext, std::span(&key, 1));
    return plaintext && plaintext->view() == kBundle;
  }

  static crypto::X25519Identity copy(const crypto::X25519Identity& key) {
    return crypto::X25519Identity::parse(key.encode().view()).value();
  }

  fs::path marker() const { return dir_ / "state" / std::string(kRotationFileName); }

  test_support::TempDir dir_;
  BrokerState broker_;
};

TEST_F(KeyRotationTest, BeginEncryptsToBothKeysAndConfirmToTheNewOneOnly) {
  const auto old_key = copy(broker_.identities[0]);
  auto begun = begin_rotation(broker_, std::nullopt);
  ASSERT_TRUE(begun) << begun.error().message;
  ASSERT_TRUE(begun->generated_identity.has_value());
  const auto new_key = crypto::X25519Identity::parse(begun->generated_identity->view()).value();
  EXPECT_EQ(begun->new_recipient, new_key.recipient());
  EXPECT_TRUE(opens(old_key));
  EXPECT_TRUE(opens(new_key));
  ASSERT_TRUE(fs::exists(marker()));
  EXPECT_EQ(broker_.recipient, new_key.recipient().encode());  // the new key is the broker's own already
  ASSERT_EQ(broker_.identities.size(), 2U);
  const Json status = rotation_status(broker_);
  EXPECT_EQ(status["rotation"]["old_recipient"], old_key.recipient().encode());
  EXPECT_TRUE(status["rotation"]["new_key_loaded"].get<bool>());
  EXPECT_EQ(check_push_allowed(broker_).error().code, "bootstrap_error");

  ASSERT_TRUE(confirm_rotation(broker_, new_key.recipient()));
  EXPECT_FALSE(opens(old_key));
  EXPECT_TRUE(opens(new_key));
  EXPECT_FALSE(fs::exists(marker()));
  ASSERT_EQ(broker_.identities.size(), 1U);
  EXPECT_EQ(broker_.identities[0].recipient(), new_key.recipient());
  EXPECT_FALSE(broker_.rotation.has_value());
  EXPECT_TRUE(check_push_allowed(broker_));
}

TEST_F(KeyRotationTest, AFailedStepPutsTheFilesBackAndKeepsTheOldKey) {
  const auto old_key = copy(broker_.identities[0]);
  fs::create_directory(marker());  // rotation.json cannot be written over a directory
  const auto next = crypto::X25519Identity::generate();
  auto begun = begin_rotation(broker_, copy(next));
  ASSERT_FALSE(begun);
  EXPECT_EQ(begun.error().code, "internal_error");
  EXPECT_TRUE(opens(old_key));
  EXPECT_FALSE(opens(next));  // rolled back to the old recipient alone
  EXPECT_FALSE(broker_.rotation.has_value());
  ASSERT_EQ(broker_.identities.size(), 1U);
  EXPECT_EQ(broker_.identities[0].recipient(), old_key.recipient());
}

TEST_F(KeyRotationTest, ConfirmNeedsThePendingRecipientAndItsKey) {
  EXPECT_EQ(confirm_rotation(broker_, broker_.identities[0].recipient()).error().code, "bootstrap_error");
  const auto next = crypto::X25519Identity::generate();
  ASSERT_TRUE(begin_rotation(broker_, copy(next)));
  EXPECT_EQ(confirm_rotation(broker_, crypto::X25519Identity::generate().recipient()).error().code,
            "bootstrap_error");

  // A restart with the old credential: the broker holds the old key only, and reads the pending rotation.
  const PendingRotation pending = *broker_.rotation;
  BrokerState restarted;
  restarted.secrets_file = broker_.secrets_file;
  restarted.identities.push_back(copy(broker_.identities[1]));
  restarted.recipient = restarted.identities[0].recipient().encode();
  resume_rotation(restarted);
  ASSERT_TRUE(restarted.rotation.has_value());
  EXPECT_EQ(restarted.rotation->new_recipient, pending.new_recipient);
  EXPECT_FALSE(restarted.bootstrap_error.has_value());
  EXPECT_EQ(confirm_rotation(restarted, next.recipient()).error().code, "bootstrap_error");
  // The CLI hands the new key back; then the confirmation goes through.
  auto taken = begin_rotation(restarted, copy(next));
  ASSERT_TRUE(taken);
  EXPECT_FALSE(taken->generated_identity.has_value());
  ASSERT_TRUE(confirm_rotation(restarted, next.recipient()));
  EXPECT_TRUE(opens(next));
}

TEST_F(KeyRotationTest, AKeyOfNeitherSideIsABootstrapError) {
  ASSERT_TRUE(begin_rotation(broker_, crypto::X25519Identity::generate()));
  BrokerState stranger;
  stranger.secrets_file = broker_.secrets_file;
  stranger.identities.push_back(crypto::X25519Identity::generate());
  resume_rotation(stranger);
  ASSERT_TRUE(stranger.bootstrap_error.has_value());
  EXPECT_NE(stranger.bootstrap_error->find("neither the old key"), std::string::npos);
  EXPECT_EQ(begin_rotation(stranger, std::nullopt).error().code, "bootstrap_error");
}

TEST_F(KeyRotationTest, TheCurrentKeyCannotBeTheNewOne) {
  auto begun = begin_rotation(broker_, copy(broker_.identities[0]));
  ASSERT_FALSE(begun);
  EXPECT_EQ(begun.error().code, "bootstrap_error");
  EXPECT_FALSE(fs::exists(marker()));
}

}  // namespace
}  // namespace remo::server
