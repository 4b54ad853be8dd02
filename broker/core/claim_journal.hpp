// ClaimJournal: the append-only file beside the one-shot secret ledger's snapshot (state_dir/claims.journal,
// 0600). ClaimLedger appends one frame per group commit instead of rewriting the whole ledger, so a batch
// of claims costs one write and one fdatasync whatever the number of pending secrets; it folds the journal
// back into the snapshot now and then (compaction) and starts it afresh.
//
//   frame = "RBJ1" | payload length (u32, little-endian) | payload
//
// The payload is opaque here (the ledger writes an age file). This class only knows frames and where the
// file ends:
//   - append() writes a whole frame with one write(2) and fdatasyncs before it returns ok. On any failure
//     it cuts the file back to where the frame began, so a later append never lands behind a half frame;
//     when even that fails the journal refuses further appends (broken()) until reset() succeeds.
//   - A frame cut short at the end of the file (header or payload incomplete) is what a crash during an
//     append leaves: that append never returned, so nothing it carried was acknowledged. open() drops it
//     and cuts the file back. A bad magic or an absurd length anywhere is corruption: an error.
//   - reset() empties the file durably (ftruncate, fdatasync).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"
#include "broker/core/unique_fd.hpp"

namespace remo::core {

class ClaimJournal {
 public:
  static constexpr std::string_view kFileName = "claims.journal";
  static constexpr std::size_t kHeaderSize = 8;
  static constexpr std::size_t kMaxPayload = 64 * 1024 * 1024;

  struct Frame {
    std::uint64_t offset = 0;  // where its header begins
    std::vector<std::uint8_t> payload;
  };

  struct Opened;

  // Opens and reads every whole frame; a torn last frame is cut off. An absent file is an empty journal,
  // created (0600, its directory fsynced) by the first append.
  static Result<Opened> open(const std::filesystem::path& file);

  ClaimJournal(ClaimJournal&&) noexcept = default;
  ClaimJournal& operator=(ClaimJournal&&) noexcept = default;

  // Appends one frame durably (see above). Errors: "internal_error" with the path and errno's text.
  Result<void> append(std::span<const std::uint8_t> payload);

  // Cuts the file to `offset` durably (a frame start returned by open()): for a last frame that turned out
  // unreadable.
  Result<void> truncate_to(std::uint64_t offset);

  // Empties the file durably; clears broken().
  Result<void> reset() { return truncate_to(0); }

  std::uint64_t size() const { return size_; }
  bool broken() const { return broken_; }

 private:
  static Result<UniqueFd> open_file(const std::filesystem::path& file, bool create);

  ClaimJournal(std::filesystem::path file, UniqueFd fd, std::uint64_t size)
      : file_(std::move(file)), fd_(std::move(fd)), size_(size) {}

  std::filesystem::path file_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  bool broken_ = false;
};

struct ClaimJournal::Opened {
  ClaimJournal journal;
  std::vector<Frame> frames;
  bool cut_torn_frame = false;  // a torn last frame was dropped
};

}  // namespace remo::core
