#include "broker/core/claim_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <spdlog/spdlog.h>

#include "broker/core/state_file.hpp"
#include "protocol/codes.hpp"

namespace remo::core {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::uint8_t, 4> kMagic{'R', 'B', 'J', '1'};

Error failure(const fs::path& file, std::string_view step, int error_number) {
  return Error{
      std::string(protocol::code::kInternalError),
      file.string() + ": " + std::generic_category().message(error_number) + " (" + std::string(step) + ")"};
}

Error corrupt(const fs::path& file, std::uint64_t offset, std::string_view what) {
  return Error{std::string(protocol::code::kInternalError),
               file.string() + ": one-shot secret journal is corrupt at byte " + std::to_string(offset) +
                   ": " + std::string(what)};
}

std::uint32_t read_u32_le(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace

Result<UniqueFd> ClaimJournal::open_file(const fs::path& file, bool create) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600));
  if (!fd) return failure(file, create ? "create" : "open", errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return failure(file, "stat", errno);
  if (!S_ISREG(info.st_mode)) {
    return Error{std::string(protocol::code::kInternalError), file.string() + ": not a regular file"};
  }
  if (create) {  // the new file must survive a crash like everything appended to it
    if (auto synced = fsync_directory(file.parent_path().empty() ? fs::path(".") : file.parent_path());
        !synced) {
      return std::move(synced).error();
    }
  }
  return fd;
}

Result<ClaimJournal::Opened> ClaimJournal::open(const fs::path& file) {
  struct stat existing {};
  if (::lstat(file.c_str(), &existing) != 0) {
    if (errno != ENOENT) return failure(file, "stat", errno);
    return Opened{ClaimJournal(file, UniqueFd(), 0), {}, false};  // created by the first append
  }
  auto fd = open_file(file, false);
  if (!fd) return std::move(fd).error();
  struct stat info {};
  if (::fstat(fd->get(), &info) != 0) return failure(file, "stat", errno);

  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(info.st_size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(fd->get(), bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(file, "read", errno);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);

  Opened opened{ClaimJournal(file, std::move(*fd), 0), {}, false};
  std::uint64_t offset = 0;
  while (offset < bytes.size()) {
    const std::size_t left = bytes.size() - offset;
    const std::uint8_t* at = bytes.data() + offset;
    // A header cut short can only be the torn end of an append; a whole header must be right.
    if (left >= kMagic.size() && std::memcmp(at, kMagic.data(), kMagic.size()) != 0) {
      return corrupt(file, offset, "bad frame marker");
    }
    if (left < kHeaderSize) {
      opened.cut_torn_frame = true;
      break;
    }
    const std::uint32_t length = read_u32_le(at + kMagic.size());
    if (length == 0 || length > kMaxPayload) return corrupt(file, offset, "frame length out of range");
    if (left - kHeaderSize < length) {
      opened.cut_torn_frame = true;
      break;
    }
    opened.frames.push_back(
        Frame{offset, std::vector<std::uint8_t>(at + kHeaderSize, at + kHeaderSize + length)});
    offset += kHeaderSize + length;
  }
  opened.journal.size_ = bytes.size();
  if (opened.cut_torn_frame) {
    spdlog::warn("{}: dropping a frame cut short by a crash at byte {} (it was never acknowledged)",
                 file.string(), offset);
    if (auto cut = opened.journal.truncate_to(offset); !cut) return std::move(cut).error();
  }
  return opened;
}

Result<void> ClaimJournal::append(std::span<const std::uint8_t> payload) {
  if (broken_) {
    return Error{std::string(protocol::code::kInternalError),
                 file_.string() + ": the journal could not be cut back after a failed append"};
  }
  if (payload.empty() || payload.size() > kMaxPayload) {
    return Error{std::string(protocol::code::kInternalError), file_.string() + ": frame size out of range"};
  }
  std::vector<std::uint8_t> frame(kHeaderSize + payload.size());
  std::memcpy(frame.data(), kMagic.data(), kMagic.size());
  const auto length = static_cast<std::uint32_t>(payload.size());
  for (std::size_t i = 0; i < 4; ++i) frame[kMagic.size() + i] = static_cast<std::uint8_t>(length >> (8 * i));
  std::memcpy(frame.data() + kHeaderSize, payload.data(), payload.size());

  if (!fd_) {
    auto created = open_file(file_, true);
    if (!created) return std::move(created).error();
    fd_ = std::move(*created);
  }
  // O_APPEND is not used: the file offset is ours alone, and a failed append is cut back explicitly.
  const std::uint64_t start = size_;
  int error = 0;
  if (::lseek(fd_.get(), static_cast<off_t>(start), SEEK_SET) < 0) {
    error = errno;
  } else {
    error = write_all(fd_.get(), frame);
    if (error == 0 && ::fdatasync(fd_.get()) != 0) error = errno;
  }
  if (error == 0) {
    size_ = start + frame.size();
    return {};
  }
  // Cut back so the next append does not land behind a partial frame. After a failed fdatasync the page
  // cache may still hold the frame; the truncation removes it from the file either way.
  if (::ftruncate(fd_.get(), static_cast<off_t>(start)) != 0 || ::fdatasync(fd_.get()) != 0) broken_ = true;
  return failure(file_, "append", error);
}

Result<void> ClaimJournal::truncate_to(std::uint64_t offset) {
  if (!fd_) return {};  // never created: empty
  if (::ftruncate(fd_.get(), static_cast<off_t>(offset)) != 0) {
    broken_ = true;
    return failure(file_, "truncate", errno);
  }
  if (::fdatasync(fd_.get()) != 0) {
    broken_ = true;
    return failure(file_, "fdatasync", errno);
  }
  size_ = offset;
  broken_ = false;
  return {};
}

}  // namespace remo::core
