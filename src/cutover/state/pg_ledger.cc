#include "cutover/state/pg_ledger.h"

#include "cutover/hash/sha256.h"
#include "cutover/state/schema.h"

namespace cutover::state {
namespace {

std::string ledger_name(const Connection& conn, const std::string& name) { return conn.name() + " ledger " + name; }

Result<gates::Ledger> read_rows(Connection& conn, const std::string& name) {
  TRY_ASSIGN(QueryResult rows,
             conn.exec("reading ledger " + name,
                       "SELECT seq, line, line_sha256 FROM cutover.ledger WHERE ledger = $1 ORDER BY seq", {name}));
  std::string path = ledger_name(conn, name);
  std::string bytes;
  for (int i = 0; i < rows.rows(); ++i) {
    bytes += rows.text(i, 1);
    bytes += '\n';
  }
  // The chain is checked by the file ledger's own parser.
  TRY_ASSIGN(gates::Ledger ledger, gates::parse_ledger(bytes, path));
  ledger.exists = rows.rows() > 0;
  // The columns beside the line must agree with it (a line holding a
  // newline would have split in two above and broken the chain already).
  for (int i = 0; i < rows.rows(); ++i) {
    std::string seq = rows.text(i, 0);
    const gates::LedgerRecord& r = ledger.records[static_cast<size_t>(i)];
    if (seq != std::to_string(r.seq) || rows.text(i, 2) != r.line_sha256) {
      return make_error(ErrorCode::corruption,
                        "ledger " + path + " is broken at line " + std::to_string(i + 1) + ": its row says seq " + seq +
                            " and line_sha256 " + rows.text(i, 2) + ", but the line is record " +
                            std::to_string(r.seq) + " hashing to " + r.line_sha256 +
                            "; the chain of records cannot be trusted past this point: restore the table from a "
                            "backup, and never edit it by hand");
    }
  }
  return ledger;
}

}  // namespace

Result<gates::Ledger> read_pg_ledger(Connection& conn, const std::string& name) {
  TRY_ASSIGN(Transaction tx, conn.begin("reading ledger " + name, "ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  TRY_ASSIGN(gates::Ledger ledger, read_rows(conn, name));
  TRY(tx.commit("reading ledger " + name));
  return ledger;
}

Status PgLedgerWriter::lock_and_read() {
  TRY_ASSIGN(Transaction tx, conn_->begin("starting the ledger transaction"));
  tx_.emplace(std::move(tx));
  TRY(conn_->exec("setting the lock timeout", "SELECT set_config('lock_timeout', $1, true)",
                  {std::to_string(lock_wait_.count()) + "ms"}));
  auto locked = conn_->exec("waiting for ledger " + name_ + "'s lock", "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                            {std::to_string(k_lock_class), name_});
  if (!locked) {
    if (locked.error().code() == ErrorCode::conflict) {
      return make_error(ErrorCode::conflict, "ledger " + ledger_name(*conn_, name_) +
                                                 " is locked by another cutover gate command; wait for it to finish, "
                                                 "then try again");
    }
    return tl::unexpected(locked.error());
  }
  TRY_ASSIGN(ledger_, read_rows(*conn_, name_));
  return {};
}

Result<std::unique_ptr<PgLedgerWriter>> PgLedgerWriter::open(std::unique_ptr<Connection> conn, const std::string& name,
                                                             std::chrono::milliseconds lock_wait) {
  TRY(check_schema(*conn));
  std::unique_ptr<PgLedgerWriter> w(new PgLedgerWriter(std::move(conn), name, lock_wait));
  TRY(w->lock_and_read());
  return w;
}

Result<gates::LedgerRecord> PgLedgerWriter::append(const std::string& group, const std::string& phase,
                                                   json::Document evidence, const std::string& note,
                                                   base::Clock& clock) {
  if (!tx_) return make_error(ErrorCode::conflict, refusal_);
  gates::LedgerRecord r;
  r.seq = ledger_.records.size() + 1;
  r.prev_sha256 = ledger_.head_sha256;
  r.recorded_at = base::rfc3339_utc(clock.now_ns());
  r.group = group;
  r.phase = phase;
  r.tool = std::string(gates::k_tool);
  r.note = note;
  r.evidence = std::move(evidence);
  std::string line = gates::record_line(r);
  r.line_sha256 = hash::sha256_hex(line);
  TRY(conn_->exec("appending to ledger " + name_,
                  "INSERT INTO cutover.ledger (ledger, seq, line, line_sha256) VALUES ($1, $2, $3, $4)",
                  {name_, std::to_string(r.seq), line, r.line_sha256}));
  Transaction tx = std::move(*tx_);
  tx_.reset();
  if (auto committed = tx.commit("committing to ledger " + name_); !committed) {
    std::string msg = committed.error().message();
    if (!conn_->ok())
      msg += "; the connection was lost during COMMIT: the record may have been appended, read the ledger";
    return make_error(committed.error().code(), msg);
  }
  ledger_.records.push_back(r);
  ledger_.head_sha256 = r.line_sha256;
  ledger_.exists = true;
  // Take the lock again for the next append. Another writer may have been
  // in between: the record is in, but the next append is refused (the gate
  // decided on a ledger that is not the head any more).
  gates::LedgerHead ours = gates::head_of(ledger_);
  if (auto again = lock_and_read(); !again) {
    tx_.reset();
    refusal_ = again.error().message();
  } else if (gates::head_of(ledger_).text() != ours.text()) {
    tx_.reset();
    refusal_ = "ledger " + ledger_name(*conn_, name_) + " changed after record " + std::to_string(r.seq) +
               " was appended (another gate command); nothing more was recorded: run the command again";
  }
  return r;
}

}  // namespace cutover::state
