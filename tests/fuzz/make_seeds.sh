#!/usr/bin/env bash
# Regenerates the checked-in seed corpora of tests/fuzz/corpus/ with the real tools: `age` encrypts to the
# fuzz test recipient (tests/fuzz/fuzz_test_keys.hpp) and `ssh-keygen -Y sign` signs the fuzz message with a
# throwaway key (the target trusts whatever key a signature carries, so the key need not be kept).
# Run from anywhere; rewrites the corpus directories in place.
set -euo pipefail
cd "$(dirname "$0")"
corpus=corpus
recipient=age1e7swvxt87efvnq9vklw86zdwz7zkt35e2nrnxk0n0cstw8utrg8sxuuaaj
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$corpus"
mkdir -p "$corpus"/{request_dispatch,age_header,age_decrypt,bundle_toml,manifest,ssh_signature}

# --- bundles and manifests (also the plaintexts below) ---
printf 'GITHUB_TOKEN = "CANARY-ghp"\nNPM_TOKEN = '"'"'CANARY-literal'"'"'\n' >"$corpus/bundle_toml/strings"
printf 'BLOB = { value_b64 = "AAEC/w==" }\nA = """\nCANARY-multi\\\n  line"""\n# caf\xc3\xa9\n' >"$corpus/bundle_toml/base64-multiline"
printf '\xef\xbb\xbfA = "\\u00e9\\t\\"q\\""\nB = "caf\xc3\xa9"\n' >"$corpus/bundle_toml/bom-escapes"
printf '' >"$corpus/bundle_toml/empty"
cat >"$corpus/manifest/full" <<'TOML'
schema_version = 1
[project]
name = "myrepo"
description = "demo project"
[allowlist]
secrets = ["GITHUB_TOKEN", "NPM_TOKEN"]
[cache]
ttl_seconds = 300
max_entries = 16
TOML
printf 'schema_version = 1\nproject = { name = "myrepo" }\nallowlist.secrets = []\n' >"$corpus/manifest/inline"
printf 'schema_version = 1\n[project]\nname = "other"\n[allowlist]\nsecrets = ["A", "A"]\n[extra]\n' \
  >"$corpus/manifest/invalid"

# --- age files encrypted to the test recipient ---
age-keygen -o "$work/other.key" 2>/dev/null
other=$(age-keygen -y "$work/other.key")
age -r "$recipient" -o "$corpus/age_decrypt/bundle" "$corpus/bundle_toml/strings"
age -r "$recipient" -a -o "$corpus/age_decrypt/bundle-armored" "$corpus/bundle_toml/base64-multiline"
age -r "$other" -r "$recipient" -o "$corpus/age_decrypt/two-recipients" "$corpus/manifest/full"
age -r "$recipient" -o "$corpus/age_decrypt/empty" </dev/null
age -r "$other" -o "$corpus/age_decrypt/not-for-us" "$corpus/bundle_toml/strings"
head -c 3000 /dev/zero | age -r "$recipient" -o "$corpus/age_decrypt/zeros"
cp "$corpus/age_decrypt/bundle" "$corpus/age_header/binary"
cp "$corpus/age_decrypt/bundle-armored" "$corpus/age_header/armored"
cp "$corpus/age_decrypt/two-recipients" "$corpus/age_header/two-recipients"

# --- NDJSON request lines; @SANDBOX@ is the target's sandbox directory ---
push_b64=$(age -r "$recipient" "$corpus/bundle_toml/base64-multiline" | base64 -w0)
cat >"$corpus/request_dispatch/project-ops" <<'NDJSON'
{"op":"ping","id":1}
{"op":"info","id":"two"}
{"op":"get","name":"GITHUB_TOKEN"}
{"op":"get","name":"BLOB","id":3}
{"op":"get","name":"NPM_TOKEN"}
{"op":"get","name":"MISSING"}
{"op":"claim","token":"x"}
NDJSON
cat >"$corpus/request_dispatch/admin-ops" <<NDJSON
{"op":"status"}
{"op":"get-public-key","id":7}
{"op":"push-creds","ciphertext_b64":"$push_b64"}
{"op":"get","name":"A"}
{"op":"clear-creds"}
{"op":"get","name":"GITHUB_TOKEN"}
NDJSON
cat >"$corpus/request_dispatch/registry-ops" <<'NDJSON'
{"op":"register","name":"other","project_path":"@SANDBOX@/projects/other","uids":[1000],"gid":1000}
{"op":"reload","name":"demo"}
{"op":"unregister","name":"demo"}
{"op":"get","name":"GITHUB_TOKEN"}
{"op":"register","name":"admin","project_path":"@SANDBOX@/projects/demo"}
NDJSON
cat >"$corpus/request_dispatch/rotate-ops" <<NDJSON
{"op":"rotate-bootstrap","id":1}
{"op":"rotate-bootstrap","confirm":true,"recipient":"$recipient"}
{"op":"rotate-bootstrap","identity":"AGE-SECRET-KEY-1"}
NDJSON
printf '{"op":"ping"\n[1,2]\n{"op":"get","name":"\\u0000"}\n{"op":"get","name":"x","extra":1}\r\n\xff\n' \
  >"$corpus/request_dispatch/malformed"
# request_parse takes one line: each line of the request_dispatch seeds is a seed of its own.
mkdir -p "$corpus/request_parse"
for file in "$corpus"/request_dispatch/*; do
  split -l 1 -d -a 2 "$file" "$corpus/request_parse/$(basename "$file")-"
done

# --- SSH signatures over the fuzz message ---
printf 'remo-broker fuzz message\n' >"$work/message"
ssh-keygen -q -t ed25519 -N '' -C fuzz@remo-broker -f "$work/signer"
sign() {  # sign NAMESPACE KEY CORPUS_NAME [OPTIONS...]
  rm -f "$work/message.sig"
  ssh-keygen -q -Y sign -n "$1" -f "$2" "${@:4}" "$work/message"
  cp "$work/message.sig" "$corpus/ssh_signature/$3"
}
ssh-keygen -q -t ecdsa -N '' -f "$work/ecdsa"
sign remo-broker "$work/signer" ed25519
sign other-namespace "$work/signer" wrong-namespace
sign remo-broker "$work/signer" sha256 -O hashalg=sha256
sign remo-broker "$work/ecdsa" ecdsa
{
  printf '# allowed signers\n'
  printf 'fuzz@remo-broker namespaces="remo-broker",valid-after="20240101",valid-before="20991231Z" %s\n' \
    "$(cut -d' ' -f1,2 "$work/signer.pub")"
  printf '"quoted principal",*@example.com cert-authority %s comment\n' "$(cut -d' ' -f1,2 "$work/signer.pub")"
} >"$corpus/ssh_signature/allowed-signers"
echo "seeds written to $(pwd)/$corpus"
