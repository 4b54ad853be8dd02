// SSH signature verification against the real OpenSSH: keys and signatures come from `ssh-keygen` at test
// time, and for every verdict that matters ssh-keygen's own `-Y verify` is asked to agree.
#include "broker/crypto/ssh_signature.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace remo::crypto {
namespace {

namespace fs = std::filesystem;
namespace reason = ssh_signature_reason;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};  // NOLINT: byte view of text
}

// Runs a shell command (paths are our own temp paths, no quoting hazards); returns its exit status.
int run(const std::string& command) {
  const int status = std::system((command + " 2>/dev/null").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The SSHSIG blob inside an armored signature, and back, so tests can damage the structure on purpose.
std::vector<std::uint8_t> dearmor(std::string_view armored) {
  const auto begin = armored.find('\n') + 1;
  const auto end = armored.find("-----END");
  const std::string_view body = armored.substr(begin, end - begin);
  std::vector<std::uint8_t> blob(body.size());
  std::size_t length = 0;
  EXPECT_EQ(sodium_base642bin(blob.data(), blob.size(), body.data(), body.size(), "\n", &length, nullptr,
                              sodium_base64_VARIANT_ORIGINAL),
            0);
  blob.resize(length);
  return blob;
}

std::string armor(std::span<const std::uint8_t> blob) {
  std::string b64(sodium_base64_ENCODED_LEN(blob.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), blob.data(), blob.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.find('\0'));
  std::string out = "-----BEGIN SSH SIGNATURE-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 70) out += b64.substr(i, 70) + "\n";
  return out + "-----END SSH SIGNATURE-----\n";
}

std::chrono::system_clock::time_point utc(int y, unsigned m, unsigned d, int seconds_into_day = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + seconds{seconds_into_day};
}

class SshSignatureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(sodium_init() < 0, false);
    ASSERT_EQ(run("command -v ssh-keygen >/dev/null"), 0)
        << "ssh-keygen (openssh-client) is required; dev/deps.sh installs it";
    char pattern[] = "/tmp/remo-sshsig-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = new fs::path(pattern);
    for (const char* name : {"alice", "mallory"}) generate_key(name, "ed25519");
    generate_key("ecdsa", "ecdsa");
    generate_key("rsa", "rsa -b 2048");
    message_ = new std::string("age-encryption.org/v1\n-> X25519 stand-in\n\x01\x02\xff binary tail");
    write_text(path("message"), *message_);
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
    delete message_;
    dir_ = nullptr;
    message_ = nullptr;
  }

  static fs::path path(const std::string& name) { return *dir_ / name; }
  static const std::string& message() { return *message_; }

  static void generate_key(const std::string& name, const std::string& type) {
    ASSERT_EQ(run("ssh-keygen -q -t " + type + " -N '' -C " + name + "-comment -f " + path(name).string() +
                  " </dev/null"),
              0);
  }
  // "ssh-ed25519 AAAA... alice-comment"
  static std::string public_key_line(const std::string& key) {
    std::string line = read_text(path(key + ".pub"));
    while (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  static std::string fingerprint(const std::string& key) {
    const fs::path out = path(key + ".fp");
    EXPECT_EQ(run("ssh-keygen -l -f " + path(key + ".pub").string() + " > " + out.string()), 0);
    std::istringstream fields(read_text(out));
    std::string bits, fp;
    fields >> bits >> fp;
    return fp;
  }

  // `ssh-keygen -Y sign` over the message file; returns the armored signature (also left in <name>.sig).
  static std::string sign(const std::string& key, const std::string& ns, const std::string& options = "") {
    const fs::path sig = path(key + "." + ns + ".sig");
    EXPECT_EQ(run("ssh-keygen -Y sign -f " + path(key).string() + " -n " + ns + " " + options + " < " +
                  path("message").string() + " > " + sig.string()),
              0);
    return read_text(sig);
  }

  // Writes allowed_signers text and parses it with ours.
  static AllowedSigners allowed(const std::string& text) {
    write_text(path("allowed_signers"), text);
    auto parsed = parse_allowed_signers(text);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    return parsed.ok() ? *parsed : AllowedSigners{};
  }

  // `ssh-keygen -Y verify` with the last allowed_signers written, as the reference verdict.
  static bool openssh_accepts(const std::string& signature, const std::string& principal,
                              const std::string& signed_message, const std::string& ns = "remo-broker") {
    write_text(path("check.sig"), signature);
    write_text(path("check.msg"), signed_message);
    return run("ssh-keygen -Y verify -f " + path("allowed_signers").string() + " -I '" + principal + "' -n " +
               ns + " -s " + path("check.sig").string() + " < " + path("check.msg").string() +
               " >/dev/null") == 0;
  }

  static void expect_rejected(const Result<SignerMatch>& result, std::string_view why) {
    ASSERT_FALSE(result.ok()) << "accepted, expected: " << why;
    EXPECT_EQ(result.error().code, "signature_invalid");
    EXPECT_THAT(result.error().message, StartsWith(std::string(why)));
  }

  static inline fs::path* dir_ = nullptr;
  static inline std::string* message_ = nullptr;
};

TEST_F(SshSignatureTest, AcceptsSignatureFromAllowedSignerLikeSshKeygen) {
  const auto signers = allowed("# team\n\nalice@example.com " + public_key_line("alice") + "\n");
  const std::string sig = sign("alice", "remo-broker");

  const auto match = verify_ssh_signature(bytes_of(message()), sig, signers);
  ASSERT_TRUE(match.ok()) << match.error().message;
  EXPECT_EQ(match->principal, "alice@example.com");
  EXPECT_EQ(match->fingerprint, fingerprint("alice"));
  EXPECT_TRUE(openssh_accepts(sig, "alice@example.com", message()));
}

TEST_F(SshSignatureTest, AcceptsSha256HashAlgorithm) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\n");
  const std::string sig = sign("alice", "remo-broker", "-O hashalg=sha256");
  ASSERT_THAT(sig, HasSubstr("-----BEGIN SSH SIGNATURE-----"));
  const auto parsed = parse_ssh_signature(sig);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->hash_algorithm, "sha256");
  EXPECT_TRUE(verify_ssh_signature(bytes_of(message()), sig, signers).ok());
  EXPECT_TRUE(openssh_accepts(sig, "alice", message()));
}

TEST_F(SshSignatureTest, RejectsSignatureMadeForAnotherNamespace) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\n");
  const std::string sig = sign("alice", "git");
  expect_rejected(verify_ssh_signature(bytes_of(message()), sig, signers), reason::kWrongNamespace);
  EXPECT_FALSE(openssh_accepts(sig, "alice", message()));
  // The namespace is the caller's choice: the same signature verifies where "git" is expected.
  EXPECT_TRUE(verify_ssh_signature(bytes_of(message()), sig, signers, "git").ok());
}

TEST_F(SshSignatureTest, RejectsSignerMissingFromAllowedSigners) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\n");
  const std::string sig = sign("mallory", "remo-broker");
  const auto result = verify_ssh_signature(bytes_of(message()), sig, signers);
  expect_rejected(result, reason::kUnknownKey);
  EXPECT_THAT(result.error().message, HasSubstr(fingerprint("mallory")));
  EXPECT_FALSE(openssh_accepts(sig, "alice", message()));
}

TEST_F(SshSignatureTest, RejectsTamperedMessage) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\n");
  const std::string sig = sign("alice", "remo-broker");
  std::string tampered = message();
  tampered[5] ^= 0x01;
  expect_rejected(verify_ssh_signature(bytes_of(tampered), sig, signers), reason::kBadSignature);
  EXPECT_FALSE(openssh_accepts(sig, "alice", tampered));
  expect_rejected(verify_ssh_signature(bytes_of(message() + "x"), sig, signers), reason::kBadSignature);
  expect_rejected(verify_ssh_signature({}, sig, signers), reason::kBadSignature);
}

TEST_F(SshSignatureTest, RejectsMalformedArmor) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\n");
  const std::string sig = sign("alice", "remo-broker");
  const auto rejects_armor = [&](const std::string& text) {
    expect_rejected(verify_ssh_signature(bytes_of(message()), text, signers), reason::kMalformedArmor);
  };
  rejects_armor("");
  rejects_armor("not a signature");
  rejects_armor(sig.substr(0, sig.find("-----END")));                         // no END line
  rejects_armor(sig.substr(sig.find('\n') + 1));                              // no BEGIN line
  rejects_armor(sig.substr(0, sig.size() / 2));                               // cut mid-body
  rejects_armor(sig + "trailing garbage\n");                                  // text after END
  rejects_armor(sig + sig);                                                   // two signatures
  rejects_armor("junk\n" + sig);                                              // text before BEGIN
  rejects_armor("-----BEGIN SSH SIGNATURE----------END SSH SIGNATURE-----");  // empty body
  std::string bad_char = sig;
  bad_char[sig.find('\n') + 3] = '*';
  rejects_armor(bad_char);
  const std::size_t inside = sig.find('\n') + 10;
  rejects_armor(sig.substr(0, inside) + " " + sig.substr(inside));
  // Whitespace around the armor and CRLF line ends are harmless.
  std::string crlf;
  for (char c : sig) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_TRUE(verify_ssh_signature(bytes_of(message()), "\n  " + crlf + "\n\n", signers).ok());
}

TEST_F(SshSignatureTest, RejectsEveryTruncationOfTheBlob) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\n");
  const auto blob = dearmor(sign("alice", "remo-broker"));
  ASSERT_TRUE(verify_ssh_signature(bytes_of(message()), armor(blob), signers).ok());
  for (std::size_t length = 0; length < blob.size(); ++length) {
    const auto result =
        verify_ssh_signature(bytes_of(message()), armor(std::span(blob).first(length)), signers);
    EXPECT_FALSE(result.ok()) << "accepted a blob cut to " << length << " bytes";
  }
}

TEST_F(SshSignatureTest, RejectsEveryBitFlipInTheBlob) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\n");
  const auto blob = dearmor(sign("alice", "remo-broker"));
  for (std::size_t bit = 0; bit < blob.size() * 8; ++bit) {
    auto flipped = blob;
    flipped[bit / 8] = static_cast<std::uint8_t>(flipped[bit / 8] ^ (1u << (bit % 8)));
    const auto result = verify_ssh_signature(bytes_of(message()), armor(flipped), signers);
    EXPECT_FALSE(result.ok()) << "accepted with bit " << bit << " flipped";
  }
}

TEST_F(SshSignatureTest, RejectsTrailingBytesAndHostileLengths) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\n");
  const auto blob = dearmor(sign("alice", "remo-broker"));

  auto trailing = blob;
  trailing.push_back(0);
  const auto result = verify_ssh_signature(bytes_of(message()), armor(trailing), signers);
  expect_rejected(result, reason::kMalformedSignature);
  EXPECT_THAT(result.error().message, HasSubstr("trailing"));

  // Every length field (publickey at offset 10, then each string after it) claiming 4 GiB.
  std::vector<std::size_t> length_offsets;
  for (std::size_t at = 10; at + 4 <= blob.size();) {
    length_offsets.push_back(at);
    const std::size_t n = (std::size_t{blob[at]} << 24) | (std::size_t{blob[at + 1]} << 16) |
                          (std::size_t{blob[at + 2]} << 8) | blob[at + 3];
    at += 4 + n;
  }
  ASSERT_EQ(length_offsets.size(), 5u);  // publickey, namespace, reserved, hash_algorithm, signature
  for (std::size_t at : length_offsets) {
    auto hostile = blob;
    std::fill_n(hostile.begin() + static_cast<std::ptrdiff_t>(at), 4, std::uint8_t{0xff});
    expect_rejected(verify_ssh_signature(bytes_of(message()), armor(hostile), signers),
                    reason::kMalformedSignature);
  }

  auto version_two = blob;
  version_two[9] = 2;
  expect_rejected(verify_ssh_signature(bytes_of(message()), armor(version_two), signers),
                  reason::kUnsupportedVersion);

  const std::string huge = "-----BEGIN SSH SIGNATURE-----\n" + std::string(kMaxArmoredSignatureSize, 'A') +
                           "\n-----END SSH SIGNATURE-----\n";
  expect_rejected(verify_ssh_signature(bytes_of(message()), huge, signers), reason::kTooLarge);
}

TEST_F(SshSignatureTest, RefusesEcdsaAndRsaSignersAsUnsupportedKeyType) {
  const auto signers = allowed("alice " + public_key_line("alice") + "\nec " + public_key_line("ecdsa") +
                               "\nrs " + public_key_line("rsa") + "\n");
  ASSERT_EQ(signers.signers.size(), 1u);
  ASSERT_EQ(signers.notes.size(), 2u);
  EXPECT_THAT(signers.notes[0], StartsWith("line 2: ecdsa-sha2-nistp256 key ignored"));
  EXPECT_THAT(signers.notes[1], StartsWith("line 3: ssh-rsa key ignored"));

  for (const char* key : {"ecdsa", "rsa"}) {
    const std::string sig = sign(key, "remo-broker");
    expect_rejected(verify_ssh_signature(bytes_of(message()), sig, signers), reason::kUnsupportedKeyType);
    // OpenSSH would accept these; refusing them is our policy, not a parsing accident.
    EXPECT_TRUE(openssh_accepts(sig, key == std::string("ecdsa") ? "ec" : "rs", message()));
  }
}

TEST_F(SshSignatureTest, NamespacesOptionRestrictsTheKeyLikeSshKeygen) {
  const std::string key = public_key_line("alice");
  const std::string sig = sign("alice", "remo-broker");
  struct Case {
    std::string namespaces;
    bool admitted;
  };
  for (const Case& c : std::vector<Case>{{"git,file", false},
                                         {"file,remo-broker", true},
                                         {"remo-*", true},
                                         {"remo-brok?r", true},
                                         {"*,!remo-broker", false},
                                         {"", false}}) {
    SCOPED_TRACE("namespaces=\"" + c.namespaces + "\"");
    const auto signers = allowed("alice namespaces=\"" + c.namespaces + "\" " + key + "\n");
    const auto result = verify_ssh_signature(bytes_of(message()), sig, signers);
    EXPECT_EQ(result.ok(), c.admitted);
    if (!c.admitted) expect_rejected(result, reason::kNamespaceNotAllowed);
    EXPECT_EQ(openssh_accepts(sig, "alice", message()), c.admitted);
  }
}

TEST_F(SshSignatureTest, LaterLineForTheSameKeyCanAdmitWhatAnEarlierLineRefuses) {
  const std::string key = public_key_line("alice");
  const auto signers = allowed("alice-git namespaces=\"git\" " + key + "\nalice-broker " + key + "\n");
  const auto match = verify_ssh_signature(bytes_of(message()), sign("alice", "remo-broker"), signers);
  ASSERT_TRUE(match.ok()) << match.error().message;
  EXPECT_EQ(match->principal, "alice-broker");
}

TEST_F(SshSignatureTest, ValidityWindowIsEnforcedLikeSshKeygen) {
  const std::string key = public_key_line("alice");
  const std::string sig = sign("alice", "remo-broker");

  auto signers = allowed("alice valid-before=\"20200101Z\" " + key + "\n");
  expect_rejected(verify_ssh_signature(bytes_of(message()), sig, signers), reason::kKeyExpired);
  EXPECT_FALSE(openssh_accepts(sig, "alice", message()));

  signers = allowed("alice valid-after=\"99990101Z\" " + key + "\n");
  expect_rejected(verify_ssh_signature(bytes_of(message()), sig, signers), reason::kKeyNotYetValid);
  EXPECT_FALSE(openssh_accepts(sig, "alice", message()));

  signers = allowed("alice valid-after=\"20200101000000Z\",valid-before=\"99991231UTC\" " + key + "\n");
  EXPECT_TRUE(verify_ssh_signature(bytes_of(message()), sig, signers).ok());
  EXPECT_TRUE(openssh_accepts(sig, "alice", message()));

  // Both ends are inclusive, as ssh-keygen compares them.
  signers = allowed("alice valid-after=\"203001010000Z\",valid-before=\"20300102Z\" " + key + "\n");
  const auto at = [&](std::chrono::system_clock::time_point now) {
    return verify_ssh_signature(bytes_of(message()), sig, signers, kBundleSignatureNamespace, now);
  };
  EXPECT_FALSE(at(utc(2029, 12, 31, 86399)).ok());
  EXPECT_TRUE(at(utc(2030, 1, 1)).ok());
  EXPECT_TRUE(at(utc(2030, 1, 2)).ok());
  EXPECT_FALSE(at(utc(2030, 1, 2, 1)).ok());
}

TEST(SshSignatureVectors, VerifiesCommittedSshKeygenSignatures) {
  const fs::path dir = fs::path(REMO_TEST_DATA_DIR) / "sshsig";
  const auto signers = parse_allowed_signers(read_text(dir / "allowed_signers"));
  ASSERT_TRUE(signers.ok()) << signers.error().message;
  ASSERT_EQ(signers->signers.size(), 1u);
  EXPECT_EQ(signers->notes.size(), 1u);  // the ECDSA line
  const std::string message = read_text(dir / "message.txt");

  for (const char* file : {"message.txt.sig", "message.txt.sha256.sig"}) {
    SCOPED_TRACE(file);
    const auto match = verify_ssh_signature(bytes_of(message), read_text(dir / file), *signers);
    ASSERT_TRUE(match.ok()) << match.error().message;
    EXPECT_EQ(match->principal, "vector@remo-broker");
    EXPECT_EQ(match->fingerprint, "SHA256:vWbgvnu11BtMroVRnbllYFusQHvK9mu1x5FDwdIKEqI");
    EXPECT_FALSE(verify_ssh_signature(bytes_of(message + "\n"), read_text(dir / file), *signers).ok());
  }
  const auto ecdsa =
      verify_ssh_signature(bytes_of(message), read_text(dir / "message.txt.ecdsa.sig"), *signers);
  ASSERT_FALSE(ecdsa.ok());
  EXPECT_THAT(ecdsa.error().message, StartsWith(std::string(reason::kUnsupportedKeyType)));
}

// ---- allowed_signers parsing --------------------------------------------------------------------------

constexpr std::string_view kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNPlF7NSt8Da2UwWCljSm2w7ugFLTGtIXuCM5Zwjubc";

std::string line_with(std::string_view prefix, std::string_view suffix = "") {
  return std::string(prefix) + " " + std::string(kKey) + std::string(suffix) + "\n";
}

TEST(SshSignatureAllowedSigners, ReadsPrincipalsOptionsAndComments) {
  const std::string text =
      "# comment\n\n   \t\n" + line_with("alice@example.com,bob@example.com", " the team key") +
      line_with("\"carol smith\" NAMESPACES=\"remo-broker,git\",valid-after=\"20240101\"") + "  " +
      line_with("dave cert-authority") + line_with("erin namespaces=\"a \\\"b\\\"\"");
  const auto parsed = parse_allowed_signers(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->signers.size(), 3u);
  EXPECT_EQ(parsed->signers[0].principals, "alice@example.com,bob@example.com");
  EXPECT_EQ(parsed->signers[0].comment, "the team key");
  EXPECT_EQ(parsed->signers[0].line, 4u);
  EXPECT_FALSE(parsed->signers[0].namespaces.has_value());
  EXPECT_EQ(parsed->signers[1].principals, "carol smith");
  EXPECT_EQ(parsed->signers[1].namespaces, "remo-broker,git");
  EXPECT_TRUE(parsed->signers[1].valid_after.has_value());  // local time: the exact instant depends on TZ
  EXPECT_EQ(parsed->signers[2].namespaces, "a \"b\"");
  ASSERT_EQ(parsed->notes.size(), 1u);
  EXPECT_THAT(parsed->notes[0], StartsWith("line 6: cert-authority key ignored"));
  EXPECT_EQ(ssh_key_fingerprint(parsed->signers[0].public_key),
            "SHA256:vWbgvnu11BtMroVRnbllYFusQHvK9mu1x5FDwdIKEqI");
}

TEST(SshSignatureAllowedSigners, ReadsUtcTimesExactly) {
  const auto parsed =
      parse_allowed_signers(line_with("a valid-after=\"20300102Z\",valid-before=\"20300102030405Z\"") +
                            line_with("b valid-before=\"209912312359utc\""));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->signers[0].valid_after, utc(2030, 1, 2));
  EXPECT_EQ(parsed->signers[0].valid_before, utc(2030, 1, 2, 3 * 3600 + 4 * 60 + 5));
  EXPECT_EQ(parsed->signers[1].valid_before, utc(2099, 12, 31, 23 * 3600 + 59 * 60));
}

TEST(SshSignatureAllowedSigners, MalformedLinesFailTheFileNamingTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"alice\n", "missing key"},
      {"alice ssh-ed25519\n", "missing key data"},
      {"alice ssh-ed25519 !!!notbase64\n", "not valid base64"},
      {"alice ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ==\n", "does not hold a ssh-ed25519 key"},
      {"alice ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAQA=\n", "malformed ssh-ed25519 key data"},
      {"alice ssh-foo AAAA\n", "unknown key type or option \"ssh-foo\""},
      {line_with("alice no-touch-required"), "unknown key type or option"},
      {"alice namespaces=\"git ssh-ed25519 AAAA\n", "unterminated quote"},
      {line_with("alice namespaces=git"), "needs a quoted value"},
      {line_with("alice namespaces=\"a\",namespaces=\"b\""), "more than one namespaces"},
      {line_with("alice valid-after=\"2024\""), "invalid valid-after time"},
      {line_with("alice valid-after=\"20230231Z\""), "invalid valid-after time"},
      {line_with("alice valid-before=\"19700101Z\""), "invalid valid-before time"},
      {line_with("alice valid-after=\"20300101Z\",valid-before=\"20200101Z\""), "valid-before is not after"},
      {line_with("alice namespaces=\"a\","), "options end with a comma"},
      {line_with("alice namespaces=\"a\"x"), "unexpected text after option"},
      {line_with("\"alice"), "unterminated quote"},
      {"alice namespaces=\"a\"\n", "missing key"},
  };
  for (const auto& [line, why] : cases) {
    SCOPED_TRACE(line);
    const auto parsed = parse_allowed_signers("# header\n" + line + line_with("zed"));
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, "allowed_signers");
    EXPECT_THAT(parsed.error().message, StartsWith("line 2: "));
    EXPECT_THAT(parsed.error().message, HasSubstr(why));
  }
  const auto nul = parse_allowed_signers(std::string("alice ssh-ed25519 AAAA\0\n", 24));
  ASSERT_FALSE(nul.ok());
  EXPECT_THAT(nul.error().message, HasSubstr("NUL"));
}

TEST(SshSignatureAllowedSigners, EmptyFileHasNoSigners) {
  const auto parsed = parse_allowed_signers("# nobody yet\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->signers.empty());
}

}  // namespace
}  // namespace remo::crypto
