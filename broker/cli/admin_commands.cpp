// remo-brokerctl admin <op>: every admin-socket op, for root on the instance. Human-readable output by
// default, --json prints the broker's reply line for scripts. Ciphertext, one-shot values and digest keys
// are read from stdin, never from argv; one-shot values and tokens stay in secure memory.
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "broker/cli/cli_output.hpp"
#include "broker/cli/command_input.hpp"
#include "broker/cli/exit_codes.hpp"
#include "broker/cli/io.hpp"
#include "broker/cli/reply_secret.hpp"
#include "broker/cli/secure_request.hpp"
#include "broker/crypto/base64.hpp"
#include "protocol/ops.hpp"
#include "protocol/utf8.hpp"

namespace remo::cli {
namespace {

namespace field = protocol::field;
namespace op = protocol::op;

struct AdminCall {
  std::string command;  // "admin OP", how messages name the command
  std::string socket;
  bool json = false;
  const ParsedArgs& args;
};

std::string admin_usage();

std::string_view text_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT: byte view
}

int simple(const AdminCall& call, const Json& request) {
  auto reply = cli::call(call.socket, request);
  if (!reply) return report_failure(call.command, reply.error());
  return print_reply(call.command, *reply, call.json);
}

int op_status(const AdminCall& call) { return simple(call, {{field::kOp, op::kStatus}}); }

int op_get_public_key(const AdminCall& call) {
  auto reply = cli::call(call.socket, {{field::kOp, op::kGetPublicKey}});
  if (!reply) return report_failure(call.command, reply.error());
  if (call.json || reply->value("ok", false) != true) return print_reply(call.command, *reply, call.json);
  std::printf("%s\n", reply->value("recipient", std::string()).c_str());
  return kExitOk;
}

int op_push_creds(const AdminCall& call) {
  const std::string_view command = call.command;
  if (call.args.positionals.size() > 1)
    return usage_failure(command, "expects at most one FILE", admin_usage());
  auto input = read_bytes(call.args.positionals.empty() ? "-" : call.args.positionals.front());
  if (!input) return report_failure(command, input.error());
  std::span<const std::uint8_t> ciphertext = input->span();
  std::optional<std::string> signature;
  if (call.args.has("signature-on-stdin")) {
    auto split = split_signature(ciphertext);
    if (!split) return report_failure(command, split.error());
    signature = std::move(split->first);
    ciphertext = split->second;
  }
  if (const auto file = call.args.last("signature-file")) {
    if (signature)
      return usage_failure(command, "give --signature-file or --signature-on-stdin, not both", admin_usage());
    auto text = read_bytes(*file);
    if (!text) return report_failure(command, text.error());
    signature = std::string(text_of(text->span()));
  }
  if (ciphertext.empty())
    return report_failure(command, make_error("usage", "no ciphertext on standard input"));
  Json request{
      {field::kOp, op::kPushCreds},
      {field::kCiphertextB64, crypto::base64::encode(ciphertext, crypto::base64::Padding::kRequired)}};
  if (signature) request[field::kSignature] = *signature;
  return simple(call, request);
}

int op_clear(const AdminCall& call) { return simple(call, {{field::kOp, op::kClearCreds}}); }

int op_register(const AdminCall& call) {
  const std::string_view command = call.command;
  if (call.args.positionals.size() != 2)
    return usage_failure(command, "expects NAME PROJECT_PATH", admin_usage());
  std::error_code ec;
  const auto path = std::filesystem::absolute(call.args.positionals[1], ec);
  if (ec) return report_failure(command, make_error("usage", "PROJECT_PATH cannot be made absolute"));
  Json request{{field::kOp, op::kRegister},
               {field::kName, call.args.positionals[0]},
               {field::kProjectPath, path.lexically_normal().string()}};
  if (call.args.has("uid")) {
    Json uids = Json::array();
    for (const std::string& text : call.args.all("uid")) {
      auto uid = parse_id(text, "--uid");
      if (!uid) return usage_failure(command, uid.error().message, admin_usage());
      uids.push_back(*uid);
    }
    request[field::kUids] = std::move(uids);
  }
  if (const auto text = call.args.last("gid")) {
    auto gid = parse_id(*text, "--gid");
    if (!gid) return usage_failure(command, gid.error().message, admin_usage());
    request[field::kGid] = *gid;
  }
  if (const auto sha = call.args.last("expect-sha256")) request[field::kExpectManifestSha256] = *sha;
  auto reply = cli::call(call.socket, request);
  if (!reply) return report_failure(command, reply.error());
  if (call.json || reply->value("ok", false) != true) return print_reply(command, *reply, call.json);
  std::printf("socket_path: %s\nmanifest_sha256: %s\n", reply->value("socket_path", "").c_str(),
              reply->value("manifest_sha256", "").c_str());
  for (const Json& name : reply->value("allowlist", Json::array())) {
    std::printf("+ %s\n", name.get<std::string>().c_str());
  }
  return kExitOk;
}

int op_named(const AdminCall& call, std::string_view op_name) {
  if (call.args.positionals.size() != 1) return usage_failure(call.command, "expects NAME", admin_usage());
  return simple(call, {{field::kOp, op_name}, {field::kName, call.args.positionals[0]}});
}

int op_unregister(const AdminCall& call) { return op_named(call, op::kUnregister); }
std::string setting_text(const Json& value) { return value.is_null() ? "unset" : value.dump(); }

// reload's diff, one line each: "+ NAME" (now served), "- NAME" (no longer served), "~ SETTING: FROM -> TO".
void print_policy_diff(const Json& reply) {
  const Json added = reply.value("added", Json::array());
  const Json removed = reply.value("removed", Json::array());
  const Json changed = reply.value("changed", Json::object());
  for (const Json& name : added) std::printf("+ %s\n", name.get<std::string>().c_str());
  for (const Json& name : removed) std::printf("- %s\n", name.get<std::string>().c_str());
  for (const auto& [setting, change] : changed.items()) {
    std::printf("~ %s: %s -> %s\n", setting.c_str(), setting_text(change.value("from", Json())).c_str(),
                setting_text(change.value("to", Json())).c_str());
  }
  if (added.empty() && removed.empty() && changed.empty()) std::printf("no change to the policy\n");
  if (reply.value("dry_run", false)) {
    std::printf(
        "dry run: nothing applied (reload --expect-sha256 with the digest above approves exactly "
        "this manifest)\n");
  } else {
    std::printf("applied: the project now serves %zu secrets\n",
                reply.value("allowlist", Json::array()).size());
  }
  std::printf("manifest_sha256: %s\n", reply.value("manifest_sha256", "").c_str());
}

int op_reload(const AdminCall& call) {
  const std::string_view command = call.command;
  if (call.args.positionals.size() != 1) return usage_failure(command, "expects NAME", admin_usage());
  Json request{{field::kOp, op::kReload}, {field::kName, call.args.positionals[0]}};
  if (call.args.has("dry-run")) request[field::kDryRun] = true;
  if (const auto sha = call.args.last("expect-sha256")) request[field::kExpectManifestSha256] = *sha;
  auto reply = cli::call(call.socket, request);
  if (!reply) return report_failure(command, reply.error());
  if (call.json || reply->value("ok", false) != true) return print_reply(command, *reply, call.json);
  print_policy_diff(*reply);
  return kExitOk;
}
int op_lock(const AdminCall& call) { return simple(call, {{field::kOp, op::kLock}}); }
int op_unlock(const AdminCall& call) { return simple(call, {{field::kOp, op::kUnlock}}); }

int op_claim_create(const AdminCall& call) {
  const std::string_view command = call.command;
  if (call.args.positionals.size() != 1) return usage_failure(command, "expects PROJECT", admin_usage());
  const auto ttl_text = call.args.last("ttl");
  if (!ttl_text) return usage_failure(command, "--ttl SECONDS is required", admin_usage());
  auto ttl = parse_id(*ttl_text, "--ttl");
  if (!ttl || *ttl == 0)
    return usage_failure(command, "--ttl must be a positive number of seconds", admin_usage());
  if (::isatty(STDIN_FILENO) != 0) std::fputs("Enter the one-shot value, then Ctrl-D:\n", stderr);
  auto value = read_secret("-");
  if (!value) return report_failure(command, value.error());
  if (!call.args.has("raw")) {  // what a pipe or a terminal adds, not part of the secret
    std::size_t size = value->size();
    if (size > 0 && value->data()[size - 1] == '\n') --size;
    if (size > 0 && value->data()[size - 1] == '\r') --size;
    value->truncate(size);
  }
  if (value->empty())
    return report_failure(command, make_error("usage", "the one-shot value on standard input is empty"));
  const Json plain{{field::kOp, op::kClaimCreate},
                   {field::kProject, call.args.positionals[0]},
                   {field::kTtlSeconds, *ttl}};
  const bool as_text = !call.args.has("binary") && protocol::is_valid_utf8(value->view());
  const crypto::SecureBuffer request =
      as_text ? request_with_secret(plain, field::kValue, value->span())
              : request_with_secret(plain, field::kValueB64, base64_secure(value->span()).span());
  value->reset();
  auto line = call_raw(call.socket, request.span());
  if (!line) return report_failure(command, line.error());
  if (call.json) {  // the raw line, token included, straight from secure memory
    std::fwrite(line->data(), 1, line->size(), stdout);
    std::fputc('\n', stdout);
  }
  auto token = take_json_string(*line, field::kToken);
  if (!token) return report_failure(command, token.error());
  auto reply = parse_reply(line->view());
  if (!reply) return report_failure(command, reply.error());
  if (reply->value("ok", false) != true) return report_failure(command, failure_of(*reply));
  if (!*token)
    return report_failure(command, make_error(std::string(kMalformedReply), "the reply carries no token"));
  if (!call.json) {
    print_human(*reply, stdout);
    std::fputs("token: ", stdout);
    std::fwrite((*token)->data(), 1, (*token)->size(), stdout);
    std::fputc('\n', stdout);
  }
  return kExitOk;
}

int op_claim_list(const AdminCall& call) { return simple(call, {{field::kOp, op::kClaimList}}); }

int op_claim_revoke(const AdminCall& call) {
  if (call.args.positionals.size() != 1)
    return usage_failure(call.command, "expects CLAIM_ID", admin_usage());
  return simple(call, {{field::kOp, op::kClaimRevoke}, {field::kClaimId, call.args.positionals[0]}});
}

// The key comes on stdin (base64 of 32 random bytes, as remo-brokerctl push --dry-run sends it).
int op_secret_digests(const AdminCall& call) {
  const std::string_view command = call.command;
  auto input = read_bytes("-");
  if (!input) return report_failure(command, input.error());
  std::string key(text_of(input->span()));
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return simple(call, {{field::kOp, op::kSecretDigests}, {field::kKeyB64, key}});
}

struct AdminOp {
  std::string_view name;
  std::string_view summary;
  std::vector<std::string_view> options;  // beyond --socket and --json
  std::size_t max_positionals;
  int (*run)(const AdminCall& call);
};

const std::vector<AdminOp>& admin_ops() {
  static const std::vector<AdminOp> kOps = {
      {op::kStatus, "the broker's state: secrets loaded, projects, key, errors", {}, 0, op_status},
      {op::kGetPublicKey,
       "the instance's recipient (age1...); bundles are encrypted to it",
       {},
       0,
       op_get_public_key},
      {op::kPushCreds,
       "load a bundle: age ciphertext on stdin [FILE]",
       {"signature-file", "signature-on-stdin"},
       1,
       op_push_creds},
      {"clear", "wipe the loaded secrets from memory and disk", {}, 0, op_clear},
      {op::kRegister,
       "NAME PROJECT_PATH [--uid N]... [--gid N] [--expect-sha256 HEX]: serve a project (prints its "
       "allowlist)",
       {"uid", "gid", "expect-sha256"},
       2,
       op_register},
      {op::kUnregister, "NAME: stop serving a project", {}, 1, op_unregister},
      {op::kReload,
       "NAME [--dry-run] [--expect-sha256 HEX]: approve a project's manifest (prints + NAME / - NAME)",
       {"dry-run", "expect-sha256"},
       1,
       op_reload},
      {op::kLock, "kill switch: refuse every secret until unlock", {}, 0, op_lock},
      {op::kUnlock, "serve secrets again", {}, 0, op_unlock},
      {op::kClaimCreate,
       "PROJECT --ttl SECONDS [--raw] [--binary]: a one-shot secret, value on stdin",
       {"ttl", "raw", "binary"},
       1,
       op_claim_create},
      {op::kClaimList,
       "the one-shot secrets and their states (never values or tokens)",
       {},
       0,
       op_claim_list},
      {op::kClaimRevoke, "CLAIM_ID: revoke a pending one-shot secret", {}, 1, op_claim_revoke},
      {op::kSecretDigests,
       "keyed digests of the loaded secrets (key on stdin; used by push --dry-run)",
       {},
       0,
       op_secret_digests},
      {command_name::kRotate, "replace the bootstrap key (same as `remo-brokerctl rotate`)", {}, 0, nullptr},
  };
  return kOps;
}

std::string admin_usage() {
  std::string usage =
      "usage: remo-brokerctl admin <op> [--socket PATH] [--json] [op arguments]\n"
      "\n"
      "Runs one op on the broker's admin socket (root only). --socket defaults to "
      "$REMO_BROKER_ADMIN_SOCKET,\n"
      "else /run/remo-broker-admin/admin.sock. --json prints the broker's reply line as it is.\n"
      "Secrets, ciphertext and keys are read from standard input, never from arguments.\n\nops:\n";
  for (const AdminOp& op : admin_ops()) {
    usage += "  " + std::string(op.name) + std::string(op.name.size() < 15 ? 15 - op.name.size() : 1, ' ') +
             std::string(op.summary) + "\n";
  }
  usage +=
      "\npush-creds: --signature-file FILE sends an armored SSH signature of the ciphertext\n"
      "(ssh-keygen -Y sign -n remo-broker); --signature-on-stdin reads it from stdin, before the\n"
      "ciphertext (how remo-brokerctl push sends both through ssh).\n\n";
  usage += exit_code::kHelpTable;
  return usage;
}

}  // namespace

int run_admin(CommandArgs args) {
  if (args.empty() || args.front() == "-h" || args.front() == "--help") {
    std::fwrite(admin_usage().data(), 1, admin_usage().size(), args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  // The op is the first word that is not an option, so `admin --json status` works as `admin status --json`.
  std::size_t at = 0;
  while (at < args.size() && args[at].starts_with("-")) at += args[at] == "--socket" ? 2 : 1;
  if (at >= args.size()) return usage_failure("admin", "no op given", admin_usage());
  const std::string_view name = args[at];
  std::vector<std::string_view> rest(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(at));
  rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(at) + 1, args.end());
  if (name == command_name::kRotate) return run_rotate(rest);
  for (const AdminOp& op : admin_ops()) {
    if (op.name != name) continue;
    std::vector<OptionSpec> specs = {{'\0', "socket", true}, {'\0', "json", false}};
    for (const std::string_view option : op.options) {
      const bool takes_value = option == "uid" || option == "gid" || option == "ttl" ||
                               option == "signature-file" || option == "expect-sha256";
      specs.push_back({'\0', option, takes_value});
    }
    ParsedArgs parsed;
    const std::string command = "admin " + std::string(name);
    if (auto done = parse_or_exit(command, rest, specs, admin_usage(), parsed)) return *done;
    if (parsed.positionals.size() > op.max_positionals) {
      return usage_failure(command, "unexpected argument " + parsed.positionals[op.max_positionals],
                           admin_usage());
    }
    const AdminCall call{command, resolve_socket(SocketKind::kAdmin, parsed.last("socket")),
                         parsed.has("json"), parsed};
    return op.run(call);
  }
  return usage_failure("admin", "unknown op '" + std::string(name) + "'", admin_usage());
}

}  // namespace remo::cli
