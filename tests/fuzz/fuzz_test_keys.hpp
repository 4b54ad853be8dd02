// Keys made for the fuzz targets and their seed corpora only (tests/fuzz/make_seeds.sh). They guard
// nothing: publishing them is what lets valid-looking inputs (files encrypted to this identity, signatures
// by this signer) reach the deep code paths.
#pragma once

#include <string_view>

namespace remo::fuzz {

// age-keygen; the recipient is age1e7swvxt87efvnq9vklw86zdwz7zkt35e2nrnxk0n0cstw8utrg8sxuuaaj.
inline constexpr std::string_view kTestIdentity =
    "AGE-SECRET-KEY-1EJF7NTV0KFLMJEQPFPDQQWUJJFEX6DQDEHQHJLP4PJEM49JZPQAQR2GPRP";
inline constexpr std::string_view kTestRecipient =
    "age1e7swvxt87efvnq9vklw86zdwz7zkt35e2nrnxk0n0cstw8utrg8sxuuaaj";

}  // namespace remo::fuzz
