#include "broker/crypto/ssh_signature.hpp"

#include <sodium.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "broker/crypto/secure_buffer.hpp"
#include "protocol/codes.hpp"

namespace remo::crypto {
namespace {

namespace reason = ssh_signature_reason;

constexpr std::string_view kMagicPreamble = "SSHSIG";
constexpr std::uint32_t kSigVersion = 1;
constexpr std::string_view kEd25519KeyType = "ssh-ed25519";
constexpr std::string_view kArmorBegin = "-----BEGIN SSH SIGNATURE-----";
constexpr std::string_view kArmorEnd = "-----END SSH SIGNATURE-----";
constexpr std::string_view kWhitespace = " \t\r\n";

// Key types OpenSSH writes into allowed_signers. Only the first verifies here; the others are recognised so
// a shared file that also lists RSA or ECDSA keys still loads.
constexpr std::array<std::string_view, 17> kKnownKeyTypes = {
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ssh-xmss@openssh.com",
};

bool is_known_key_type(std::string_view type) {
  return std::find(kKnownKeyTypes.begin(), kKnownKeyTypes.end(), type) != kKnownKeyTypes.end();
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kWhitespace) - first + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// Untrusted text for an error message: printable ASCII only, bounded.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 64) out += "...";
  return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};  // NOLINT: byte view of text
}

std::string_view text_of(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};  // NOLINT: text view of bytes
}

Error invalid(std::string_view why, std::string_view detail) {
  return make_error(std::string(protocol::code::kSignatureInvalid),
                    std::string(why) + ": " + std::string(detail));
}

// Standard padded base64, every character accounted for (ignoring only `ignore`).
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text, const char* ignore) {
  std::vector<std::uint8_t> out(text.size() / 4 * 3 + 3);
  std::size_t length = 0;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), ignore, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

// The SSH wire encoding (RFC 4251 section 5): every read is checked against what remains, and a string is
// a view into the input, so a hostile length can neither overrun nor make us allocate.
class WireReader {
 public:
  explicit WireReader(std::span<const std::uint8_t> input) : rest_(input) {}

  bool read_u32(std::uint32_t& value) {
    if (rest_.size() < 4) return false;
    value = (std::uint32_t{rest_[0]} << 24) | (std::uint32_t{rest_[1]} << 16) |
            (std::uint32_t{rest_[2]} << 8) | std::uint32_t{rest_[3]};
    rest_ = rest_.subspan(4);
    return true;
  }
  bool read_bytes(std::size_t count, std::span<const std::uint8_t>& out) {
    if (rest_.size() < count) return false;
    out = rest_.first(count);
    rest_ = rest_.subspan(count);
    return true;
  }
  bool read_string(std::span<const std::uint8_t>& out) {
    std::uint32_t length = 0;
    return read_u32(length) && read_bytes(length, out);
  }
  bool read_string(std::string_view& out) {
    std::span<const std::uint8_t> bytes;
    if (!read_string(bytes)) return false;
    out = text_of(bytes);
    return true;
  }
  bool empty() const noexcept { return rest_.empty(); }

 private:
  std::span<const std::uint8_t> rest_;
};

void put_string(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  const auto n = static_cast<std::uint32_t>(bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

std::vector<std::uint8_t> ed25519_key_blob(const Ed25519PublicKey& key) {
  std::vector<std::uint8_t> blob;
  put_string(blob, bytes_of(kEd25519KeyType));
  put_string(blob, key);
  return blob;
}

// string "ssh-ed25519" || string key(32), nothing after. A key of another type is reported by name.
Result<Ed25519PublicKey> parse_ed25519_key_blob(std::span<const std::uint8_t> blob) {
  WireReader reader(blob);
  std::string_view type;
  std::span<const std::uint8_t> key;
  if (!reader.read_string(type)) return invalid(reason::kMalformedSignature, "truncated public key");
  if (type != kEd25519KeyType) return invalid(reason::kUnsupportedKeyType, printable(type));
  if (!reader.read_string(key) || key.size() != kEd25519PublicKeySize || !reader.empty()) {
    return invalid(reason::kMalformedSignature, "bad ssh-ed25519 public key");
  }
  Ed25519PublicKey out{};
  std::copy(key.begin(), key.end(), out.begin());
  return out;
}

// ---- allowed_signers -------------------------------------------------------------------------------------

// OpenSSH's match_pattern_list without case folding: comma-separated '*'/'?' globs; a matching "!pattern"
// vetoes the whole list.
bool glob_match(std::string_view text, std::string_view pattern) {
  std::size_t t = 0, p = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++t, ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1, t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool pattern_list_admits(std::string_view text, std::string_view list) {
  bool matched = false;
  for (std::size_t start = 0; start <= list.size();) {
    const auto comma = std::min(list.find(',', start), list.size());
    std::string_view pattern = list.substr(start, comma - start);
    const bool negated = !pattern.empty() && pattern.front() == '!';
    if (negated) pattern.remove_prefix(1);
    if (glob_match(text, pattern)) {
      if (negated) return false;
      matched = true;
    }
    start = comma + 1;
  }
  return matched;
}

// YYYYMMDD[HHMM[SS]] with an optional "Z"/"UTC" suffix (UTC), else local time, as ssh-keygen reads them.
std::optional<std::chrono::sys_seconds> parse_signer_time(std::string_view s) {
  using namespace std::chrono;
  bool utc = false;
  if (s.size() > 1 && iequals(s.substr(s.size() - 1), "Z")) {
    utc = true, s.remove_suffix(1);
  } else if (s.size() > 3 && iequals(s.substr(s.size() - 3), "UTC")) {
    utc = true, s.remove_suffix(3);
  }
  if ((s.size() != 8 && s.size() != 12 && s.size() != 14) ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t width) {
    int n = 0;
    for (char c : s.substr(at, width)) n = n * 10 + (c - '0');
    return n;
  };
  const int y = number(0, 4), mo = number(4, 2), d = number(6, 2);
  const int h = s.size() > 8 ? number(8, 2) : 0, mi = s.size() > 8 ? number(10, 2) : 0;
  const int sec = s.size() > 12 ? number(12, 2) : 0;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;

  sys_seconds t;
  if (utc) {
    t = sys_days{date} + hours{h} + minutes{mi} + seconds{sec};
  } else {
    std::tm tm{};
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec, tm.tm_isdst = -1;
    const std::time_t local = std::mktime(&tm);
    if (local == static_cast<std::time_t>(-1)) return std::nullopt;
    t = sys_seconds{seconds{local}};
  }
  if (t.time_since_epoch().count() <= 0) return std::nullopt;  // ssh-keygen refuses these too
  return t;
}

struct SignerOptions {
  bool cert_authority = false;
  std::optional<std::string> namespaces;
  std::optional<std::chrono::sys_seconds> valid_after, valid_before;
};

// `option[,option...]`: cert-authority, or name="value" where the value may contain \" and spaces.
Result<SignerOptions> parse_signer_options(std::string_view opts) {
  auto fail = [](std::string message) { return make_error("allowed_signers", std::move(message)); };
  SignerOptions out;
  while (true) {
    const auto eq = opts.find_first_of("=,");
    const std::string_view name = opts.substr(0, eq);
    if (iequals(name, "cert-authority")) {
      out.cert_authority = true;
      opts.remove_prefix(name.size());
    } else {
      const bool known =
          iequals(name, "namespaces") || iequals(name, "valid-after") || iequals(name, "valid-before");
      if (!known || eq == std::string_view::npos || opts[eq] != '=') {
        return fail("unknown key type or option \"" + printable(name) + "\"");
      }
      opts.remove_prefix(eq + 1);
      if (opts.empty() || opts.front() != '"')
        return fail("option " + std::string(name) + " needs a quoted value");
      std::string value;
      std::size_t i = 1;
      for (; i < opts.size() && opts[i] != '"'; ++i) {
        if (opts[i] == '\\' && i + 1 < opts.size() && opts[i + 1] == '"') ++i;
        value += opts[i];
      }
      if (i == opts.size()) return fail("option " + std::string(name) + " is missing its closing quote");
      opts.remove_prefix(i + 1);

      auto set_time = [&](std::optional<std::chrono::sys_seconds>& slot) -> std::optional<Error> {
        if (slot) return fail("more than one " + std::string(name) + " option");
        slot = parse_signer_time(value);
        if (!slot) return fail("invalid " + std::string(name) + " time \"" + printable(value) + "\"");
        return std::nullopt;
      };
      std::optional<Error> error;
      if (iequals(name, "namespaces")) {
        if (out.namespaces) return fail("more than one namespaces option");
        out.namespaces = std::move(value);
      } else {
        error = set_time(iequals(name, "valid-after") ? out.valid_after : out.valid_before);
      }
      if (error) return *std::move(error);
    }
    if (opts.empty()) break;
    if (opts.front() != ',') return fail("unexpected text after option \"" + printable(name) + "\"");
    opts.remove_prefix(1);
    if (opts.empty()) return fail("options end with a comma");
  }
  if (out.valid_after && out.valid_before && *out.valid_before <= *out.valid_after) {
    return fail("valid-before is not after valid-after");
  }
  return out;
}

// Cuts the next whitespace-delimited field; quotes (with \" escapes) protect spaces, as in options.
Result<std::string_view> next_field(std::string_view& line) {
  line = line.substr(std::min(line.find_first_not_of(" \t"), line.size()));
  std::size_t i = 0;
  bool quoted = false;
  for (; i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t')); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '"') {
      ++i;
    } else if (line[i] == '"') {
      quoted = !quoted;
    }
  }
  if (quoted) return make_error("allowed_signers", "unterminated quote");
  const auto field = line.substr(0, i);
  line.remove_prefix(i);
  return field;
}

// The principals field at the front of line (quotes removed); an error's message is the line's problem.
Result<std::string_view> take_principals(std::string_view& line) {
  auto principals = next_field(line);
  if (!principals) return std::move(principals).error();
  std::string_view principal_text = *principals;
  if (principal_text.size() >= 2 && principal_text.front() == '"' && principal_text.back() == '"') {
    principal_text = principal_text.substr(1, principal_text.size() - 2);
  }
  if (principal_text.empty() || principal_text.find('"') != std::string_view::npos) {
    return make_error("allowed_signers", "malformed principals");
  }
  return principal_text;
}

// The options field, if any, into options, then the key type; an error's message is the line's problem.
Result<std::string_view> take_key_type(std::string_view& line, SignerOptions& options) {
  auto field = next_field(line);
  if (!field) return std::move(field).error();
  if (field->empty()) return make_error("allowed_signers", "missing key");
  if (!is_known_key_type(*field)) {
    auto parsed = parse_signer_options(*field);
    if (!parsed) return std::move(parsed).error();
    options = std::move(*parsed);
    field = next_field(line);
    if (!field) return std::move(field).error();
  }
  const std::string_view key_type = *field;
  if (key_type.empty()) return make_error("allowed_signers", "missing key");
  if (!is_known_key_type(key_type)) {
    return make_error("allowed_signers", "unknown key type \"" + printable(key_type) + "\"");
  }
  return key_type;
}

// One non-comment line. Returns a signer, or nullopt with a note for lines that can never match.
Result<std::optional<AllowedSigner>> parse_signer_line(std::string_view line, std::size_t number,
                                                       std::vector<std::string>& notes) {
  auto fail = [&](std::string_view message) {
    return make_error("allowed_signers", "line " + std::to_string(number) + ": " + std::string(message));
  };
  const auto principal_text = take_principals(line);
  if (!principal_text) return fail(principal_text.error().message);
  SignerOptions options;
  const auto parsed_key_type = take_key_type(line, options);
  if (!parsed_key_type) return fail(parsed_key_type.error().message);
  const std::string_view key_type = *parsed_key_type;

  auto key_field = next_field(line);
  if (!key_field || key_field->empty()) return fail("missing key data after " + std::string(key_type));
  const auto blob = decode_base64(*key_field, nullptr);
  if (!blob) return fail("key data is not valid base64");
  WireReader reader(*blob);
  std::string_view blob_type;
  if (!reader.read_string(blob_type) || blob_type != key_type) {
    return fail("key data does not hold a " + std::string(key_type) + " key");
  }

  const std::string prefix = "line " + std::to_string(number) + ": ";
  if (options.cert_authority) {
    notes.push_back(prefix + "cert-authority key ignored: certificate signatures are not supported");
    return std::optional<AllowedSigner>{};
  }
  if (key_type != kEd25519KeyType) {
    notes.push_back(prefix + std::string(key_type) + " key ignored: only ssh-ed25519 is supported");
    return std::optional<AllowedSigner>{};
  }
  std::span<const std::uint8_t> key;
  if (!reader.read_string(key) || key.size() != kEd25519PublicKeySize || !reader.empty()) {
    return fail("malformed ssh-ed25519 key data");
  }
  AllowedSigner signer;
  signer.principals = std::string(*principal_text);
  std::copy(key.begin(), key.end(), signer.public_key.begin());
  signer.namespaces = std::move(options.namespaces);
  signer.valid_after = options.valid_after;
  signer.valid_before = options.valid_before;
  signer.comment = std::string(trim(line));
  signer.line = number;
  return std::optional<AllowedSigner>{std::move(signer)};
}

}  // namespace

Result<AllowedSigners> parse_allowed_signers(std::string_view text) {
  AllowedSigners out;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    ++number;
    if (line.find('\0') != std::string_view::npos) {
      return make_error("allowed_signers", "line " + std::to_string(number) + ": contains a NUL byte");
    }
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto signer = parse_signer_line(line, number, out.notes);
    if (!signer) return std::move(signer).error();
    if (*signer) out.signers.push_back(std::move(**signer));
  }
  return out;
}

Result<SshSignature> parse_ssh_signature(std::string_view armored) {
  if (armored.size() > kMaxArmoredSignatureSize) {
    return invalid(reason::kTooLarge, std::to_string(armored.size()) + " bytes");
  }
  // Armor: BEGIN line, base64 lines, END line; whitespace may surround it, nothing else may.
  std::string_view text = trim(armored);
  if (!text.starts_with(kArmorBegin))
    return invalid(reason::kMalformedArmor, "missing BEGIN SSH SIGNATURE line");
  if (!text.ends_with(kArmorEnd)) return invalid(reason::kMalformedArmor, "missing END SSH SIGNATURE line");
  std::string_view body = text.substr(kArmorBegin.size());
  body.remove_suffix(std::min(kArmorEnd.size(), body.size()));
  if (body.empty() || (body.front() != '\n' && !body.starts_with("\r\n")) || body.back() != '\n') {
    return invalid(reason::kMalformedArmor, "BEGIN and END must be on lines of their own");
  }
  const auto blob = decode_base64(body, "\r\n");
  if (!blob || blob->empty()) return invalid(reason::kMalformedArmor, "body is not valid base64");

  WireReader reader(*blob);
  std::span<const std::uint8_t> magic, public_key, signature;
  std::string_view signature_namespace, hash_algorithm;
  std::span<const std::uint8_t> reserved;
  std::uint32_t version = 0;
  if (!reader.read_bytes(kMagicPreamble.size(), magic) || text_of(magic) != kMagicPreamble) {
    return invalid(reason::kMalformedSignature, "missing SSHSIG preamble");
  }
  if (!reader.read_u32(version)) return invalid(reason::kMalformedSignature, "truncated version");
  if (version != kSigVersion) return invalid(reason::kUnsupportedVersion, std::to_string(version));
  if (!reader.read_string(public_key)) return invalid(reason::kMalformedSignature, "truncated public key");
  auto key = parse_ed25519_key_blob(public_key);
  if (!key) return std::move(key).error();
  if (!reader.read_string(signature_namespace) || !reader.read_string(reserved) ||
      !reader.read_string(hash_algorithm) || !reader.read_string(signature)) {
    return invalid(reason::kMalformedSignature, "truncated");
  }
  if (!reader.empty()) return invalid(reason::kMalformedSignature, "trailing bytes after the signature");
  if (hash_algorithm != "sha512" && hash_algorithm != "sha256") {
    return invalid(reason::kUnsupportedHash, printable(hash_algorithm));
  }

  // The inner signature: string "ssh-ed25519" || string sig(64), nothing after.
  WireReader sig_reader(signature);
  std::string_view sig_type;
  std::span<const std::uint8_t> sig_bytes;
  if (!sig_reader.read_string(sig_type)) return invalid(reason::kMalformedSignature, "truncated signature");
  if (sig_type != kEd25519KeyType) {
    return invalid(reason::kUnsupportedKeyType, "signature of type " + printable(sig_type));
  }
  if (!sig_reader.read_string(sig_bytes) || sig_bytes.size() != kEd25519SignatureSize ||
      !sig_reader.empty()) {
    return invalid(reason::kMalformedSignature, "bad ssh-ed25519 signature");
  }

  SshSignature out;
  out.public_key = *key;
  out.signature_namespace = std::string(signature_namespace);
  out.reserved.assign(reserved.begin(), reserved.end());
  out.hash_algorithm = std::string(hash_algorithm);
  std::copy(sig_bytes.begin(), sig_bytes.end(), out.signature.begin());
  return out;
}

Result<SignerMatch> verify_ssh_signature(std::span<const std::uint8_t> message, const SshSignature& signature,
                                         const AllowedSigners& allowed, std::string_view expected_namespace,
                                         std::chrono::system_clock::time_point now) {
  ensure_sodium();
  if (signature.signature_namespace != expected_namespace) {
    return invalid(reason::kWrongNamespace, "expected \"" + printable(expected_namespace) + "\", got \"" +
                                                printable(signature.signature_namespace) + "\"");
  }

  // PROTOCOL.sshsig: the key signs the preamble and the fields that give the message hash its meaning.
  std::array<std::uint8_t, crypto_hash_sha512_BYTES> digest{};
  std::size_t digest_size = crypto_hash_sha512_BYTES;
  if (signature.hash_algorithm == "sha512") {
    crypto_hash_sha512(digest.data(), message.data(), message.size());
  } else if (signature.hash_algorithm == "sha256") {
    crypto_hash_sha256(digest.data(), message.data(), message.size());
    digest_size = crypto_hash_sha256_BYTES;
  } else {
    return invalid(reason::kUnsupportedHash, printable(signature.hash_algorithm));
  }
  std::vector<std::uint8_t> signed_data(kMagicPreamble.begin(), kMagicPreamble.end());
  put_string(signed_data, bytes_of(signature.signature_namespace));
  put_string(signed_data, signature.reserved);
  put_string(signed_data, bytes_of(signature.hash_algorithm));
  put_string(signed_data, std::span<const std::uint8_t>(digest).first(digest_size));
  if (crypto_sign_verify_detached(signature.signature.data(), signed_data.data(), signed_data.size(),
                                  signature.public_key.data()) != 0) {
    return invalid(reason::kBadSignature, "the signature does not match the message and key");
  }

  // Policy, as ssh-keygen applies it: the first line with this key whose options admit the signature wins;
  // otherwise the refusal of the first line with this key is reported.
  const std::string fingerprint = ssh_key_fingerprint(signature.public_key);
  const auto when = std::chrono::floor<std::chrono::seconds>(now);
  std::optional<Error> refusal;
  for (const AllowedSigner& signer : allowed.signers) {
    if (signer.public_key != signature.public_key) continue;
    const std::string where = fingerprint + " (allowed_signers line " + std::to_string(signer.line) + ")";
    std::optional<Error> refused;
    if (signer.namespaces && !pattern_list_admits(signature.signature_namespace, *signer.namespaces)) {
      refused = invalid(reason::kNamespaceNotAllowed, where);
    } else if (signer.valid_after && when < *signer.valid_after) {
      refused = invalid(reason::kKeyNotYetValid, where);
    } else if (signer.valid_before && when > *signer.valid_before) {
      refused = invalid(reason::kKeyExpired, where);
    } else {
      return SignerMatch{signer.principals, fingerprint};
    }
    if (!refusal) refusal = std::move(refused);
  }
  if (refusal) return *std::move(refusal);
  return invalid(reason::kUnknownKey, fingerprint + " is not in allowed_signers");
}

Result<SignerMatch> verify_ssh_signature(std::span<const std::uint8_t> message,
                                         std::string_view armored_signature, const AllowedSigners& allowed,
                                         std::string_view expected_namespace,
                                         std::chrono::system_clock::time_point now) {
  auto signature = parse_ssh_signature(armored_signature);
  if (!signature) return std::move(signature).error();
  return verify_ssh_signature(message, *signature, allowed, expected_namespace, now);
}

std::string ssh_key_fingerprint(const Ed25519PublicKey& public_key) {
  ensure_sodium();
  const auto blob = ed25519_key_blob(public_key);
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), blob.data(), blob.size());
  constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  std::string encoded(sodium_base64_ENCODED_LEN(digest.size(), kVariant), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), digest.data(), digest.size(), kVariant);
  encoded.resize(encoded.find('\0'));
  return "SHA256:" + encoded;
}

}  // namespace remo::crypto
