// The bootstrap key's credential file on the instance: what systemd hands the broker at its next start
// (LoadCredential= a plain age identity file, or LoadCredentialEncrypted= one sealed by systemd-creds).
// remo-brokerctl rotate reads it (to learn which key it holds) and replaces it atomically. The identity
// travels only through secure memory and pipes: never argv, the environment, or a temporary plaintext file.
#pragma once

#include <string>

#include "broker/common/result.hpp"
#include "broker/crypto/age.hpp"

namespace remo::cli {

struct CredentialFile {
  std::string path;
  bool systemd_creds = false;  // sealed with `systemd-creds encrypt --name=bootstrap-key`
};

// The first identity in the file. Errors (code "credential") name the path and the failure, never content.
Result<crypto::X25519Identity> read_credential(const CredentialFile& file);

// Replaces the file with one holding identity (age-keygen's format; mode 0600), atomically and durably:
// plain files through a temp file, fsync and rename; sealed ones by `systemd-creds encrypt` reading the
// identity on stdin into a temp file in the same directory, then fsync and rename.
Result<void> write_credential(const CredentialFile& file, const crypto::X25519Identity& identity);

}  // namespace remo::cli
