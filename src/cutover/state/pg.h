// A small RAII wrapper over libpq (the only place that includes libpq's
// headers) made for an event loop: every round trip is sent without
// blocking and waited for with poll(2) up to a deadline, so a database that
// stops answering costs at most the query timeout, never a hang; the socket
// is exposed so a loop can wait for LISTEN notifications next to its other
// descriptors and consume them without blocking.
//
// Errors are values (no exceptions): each names the database (its URL with
// the password replaced by "***"), what was being done, and PostgreSQL's own
// message with its SQLSTATE. Codes: io_error for a database that cannot be
// reached, stops answering or fails a statement; permission_denied for
// SQLSTATE 42501 and authentication failures; conflict for serialisation
// failures, deadlocks, lock timeouts and unique violations (retry);
// not_found for a missing table or schema (42P01, 3F000: `cutover state
// init` has not run); invalid_argument for a URL that is not one.
//
// Thread safety: a Connection is for one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"

// libpq's types, declared here so that its header stays in pg.cc.
struct pg_conn;
struct pg_result;

namespace cutover::state {

// The URL with any password (user:PASSWORD@ or password=...) shown as ***.
std::string redact_url(std::string_view url);

// OK for a postgresql:// (or postgres://) URL libpq can parse. Errors:
// invalid_argument saying why.
Status check_url(std::string_view url);

struct ConnectOptions {
  std::chrono::milliseconds connect_timeout{5000};  // from start to a usable session
  std::chrono::milliseconds query_timeout{10000};   // one statement's round trip
  std::string application_name = "cutover";
};

// Parameters of a statement: text values, nullopt for SQL NULL.
using Params = std::vector<std::optional<std::string>>;

// The rows of a statement that succeeded.
class QueryResult {
 public:
  QueryResult() = default;
  QueryResult(QueryResult&&) noexcept = default;
  QueryResult& operator=(QueryResult&&) noexcept = default;

  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  // The value as text ("" for NULL). REQUIRES: row < rows(), column < columns().
  std::string text(int row, int column) const;
  // The value as a signed 64-bit integer. Errors: corruption when it is NULL
  // or not an integer.
  Result<int64_t> int64(int row, int column) const;

 private:
  friend class Connection;
  struct Clear {
    void operator()(pg_result* r) const;
  };
  explicit QueryResult(pg_result* r) : result_(r) {}
  std::unique_ptr<pg_result, Clear> result_;
};

struct Notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0;
};

class Transaction;

class Connection {
 public:
  // Connects to `url` (libpq's postgresql:// URI form; its own parameters
  // win over the defaults set here: TCP keepalives on, idle 5 s, interval
  // 2 s, 3 probes; application_name). Errors: invalid_argument for a bad
  // URL; io_error or permission_denied when the database cannot be reached
  // or refuses us within options.connect_timeout.
  static Result<std::unique_ptr<Connection>> connect(const std::string& url, const ConnectOptions& options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with $1, $2, ... bound to `params` (extended
  // protocol, so values are never spliced into SQL). `what` says what it
  // does in the operator's words ("reading the overrides") for errors. A
  // statement that does not answer within the query timeout closes the
  // connection (its state is unknown).
  Result<QueryResult> exec(std::string_view what, const std::string& sql, const Params& params = {});
  // Runs several ;-separated statements without parameters (simple protocol).
  Status exec_script(std::string_view what, const std::string& sql);

  // BEGIN with `mode` appended ("ISOLATION LEVEL REPEATABLE READ", ...).
  Result<Transaction> begin(std::string_view what, std::string_view mode = "");

  // Whether the connection is usable (false after a lost connection or a
  // timed-out statement; connect again).
  bool ok() const;
  // The socket to wait on for notifications (-1 when closed).
  int socket() const;
  // Reads whatever has arrived on the socket without blocking. Errors:
  // io_error when the connection is lost.
  Status consume_input();
  // The next notification already read (consume_input), if any.
  std::optional<Notification> next_notification();

  // The URL with the password hidden, for messages.
  const std::string& name() const { return name_; }
  const ConnectOptions& options() const { return options_; }

 private:
  Connection(pg_conn* conn, std::string name, ConnectOptions options)
      : conn_(conn), name_(std::move(name)), options_(std::move(options)) {}
  Result<QueryResult> run(std::string_view what, const std::string& sql, const Params* params);
  Error lost(std::string_view what, std::string_view why);
  void close();

  pg_conn* conn_;
  std::string name_;
  ConnectOptions options_;
};

// An open transaction; rolled back when destroyed without commit().
class Transaction {
 public:
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  // COMMIT. Errors: io_error or conflict; the transaction is then over
  // either way (when the connection was lost during COMMIT, whether it
  // committed is unknown: the caller must say so).
  Status commit(std::string_view what);
  // ROLLBACK (errors ignored: a lost connection rolls back by itself).
  void rollback();

 private:
  friend class Connection;
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

}  // namespace cutover::state
