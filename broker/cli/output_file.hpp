// The one way remo-brokerctl writes a file (decrypt/encrypt/keygen -o, known_instances, the bootstrap
// key's credential file): whoever else can write the directory cannot make it write somewhere else.
//
//   - The directory is opened one component at a time, each relative to the last; a symbolic link on the
//     way is followed only when root or this user owns it (someone else's link in a tree they can write
//     must not pick the directory). Every later step is relative to that directory's descriptor.
//   - The data goes to a new temporary file in it (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, a random name),
//     is fsynced, then renamed over the target, and the directory is fsynced: the target is the old
//     file or the new one, never a partial one, and the data never passes through an existing inode.
//   - A target that is a symbolic link, a FIFO, a device, a socket or a directory is refused with an
//     error naming what it is. Should one be swapped in after that check, the rename replaces the link
//     or FIFO itself; nothing is ever opened at the target path, so nothing is written through it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "broker/common/result.hpp"

namespace remo::cli {

enum class ExistingFile {
  kReplace,  // an existing regular file is replaced
  kRefuse,   // the target must not exist (keygen -o): the rename itself refuses to replace
};

// Writes data to path with the given mode (applied with fchmod, so the umask cannot widen it).
// Errors: code "io", naming the path and the failure, never the data.
Result<void> write_file_safely(std::string_view path, std::span<const std::uint8_t> data, mode_t mode,
                               ExistingFile existing);

}  // namespace remo::cli
