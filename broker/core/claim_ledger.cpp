#include "broker/core/claim_ledger.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "broker/core/claim_journal.hpp"
#include "broker/core/claim_ledger_file.hpp"
#include "broker/core/claim_token.hpp"
#include "broker/core/manifest.hpp"
#include "broker/core/state_file.hpp"
#include "protocol/codes.hpp"

namespace remo::core {
namespace {

using std::chrono::sys_seconds;

// One message for every reason a token does not work, so a caller cannot probe which tokens exist,
// belong to another project, or were claimed already.
Error token_not_found() {
  return Error{std::string(protocol::code::kNotFound), "no pending one-shot secret for this token"};
}

Error bad_request(std::string message) {
  return Error{std::string(protocol::code::kProtocolError), std::move(message)};
}

Error not_durable(std::string_view what) {
  return Error{std::string(protocol::code::kInternalError),
               std::string(what) + " could not be saved durably, so nothing changed; try again"};
}

}  // namespace

std::string_view to_string(ClaimState state) noexcept {
  switch (state) {
    case ClaimState::kPending:
      return "pending";
    case ClaimState::kClaimed:
      return "claimed";
    case ClaimState::kExpired:
      return "expired";
    case ClaimState::kRevoked:
      return "revoked";
    case ClaimState::kDeleted:
      return "deleted";
  }
  return "pending";
}

std::optional<ClaimState> claim_state_from_string(std::string_view text) noexcept {
  for (auto state : {ClaimState::kPending, ClaimState::kClaimed, ClaimState::kExpired, ClaimState::kRevoked,
                     ClaimState::kDeleted}) {
    if (to_string(state) == text) return state;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// State. Everything below is guarded by Impl::mutex.
//
// A change is applied to memory at once (so the next caller sees it: a claimed entry is "in flight" and
// no one else can take it), recorded in the open batch, and confirmed or undone when the write that
// carries it completes. Changes to one entry never overlap: an entry in flight accepts no other change,
// so undoing one batch never disturbs another.

struct Finishing {
  ClaimState state;
  sys_seconds at;
  std::string json;  // its tombstone record, written in place of the pending record
};

struct Entry {
  claim_ledger_file::PendingRecord record;
  std::string json;  // claim_ledger_file::pending_json(record)
  crypto::SecureBuffer value;
  bool durable = false;                // false until the write carrying its create succeeded
  std::optional<Finishing> finishing;  // set while a write that finishes it is in progress
};

struct Tombstone {
  ClaimInfo info;
  std::string json;
};

struct Change {
  enum class Kind { kCreate, kFinish } kind = Kind::kFinish;
  std::string id;
  SecretValue* claimed_value = nullptr;  // kFinish of a claim: where the value goes once durable
};

struct Batch {
  std::vector<Change*> changes;  // owned by the callers, who wait until `done`
  std::optional<std::vector<crypto::X25519Recipient>> recipients_before;  // set by rekey: restored on failure
  bool snapshot = false;  // write a whole snapshot even if a journal frame would do (rekey, compact)
  bool done = false;
  bool ok = false;
  // The callers of this batch wait here: woken all at once when it is done, or one of them when the
  // write before it is done (that one becomes its leader). Callers of other batches sleep on.
  std::condition_variable wake;
};

struct ClaimLedger::Impl {
  Options options;
  crypto::SecureBuffer ledger_key;  // immutable after open: hashing needs no lock
  crypto::SecureBuffer scratch;     // the plaintext of the write in progress; used only by the leader
  // Only the leader touches these (while `writing`), outside the lock during the write itself.
  std::optional<ClaimJournal> journal;  // nullopt when claims.journal could not be opened: snapshots only
  std::uint64_t generation = 0;         // of the snapshot on disk; journal frames carry it
  bool snapshot_on_disk = false;        // claims.enc exists (a frame needs a snapshot to apply to)
  std::uint64_t snapshot_bytes = 0;     // size of the last snapshot written or read
  bool journal_dirty = false;           // guarded by mutex: the journal holds frames (compact() reads it)

  std::mutex rekey_mutex;
  mutable std::mutex mutex;
  std::unordered_map<std::string, Entry> entries;  // pending (and in flight), by id
  std::unordered_map<claim_token::Hash, std::string, claim_token::HashHasher> id_by_hash;
  std::deque<Tombstone> tombstones;                 // oldest first
  std::size_t pending_bytes = 0;                    // sum of the values in `entries`
  std::vector<crypto::X25519Recipient> recipients;  // every write encrypts to all of them
  std::shared_ptr<Batch> open_batch = std::make_shared<Batch>();
  bool writing = false;    // a leader is writing (or about to write) a batch
  bool lingering = false;  // that leader is waiting for stragglers to join (see linger)
  std::condition_variable joined;
  std::size_t last_batch_size = 0;
  std::chrono::steady_clock::duration last_write_time{};

  sys_seconds now() const { return std::chrono::floor<std::chrono::seconds>(options.clock()); }

  void add_tombstone(ClaimInfo info, std::string json) {
    tombstones.push_back(Tombstone{std::move(info), std::move(json)});
    while (tombstones.size() > options.max_finished) tombstones.pop_front();
  }

  // Marks a pending entry as being finished and records the change in the open batch.
  std::shared_ptr<Batch> begin_finish(Entry& entry, ClaimState state, sys_seconds at, Change& change) {
    const auto& r = entry.record;
    entry.finishing = Finishing{
        state, at,
        claim_ledger_file::finished_json(ClaimInfo{r.id, r.project, r.created_at, r.expires_at, at, state})};
    change = Change{Change::Kind::kFinish, r.id, nullptr};
    return join(change);
  }

  // The pending entry of this project's token, or nullptr for every reason it cannot be used.
  Entry* usable_entry(std::string_view project, const claim_token::Hash& hash) {
    const auto found = id_by_hash.find(hash);
    if (found == id_by_hash.end()) return nullptr;
    Entry& entry = entries.at(found->second);
    if (entry.record.project != project || !entry.durable || entry.finishing) return nullptr;
    if (now() >= entry.record.expires_at) return nullptr;
    return &entry;
  }

  // The whole ledger as the open batch leaves it, in scratch (lock held, and only by the leader).
  std::span<const std::uint8_t> snapshot(std::uint64_t new_generation) {
    std::vector<claim_ledger_file::PendingView> pending;
    std::vector<std::string_view> finished;
    pending.reserve(entries.size());
    finished.reserve(tombstones.size() + entries.size());
    for (const auto& t : tombstones) finished.push_back(t.json);
    for (const auto& [id, entry] : entries) {
      if (entry.finishing) {
        finished.push_back(entry.finishing->json);
      } else {
        pending.push_back({entry.json, entry.value.span()});
      }
    }
    return claim_ledger_file::assemble(ledger_key, new_generation, pending, finished, scratch);
  }

  // What one batch changed, as a journal frame in scratch (lock held, and only by the leader): the
  // secrets it created and the tombstones of those it finished.
  std::span<const std::uint8_t> journal_frame(const Batch& batch) {
    std::vector<claim_ledger_file::PendingView> pending;
    std::vector<std::string_view> finished;
    for (const Change* change : batch.changes) {
      const Entry& entry = entries.at(change->id);
      if (change->kind == Change::Kind::kCreate) {
        pending.push_back({entry.json, entry.value.span()});
      } else {
        finished.push_back(entry.finishing->json);
      }
    }
    return claim_ledger_file::assemble_journal_frame(generation, pending, finished, scratch);
  }

  // A frame is enough unless there is no snapshot to apply it to, the batch asks for a snapshot, the
  // journal is unusable, or it has grown past the size of a snapshot (then a snapshot is the cheaper
  // read at the next start, and compaction drops the claimed values the journal still holds).
  bool needs_snapshot(const Batch& batch) const {
    constexpr std::uint64_t kMinCompactBytes = 1024 * 1024;
    return !snapshot_on_disk || batch.snapshot || !journal || journal->broken() ||
           journal->size() > std::max(kMinCompactBytes, snapshot_bytes);
  }

  // Encrypts and writes (no lock held): a journal frame appended, or the snapshot replaced atomically.
  // Logs the reason of a failure; callers get a sentence.
  enum class Target { kJournal, kSnapshot };
  bool persist(Target target, std::span<const std::uint8_t> plaintext,
               std::span<const crypto::X25519Recipient> to) {
    auto ciphertext = crypto::encrypt(plaintext, to);
    if (!ciphertext) {
      spdlog::error("one-shot secret ledger: encryption failed: {}: {}", ciphertext.error().code,
                    ciphertext.error().message);
      return false;
    }
    const std::span<const std::uint8_t> bytes(*ciphertext);
    auto written = target == Target::kJournal ? journal->append(bytes)
                                              : write_file_atomically(options.file, bytes, 0600);
    if (!written) {
      spdlog::error("one-shot secret ledger: {}", written.error().message);
      return false;
    }
    if (target == Target::kSnapshot) snapshot_bytes = bytes.size();
    return true;
  }

  // The leader's write of one batch (lock held on entry and exit, released for the I/O): a journal frame
  // when that is enough, otherwise (or when the frame cannot be appended) a whole snapshot under a new
  // generation, after which the journal starts afresh.
  bool write(const Batch& batch, std::unique_lock<std::mutex>& lock) {
    const std::vector<crypto::X25519Recipient> to = recipients;
    if (!needs_snapshot(batch)) {
      const auto frame = journal_frame(batch);
      lock.unlock();
      const bool appended = persist(Target::kJournal, frame, to);
      sodium_memzero(scratch.data(), frame.size());
      lock.lock();
      if (appended) {
        journal_dirty = true;
        return true;
      }
    }
    std::uint64_t new_generation = 0;
    randombytes_buf(&new_generation, sizeof new_generation);
    const auto plaintext = snapshot(new_generation);
    lock.unlock();
    const bool replaced = persist(Target::kSnapshot, plaintext, to);
    sodium_memzero(scratch.data(), plaintext.size());
    // Snapshots are rare (the first write, compaction, rekey): a large ledger's plaintext buffer
    // (mlocked, up to megabytes) is not worth keeping between them; journal frames need little.
    constexpr std::size_t kKeptScratch = 64 * 1024;
    if (scratch.size() > kKeptScratch) scratch.reset();
    if (replaced) {
      generation = new_generation;
      snapshot_on_disk = true;
      // Frames of the old generation no longer apply; emptying the file also drops the claimed values
      // they held. A failure leaves them stale (ignored at open) and the next batch writes a snapshot.
      if (journal && journal->size() > 0) {
        if (auto emptied = journal->reset(); !emptied) {
          spdlog::warn("one-shot secret ledger: {} (its stale frames are ignored)", emptied.error().message);
        }
      }
    }
    lock.lock();
    journal_dirty = journal && journal->size() > 0;  // still the leader: nobody else touches the journal
    return replaced;
  }

  void confirm(Change& change) {
    const auto found = entries.find(change.id);
    if (found == entries.end()) return;  // cannot happen: an entry in flight is only removed here
    Entry& entry = found->second;
    if (change.kind == Change::Kind::kCreate) {
      entry.durable = true;
      return;
    }
    if (change.claimed_value != nullptr) {
      *change.claimed_value = SecretValue{std::move(entry.value), entry.record.from_base64};
    }
    const auto& r = entry.record;
    add_tombstone(
        ClaimInfo{r.id, r.project, r.created_at, r.expires_at, entry.finishing->at, entry.finishing->state},
        std::move(entry.finishing->json));
    erase_entry(found);  // wipes the value (unless a claimer took it above)
  }

  // Removes a pending entry with its token hash and its share of pending_bytes; wipes its value.
  void erase_entry(std::unordered_map<std::string, Entry>::iterator found) {
    id_by_hash.erase(found->second.record.token_hash);
    pending_bytes -= found->second.record.value_size;
    entries.erase(found);
  }

  void undo(Change& change) {
    const auto found = entries.find(change.id);
    if (found == entries.end()) return;
    if (change.kind == Change::Kind::kCreate) {
      erase_entry(found);
    } else {
      found->second.finishing.reset();
    }
  }

  // Adds a change to the open batch; wakes a leader that is waiting for stragglers.
  std::shared_ptr<Batch> join(Change& change) {
    open_batch->changes.push_back(&change);
    if (lingering) joined.notify_one();
    return open_batch;
  }

  // Group commit: waits until the batch holding the caller's change is durable or has failed. Whoever
  // finds no write in progress becomes the leader and writes the open batch (which holds its own change,
  // since a batch is only closed by a leader that then writes it). The file is written outside the lock,
  // so new changes keep joining the next batch meanwhile.
  bool wait_durable(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Batch>& mine) {
    while (!mine->done) {
      if (writing) {
        mine->wake.wait(lock);
        continue;
      }
      write_open_batch(lock);
    }
    return mine->ok;
  }

  // The leader's work (lock held on entry and exit, released for the write itself).
  void write_open_batch(std::unique_lock<std::mutex>& lock) {
    writing = true;
    linger(lock);
    const std::shared_ptr<Batch> batch = std::exchange(open_batch, std::make_shared<Batch>());
    const auto started = std::chrono::steady_clock::now();
    bool ok = false;
    try {
      ok = write(*batch, lock);
    } catch (const std::exception& e) {  // bad_alloc in the snapshot or the encryption
      if (!lock.owns_lock()) lock.lock();
      if (!scratch.empty()) sodium_memzero(scratch.data(), scratch.size());
      spdlog::error("one-shot secret ledger: write failed: {}", e.what());
      ok = false;
    }
    last_write_time = std::chrono::steady_clock::now() - started;
    last_batch_size = batch->changes.size();
    if (ok) {
      for (Change* change : batch->changes) confirm(*change);
    } else {
      for (auto it = batch->changes.rbegin(); it != batch->changes.rend(); ++it) undo(**it);
      if (batch->recipients_before) recipients = std::move(*batch->recipients_before);
    }
    batch->ok = ok;
    batch->done = true;
    writing = false;
    batch->wake.notify_all();
    // Wake one caller of the next batch to lead it, not all of them: with hundreds of claimers, waking
    // everyone after every write made them queue for the mutex only to go back to sleep.
    open_batch->wake.notify_one();
  }

  // When the previous write carried more changes than the open batch holds, their callers are most
  // likely on their way back with the next ones: a leader that wrote at once would write a batch of one
  // and make all the others wait a whole write for the next. So wait a little (half the last write, at
  // most kMaxLinger) for the batch to reach the previous size: a straggler that makes it saves a whole
  // write, one that does not costs half of one, once (the target then follows the smaller batch). A
  // lone caller never waits.
  void linger(std::unique_lock<std::mutex>& lock) {
    constexpr auto kMaxLinger = std::chrono::microseconds(2000);
    const std::size_t target = last_batch_size;
    if (target <= 1 || open_batch->changes.size() >= target) return;
    const auto wait = std::min<std::chrono::steady_clock::duration>(last_write_time / 2, kMaxLinger);
    lingering = true;
    joined.wait_for(lock, wait, [&] { return open_batch->changes.size() >= target; });
    lingering = false;
  }

  // Loading at open (defined below).
  Result<void> add_pending(claim_ledger_file::Contents& contents, const std::filesystem::path& from);
  Result<void> load_snapshot(claim_ledger_file::Contents& contents, std::uint64_t file_size,
                             const std::filesystem::path& from);
  Result<void> apply_frame(claim_ledger_file::Contents& contents, const std::filesystem::path& from);
  Result<void> replay_journal(ClaimJournal::Opened& opened, const std::filesystem::path& from,
                              std::span<const crypto::X25519Identity> identities);
};

// ---------------------------------------------------------------------------------------------------

ClaimLedger::ClaimLedger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClaimLedger::ClaimLedger(ClaimLedger&&) noexcept = default;
ClaimLedger& ClaimLedger::operator=(ClaimLedger&&) noexcept = default;
ClaimLedger::~ClaimLedger() = default;

std::filesystem::path ClaimLedger::journal_file(const std::filesystem::path& file) {
  std::filesystem::path journal = file;
  journal.replace_extension(".journal");
  return journal;
}

namespace {

Error ledger_corrupt(const std::filesystem::path& file, std::string_view what) {
  return Error{std::string(protocol::code::kInternalError),
               file.string() + ": one-shot secret ledger is corrupt: " + std::string(what)};
}

// Decrypts a snapshot or a journal frame and parses it with parse.
template <class Parse>
Result<claim_ledger_file::Contents> decrypt_contents(std::span<const std::uint8_t> ciphertext,
                                                     const std::filesystem::path& from,
                                                     std::span<const crypto::X25519Identity> identities,
                                                     Parse parse) {
  auto plaintext = crypto::decrypt(ciphertext, identities);
  if (!plaintext) {
    return Error{std::string(protocol::code::kInternalError),
                 from.string() + ": cannot decrypt the one-shot secret ledger: " + plaintext.error().code +
                     ": " + plaintext.error().message};
  }
  auto contents = parse(plaintext->span());
  plaintext->reset();
  if (!contents) return Error{contents.error().code, from.string() + ": " + contents.error().message};
  return contents;
}

}  // namespace

// Adds pending secrets (from the snapshot or a journal frame); a duplicate id or token hash is corruption.
Result<void> ClaimLedger::Impl::add_pending(claim_ledger_file::Contents& contents,
                                            const std::filesystem::path& from) {
  for (auto& [record, value] : contents.pending) {
    if (entries.contains(record.id) || !id_by_hash.emplace(record.token_hash, record.id).second) {
      return ledger_corrupt(from, "duplicate id or token hash");
    }
    std::string json = claim_ledger_file::pending_json(record);
    std::string id = record.id;
    pending_bytes += record.value_size;
    entries.emplace(std::move(id), Entry{std::move(record), std::move(json), std::move(value), true, {}});
  }
  return {};
}

Result<void> ClaimLedger::Impl::load_snapshot(claim_ledger_file::Contents& contents, std::uint64_t file_size,
                                              const std::filesystem::path& from) {
  snapshot_on_disk = true;
  snapshot_bytes = file_size;
  generation = contents.generation;
  ledger_key = std::move(contents.ledger_key);
  if (auto added = add_pending(contents, from); !added) return added;
  for (auto& info : contents.finished) {
    std::string json = claim_ledger_file::finished_json(info);
    add_tombstone(std::move(info), std::move(json));
  }
  return {};
}

// A frame of the snapshot's generation: its pending secrets are added, its finished ones leave the entries.
Result<void> ClaimLedger::Impl::apply_frame(claim_ledger_file::Contents& contents,
                                            const std::filesystem::path& from) {
  if (auto added = add_pending(contents, from); !added) return added;
  for (auto& info : contents.finished) {
    const auto found = entries.find(info.id);
    if (found == entries.end()) return ledger_corrupt(from, "a frame finishes an unknown id");
    erase_entry(found);
    std::string json = claim_ledger_file::finished_json(info);
    add_tombstone(std::move(info), std::move(json));
  }
  return {};
}

// Frames of the snapshot's generation apply on top of it, in order. Without a snapshot every frame is
// stale (the snapshot is always written first).
Result<void> ClaimLedger::Impl::replay_journal(ClaimJournal::Opened& opened,
                                               const std::filesystem::path& from,
                                               std::span<const crypto::X25519Identity> identities) {
  for (std::size_t i = 0; i < opened.frames.size() && snapshot_on_disk; ++i) {
    const auto& frame = opened.frames[i];
    auto contents = decrypt_contents(frame.payload, from, identities, claim_ledger_file::parse_journal_frame);
    if (!contents) {
      // A last frame whose bytes are all there but do not decrypt was torn below the file system's
      // view (a crash before its fdatasync returned): it was never acknowledged. Anywhere else: corrupt.
      if (i + 1 != opened.frames.size()) return std::move(contents).error();
      spdlog::warn("one-shot secret ledger: dropping an unreadable last journal frame ({})",
                   contents.error().message);
      return opened.journal.truncate_to(frame.offset);
    }
    if (contents->generation != generation) continue;  // stale: already in the snapshot
    if (auto applied = apply_frame(*contents, from); !applied) return applied;
  }
  return {};
}

Result<ClaimLedger> ClaimLedger::open(Options options, std::span<const crypto::X25519Identity> identities) {
  auto impl = std::make_unique<Impl>();
  impl->recipients = {options.recipient};
  impl->options = std::move(options);
  const auto& file = impl->options.file;

  auto bytes = read_file_if_exists(file);
  if (!bytes) return std::move(bytes).error();
  if (!bytes->has_value()) {
    impl->ledger_key = claim_token::generate_key();
  } else {
    auto contents = decrypt_contents(**bytes, file, identities, claim_ledger_file::parse);
    if (!contents) return std::move(contents).error();
    if (auto loaded = impl->load_snapshot(*contents, (*bytes)->size(), file); !loaded) {
      return std::move(loaded).error();
    }
  }

  // A journal that cannot be opened is not fatal when no frame of it could apply: the ledger then writes
  // whole snapshots only.
  const auto journal_path = journal_file(file);
  auto opened = ClaimJournal::open(journal_path);
  if (!opened) {
    if (impl->snapshot_on_disk) return std::move(opened).error();
    spdlog::warn("one-shot secret ledger: {}; writing whole snapshots only", opened.error().message);
    return ClaimLedger(std::move(impl));
  }
  if (auto replayed = impl->replay_journal(*opened, journal_path, identities); !replayed) {
    return std::move(replayed).error();
  }
  impl->journal.emplace(std::move(opened->journal));
  impl->journal_dirty = impl->journal->size() > 0;
  return ClaimLedger(std::move(impl));
}

Result<ClaimTicket> ClaimLedger::create(std::string_view project, crypto::SecureBuffer value,
                                        bool from_base64, std::int64_t ttl_seconds) {
  if (!is_valid_project_name(project)) return bad_request("invalid project name");
  if (ttl_seconds < kMinTtlSeconds || ttl_seconds > kMaxTtlSeconds) {
    return bad_request("ttl_seconds must be between " + std::to_string(kMinTtlSeconds) + " and " +
                       std::to_string(kMaxTtlSeconds));
  }
  if (value.empty()) return bad_request("a one-shot secret cannot be empty");
  if (value.size() > kMaxValueBytes) {
    return bad_request("a one-shot secret is limited to " + std::to_string(kMaxValueBytes) + " bytes");
  }

  crypto::SecureBuffer token = claim_token::generate_token();
  const claim_token::Hash hash = claim_token::keyed_hash(token.view(), impl_->ledger_key);

  std::unique_lock lock(impl_->mutex);
  if (impl_->entries.size() >= impl_->options.max_pending) {
    return bad_request("too many pending one-shot secrets (limit " +
                       std::to_string(impl_->options.max_pending) + ")");
  }
  if (impl_->pending_bytes + value.size() > impl_->options.max_pending_bytes) {
    return bad_request("the pending one-shot secrets are limited to " +
                       std::to_string(impl_->options.max_pending_bytes) + " bytes in all");
  }
  std::string id;
  do {
    id = claim_token::generate_id();
  } while (impl_->entries.contains(id) || std::any_of(impl_->tombstones.begin(), impl_->tombstones.end(),
                                                      [&](const Tombstone& t) { return t.info.id == id; }));

  const sys_seconds created = impl_->now();
  claim_ledger_file::PendingRecord record{
      id,   std::string(project), created,     created + std::chrono::seconds(ttl_seconds),
      hash, from_base64,          value.size()};
  std::string json = claim_ledger_file::pending_json(record);
  const sys_seconds expires_at = record.expires_at;
  impl_->pending_bytes += record.value_size;
  impl_->entries.emplace(id, Entry{std::move(record), std::move(json), std::move(value), false, {}});
  impl_->id_by_hash.emplace(hash, id);

  Change change{Change::Kind::kCreate, id, nullptr};
  const auto batch = impl_->join(change);
  if (!impl_->wait_durable(lock, batch)) return not_durable("the one-shot secret");
  return ClaimTicket{std::move(id), std::move(token), expires_at};
}

Result<SecretValue> ClaimLedger::claim(std::string_view project, std::string_view token,
                                       std::string* claim_id) {
  if (!claim_token::looks_like_token(token)) return token_not_found();
  const claim_token::Hash hash = claim_token::keyed_hash(token, impl_->ledger_key);

  std::unique_lock lock(impl_->mutex);
  Entry* entry = impl_->usable_entry(project, hash);
  if (entry == nullptr) return token_not_found();
  if (claim_id != nullptr) *claim_id = entry->record.id;
  SecretValue value;
  Change change;
  const auto batch = impl_->begin_finish(*entry, ClaimState::kClaimed, impl_->now(), change);
  change.claimed_value = &value;
  if (!impl_->wait_durable(lock, batch)) return not_durable("the claim");
  return value;
}

Result<void> ClaimLedger::discard(std::string_view project, std::string_view token, std::string* claim_id) {
  if (!claim_token::looks_like_token(token)) return token_not_found();
  const claim_token::Hash hash = claim_token::keyed_hash(token, impl_->ledger_key);

  std::unique_lock lock(impl_->mutex);
  Entry* entry = impl_->usable_entry(project, hash);
  if (entry == nullptr) return token_not_found();
  if (claim_id != nullptr) *claim_id = entry->record.id;
  Change change;
  const auto batch = impl_->begin_finish(*entry, ClaimState::kDeleted, impl_->now(), change);
  if (!impl_->wait_durable(lock, batch)) return not_durable("the deletion");
  return {};
}

Result<void> ClaimLedger::revoke(std::string_view id) {
  std::unique_lock lock(impl_->mutex);
  const auto found = impl_->entries.find(std::string(id));
  if (found == impl_->entries.end() || !found->second.durable || found->second.finishing) {
    return Error{std::string(protocol::code::kNotFound),
                 "no pending one-shot secret with id " +
                     (claim_token::looks_like_id(id) ? std::string(id) : std::string("(malformed)"))};
  }
  Change change;
  const auto batch = impl_->begin_finish(found->second, ClaimState::kRevoked, impl_->now(), change);
  if (!impl_->wait_durable(lock, batch)) return not_durable("the revocation");
  return {};
}

Result<std::vector<ClaimInfo>> ClaimLedger::expire(std::chrono::system_clock::time_point now) {
  const sys_seconds cutoff = std::chrono::floor<std::chrono::seconds>(now);
  std::unique_lock lock(impl_->mutex);
  std::vector<ClaimInfo> expired;
  for (auto& [id, entry] : impl_->entries) {
    if (entry.durable && !entry.finishing && cutoff >= entry.record.expires_at) {
      const auto& r = entry.record;
      expired.push_back(ClaimInfo{r.id, r.project, r.created_at, r.expires_at, cutoff, ClaimState::kExpired});
    }
  }
  if (expired.empty()) return expired;

  std::vector<Change> changes(expired.size());
  std::shared_ptr<Batch> batch;
  for (std::size_t i = 0; i < expired.size(); ++i) {
    batch = impl_->begin_finish(impl_->entries.at(expired[i].id), ClaimState::kExpired, cutoff, changes[i]);
  }
  if (!impl_->wait_durable(lock, batch)) return not_durable("the expiry of one-shot secrets");
  std::sort(expired.begin(), expired.end(),
            [](const ClaimInfo& a, const ClaimInfo& b) { return a.id < b.id; });
  return expired;
}

Result<void> ClaimLedger::rekey(const crypto::X25519Recipient& recipient) {
  return rekey(std::span(&recipient, 1));
}

Result<void> ClaimLedger::rekey(std::span<const crypto::X25519Recipient> recipients) {
  if (recipients.empty()) return bad_request("rekey needs at least one recipient");
  // One rekey at a time, so undoing a failed one can never overwrite a later one.
  const std::lock_guard rekeying(impl_->rekey_mutex);
  std::unique_lock lock(impl_->mutex);
  impl_->open_batch->recipients_before = impl_->recipients;
  impl_->open_batch->snapshot = true;  // and the journal starts afresh: no frame stays on the old keys
  impl_->recipients.assign(recipients.begin(), recipients.end());
  const auto batch = impl_->open_batch;
  if (!impl_->wait_durable(lock, batch)) return not_durable("the re-encrypted one-shot secret ledger");
  return {};
}

Result<void> ClaimLedger::compact() {
  std::unique_lock lock(impl_->mutex);
  if (!impl_->journal_dirty) return {};
  impl_->open_batch->snapshot = true;
  const auto batch = impl_->open_batch;
  if (!impl_->wait_durable(lock, batch)) return not_durable("the compacted one-shot secret ledger");
  return {};
}

std::vector<ClaimInfo> ClaimLedger::list() const {
  std::unique_lock lock(impl_->mutex);
  const sys_seconds now = impl_->now();
  std::vector<ClaimInfo> pending;
  for (const auto& [id, entry] : impl_->entries) {
    if (!entry.durable) continue;
    const auto& r = entry.record;
    pending.push_back(ClaimInfo{r.id, r.project, r.created_at, r.expires_at, std::nullopt,
                                now >= r.expires_at ? ClaimState::kExpired : ClaimState::kPending});
  }
  std::sort(pending.begin(), pending.end(), [](const ClaimInfo& a, const ClaimInfo& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  for (const auto& t : impl_->tombstones) pending.push_back(t.info);
  return pending;
}

std::size_t ClaimLedger::pending_count() const {
  std::unique_lock lock(impl_->mutex);
  return impl_->entries.size();
}

}  // namespace remo::core
