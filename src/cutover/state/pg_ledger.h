// The gate ledger in PostgreSQL: the same records, lines and hash chain as
// the file ledger (evidence/ledger.h, docs/formats/ledger.md), one row a
// line in cutover.ledger (ledger name, seq, line, line_sha256). Reading
// joins the lines and checks them with the file ledger's own parser, so a
// row edited, inserted or removed in the database (before the last) breaks
// the chain and is reported exactly as in a file; the stored seq and
// line_sha256 must match too.
//
// Appending: PgLedgerWriter::open starts a transaction, takes
// pg_advisory_xact_lock(k_lock_class, hashtext(name)) and only THEN reads
// the chain head, so two writers on different hosts take turns and each
// builds on the other's record: the chain never forks. The lock is held
// while the gate decides (like LEDGER.lock), each append commits its row
// (durable when append returns) and takes the lock again at once for the
// next one; (ledger, seq) is the primary key, so even a writer that skipped
// the lock could not fork the chain, only fail.
//
// Thread safety: PgLedgerWriter is for one thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/gates/ledger.h"
#include "cutover/json/document.h"
#include "cutover/state/pg.h"

namespace cutover::state {

inline constexpr std::string_view k_default_ledger = "default";

// Reads ledger `name` (one snapshot) and checks its chain. No rows is an
// empty ledger (exists = false). Errors: corruption as read_ledger's, naming
// "<url> ledger <name>"; not_found when the schema is missing; io_error.
Result<gates::Ledger> read_pg_ledger(Connection& conn, const std::string& name = std::string(k_default_ledger));

class PgLedgerWriter final : public gates::LedgerAppender {
 public:
  // Starts the transaction, waits for the ledger's advisory lock (up to
  // `lock_wait`) and reads the chain. Errors: conflict when the lock was not
  // had in time; read_pg_ledger's (a broken chain refuses every append).
  static Result<std::unique_ptr<PgLedgerWriter>> open(std::unique_ptr<Connection> conn,
                                                      const std::string& name = std::string(k_default_ledger),
                                                      std::chrono::milliseconds lock_wait = std::chrono::seconds(30));

  const gates::Ledger& ledger() const override { return ledger_; }

  // Appends a record for `group` entering `phase` (seq, prev_sha256 and
  // recorded_at filled in as LedgerWriter::append does) and commits it.
  // Errors: io_error (the ledger is unchanged unless the connection was lost
  // during COMMIT, which the message then says); conflict when the ledger
  // changed since the lock was last taken.
  Result<gates::LedgerRecord> append(const std::string& group, const std::string& phase, json::Document evidence,
                                     const std::string& note, base::Clock& clock) override;

 private:
  PgLedgerWriter(std::unique_ptr<Connection> conn, std::string name, std::chrono::milliseconds lock_wait)
      : conn_(std::move(conn)), name_(std::move(name)), lock_wait_(lock_wait) {}
  Status lock_and_read();

  std::unique_ptr<Connection> conn_;
  std::string name_;
  std::chrono::milliseconds lock_wait_;
  std::optional<Transaction> tx_;
  gates::Ledger ledger_;
  std::string refusal_;  // why appends are refused once tx_ is gone
};

}  // namespace cutover::state
