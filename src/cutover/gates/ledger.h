// The phase ledger (docs/formats/ledger.md): an append-only file of JSON
// lines, one record a step, each holding the SHA-256 of the line before it,
// so that a changed, inserted or reordered line, or one removed before the
// last, breaks the chain and is reported, never silently accepted.
//
// What the chain cannot prove: that no line was removed from the END. A
// ledger cut after any record is a valid, shorter chain. Only a head kept
// elsewhere catches that: `gate status` prints the head (COUNT:SHA256),
// `gate verify --head COUNT:SHA256` checks a ledger still holds it, and an
// evidence bundle collected with --ledger records it (the gates check it).
//
// Writing: the ledger is small (a few records a group), so an append is
// done as write-new-then-rename: under an exclusive lock on LEDGER.lock, the
// whole ledger is read and its chain checked, and the old bytes plus the new
// line are written to a temporary file, fsynced, renamed over the ledger and
// the folder fsynced. The bytes already in the file never change (they are
// copied, and checked to be what was verified), a crash leaves the old
// ledger or the new one, never a torn line, and two writers never interleave.
//
// Thread safety: LedgerWriter is for one thread; several processes are
// serialised by the lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/base/version.h"
#include "cutover/json/document.h"

namespace cutover::gates {

inline constexpr std::string_view k_ledger_schema = "cutover.ledger.v1";
// What records, statements and reports name as their writer.
inline constexpr std::string_view k_tool = base::k_tool_version;
// The prev_sha256 of the first record.
inline constexpr std::string_view k_ledger_genesis = "0000000000000000000000000000000000000000000000000000000000000000";

struct LedgerRecord {
  uint64_t seq = 0;         // 1, 2, 3, ... in file order
  std::string prev_sha256;  // SHA-256 of the previous line's bytes (k_ledger_genesis first)
  std::string recorded_at;  // RFC 3339 UTC
  std::string group;        // a normalised route group name
  std::string phase;        // the phase the group entered
  std::string tool;
  std::string note;         // the operator's --note, "" for none
  json::Document evidence;  // what the gate checked (its root an object)
  std::string line_sha256;  // SHA-256 of this record's line (without its newline)
};

struct Ledger {
  std::string path;
  bool exists = false;
  std::vector<LedgerRecord> records;
  std::string head_sha256 = std::string(k_ledger_genesis);  // the last line's SHA-256
};

// A ledger's head: how many records it holds and the SHA-256 of the last
// line (k_ledger_genesis for none), written "COUNT:SHA256".
struct LedgerHead {
  uint64_t records = 0;
  std::string sha256 = std::string(k_ledger_genesis);
  std::string text() const { return std::to_string(records) + ":" + sha256; }
};

LedgerHead head_of(const Ledger& ledger);

// Reads "COUNT:SHA256" (COUNT decimal digits, SHA256 64 lower-case hex).
// Errors: invalid_argument saying what is wrong.
Result<LedgerHead> parse_ledger_head(std::string_view text);

// OK when `ledger` still holds `head`: at least head.records records, and
// the one at that place hashes to head.sha256 (records added since are
// fine: the ledger only grows). Errors: conflict saying which: the ledger
// was truncated (fewer records) or rewritten (another line at that place).
Status check_ledger_head(const Ledger& ledger, const LedgerHead& head);

// Route group names as operators give them are trimmed, lower-cased and '-'
// becomes '_' (as the route split does). Errors: invalid_argument unless the
// result is 1-64 characters of a-z, 0-9 and '_'.
Result<std::string> normalize_group(std::string_view name);

// Reads a ledger and checks its chain. A missing file is an empty ledger
// (exists = false). Errors: corruption naming the file and the first line
// that breaks the chain (not JSON, another schema, a missing field, a seq out
// of order, a prev_sha256 that is not the previous line's SHA-256, an
// incomplete last line, an empty line); io_error or permission_denied.
Result<Ledger> read_ledger(base::FileSystem& fs, const std::string& path);

// Reads a ledger that must already exist: every command but the
// `gate advance ... expand --new-ledger` that starts one. A path that does
// not exist or cannot be read is never an empty ledger (a typo must not read
// as "no open window"). Errors: not_found naming the path when it does not
// exist; invalid_argument when it is not a regular file or cannot be read
// (permissions, a folder on the way that is not one); read_ledger's others.
Result<Ledger> read_existing_ledger(base::FileSystem& fs, const std::string& path);

// Parses ledger bytes (read_ledger without the file system).
Result<Ledger> parse_ledger(std::string_view bytes, const std::string& path);

// The record's line (compact JSON, keys sorted, no newline).
std::string record_line(const LedgerRecord& record);

// Holds the ledger's lock while a gate decides and a record is appended.
// What a gate needs of a ledger it appends to: the chain as read under the
// writer's lock, and append. LedgerWriter (a file) and
// state::PgLedgerWriter (PostgreSQL, state/pg_ledger.h) implement it.
class LedgerAppender {
 public:
  virtual ~LedgerAppender() = default;
  virtual const Ledger& ledger() const = 0;
  virtual Result<LedgerRecord> append(const std::string& group, const std::string& phase, json::Document evidence,
                                      const std::string& note, base::Clock& clock) = 0;
};

class LedgerWriter final : public LedgerAppender {
 public:
  // Locks LEDGER.lock (without waiting) and reads the ledger. Errors:
  // conflict when another process holds the lock; read_ledger's errors (a
  // broken chain refuses every append); not_found when the ledger's folder
  // does not exist.
  static Result<std::unique_ptr<LedgerWriter>> open(base::FileSystem& fs, const std::string& path);

  const Ledger& ledger() const override { return ledger_; }

  // Appends a record for `group` entering `phase` (seq, prev_sha256 and
  // recorded_at are filled in) and makes it durable. Errors: conflict when
  // the file changed since open() (someone edited it without the lock);
  // io_error or permission_denied (the ledger is then unchanged).
  Result<LedgerRecord> append(const std::string& group, const std::string& phase, json::Document evidence,
                              const std::string& note, base::Clock& clock) override;

 private:
  LedgerWriter(base::FileSystem& fs, std::string path, std::unique_ptr<base::Lock> lock, Ledger ledger,
               std::string bytes)
      : fs_(fs), path_(std::move(path)), lock_(std::move(lock)), ledger_(std::move(ledger)), bytes_(std::move(bytes)) {}

  base::FileSystem& fs_;
  std::string path_;
  std::unique_ptr<base::Lock> lock_;
  Ledger ledger_;
  std::string bytes_;  // the file as read and verified
};

}  // namespace cutover::gates
