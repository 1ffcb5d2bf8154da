#include "cutover/state/pg.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace cutover::state {
namespace {

using Clock = std::chrono::steady_clock;

// libpq's messages end with a newline and may span lines.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

ErrorCode code_for_sqlstate(std::string_view state) {
  if (state == "42501" || state == "28000" || state == "28P01") return ErrorCode::permission_denied;
  if (state == "40001" || state == "40P01" || state == "55P03" || state == "23505") return ErrorCode::conflict;
  if (state == "42P01" || state == "3F000") return ErrorCode::not_found;
  return ErrorCode::io_error;
}

// Waits until the socket is ready for `events` or the deadline passes.
// Returns false on timeout.
Result<bool> wait_socket(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return make_error(ErrorCode::io_error, std::string("poll: ") + std::strerror(errno));
  }
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out(url);
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?", start);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    size_t v = p + 9;
    size_t end = out.find('&', v);
    if (end == std::string::npos) end = out.size();
    out.replace(v, end - v, "***");
  }
  return out;
}

Status check_url(std::string_view url) {
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    return make_error(
        ErrorCode::invalid_argument,
        "'" + redact_url(url) + "' is not a postgresql:// URL (e.g. postgresql://cutover@db.internal/cutover)");
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(url).c_str(), &err);
  if (opts == nullptr) {
    std::string why = err ? one_line(err) : "out of memory";
    if (err) PQfreemem(err);
    return make_error(ErrorCode::invalid_argument, "'" + redact_url(url) + "' is not a usable postgresql URL: " + why);
  }
  PQconninfoFree(opts);
  return {};
}

// --- QueryResult ---------------------------------------------------------------

void QueryResult::Clear::operator()(pg_result* r) const { PQclear(r); }

int QueryResult::rows() const { return result_ ? PQntuples(result_.get()) : 0; }
int QueryResult::columns() const { return result_ ? PQnfields(result_.get()) : 0; }
bool QueryResult::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
std::string QueryResult::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}
Result<int64_t> QueryResult::int64(int row, int column) const {
  std::string v = text(row, column);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (is_null(row, column) || ec != std::errc() || end != v.data() + v.size()) {
    return make_error(ErrorCode::corruption,
                      std::string("column ") + PQfname(result_.get(), column) + " holds '" + v + "', not an integer");
  }
  return out;
}

// --- Connection ------------------------------------------------------------------

Result<std::unique_ptr<Connection>> Connection::connect(const std::string& url, const ConnectOptions& options) {
  TRY(check_url(url));
  std::string name = redact_url(url);
  // Defaults first: the URL's own parameters (expanded from dbname) win.
  const char* keys[] = {
      "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "application_name", "dbname",
      nullptr};
  const char* values[] = {"1", "5", "2", "3", options.application_name.c_str(), url.c_str(), nullptr};
  pg_conn* conn = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return make_error(ErrorCode::io_error, "postgresql " + name + ": out of memory");
  auto fail = [&](std::string why) -> Result<std::unique_ptr<Connection>> {
    std::string msg = "cannot connect to postgresql " + name + ": " + why;
    ErrorCode code = (why.find("authentication") != std::string::npos || why.find("permission") != std::string::npos)
                         ? ErrorCode::permission_denied
                         : ErrorCode::io_error;
    PQfinish(conn);
    return make_error(code, msg + "; check the URL and that the database is up");
  };
  if (PQstatus(conn) == CONNECTION_BAD) return fail(one_line(PQerrorMessage(conn)));
  auto deadline = Clock::now() + options.connect_timeout;
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) return fail(one_line(PQerrorMessage(conn)));
    short events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    auto ready = wait_socket(PQsocket(conn), events, deadline);
    if (!ready) return fail(ready.error().message());
    if (!*ready) return fail("no answer within " + std::to_string(options.connect_timeout.count()) + " ms");
    st = PQconnectPoll(conn);
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);  // NOTICEs are not ours to print
  if (PQsetnonblocking(conn, 1) != 0) return fail(one_line(PQerrorMessage(conn)));
  return std::unique_ptr<Connection>(new Connection(conn, std::move(name), options));
}

Connection::~Connection() { close(); }

void Connection::close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

bool Connection::ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }
int Connection::socket() const { return conn_ ? PQsocket(conn_) : -1; }

Error Connection::lost(std::string_view what, std::string_view why) {
  close();
  return Error(ErrorCode::io_error, "postgresql " + name_ + ": " + std::string(what) + ": " + std::string(why) +
                                        " (connection closed; check that the database is up and reachable)");
}

Result<QueryResult> Connection::run(std::string_view what, const std::string& sql, const Params* params) {
  if (!ok()) return tl::unexpected(lost(what, "not connected"));
  int sent;
  if (params == nullptr) {
    sent = PQsendQuery(conn_, sql.c_str());
  } else {
    std::vector<const char*> values;
    for (const auto& p : *params) values.push_back(p ? p->c_str() : nullptr);
    sent = PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                             nullptr, 0);
  }
  if (!sent) return tl::unexpected(lost(what, one_line(PQerrorMessage(conn_))));
  auto deadline = Clock::now() + options_.query_timeout;
  std::string timeout = "no answer within " + std::to_string(options_.query_timeout.count()) + " ms";
  for (;;) {
    int f = PQflush(conn_);
    if (f == 0) break;
    if (f < 0) return tl::unexpected(lost(what, one_line(PQerrorMessage(conn_))));
    auto ready = wait_socket(PQsocket(conn_), POLLOUT | POLLIN, deadline);
    if (!ready) return tl::unexpected(lost(what, ready.error().message()));
    if (!*ready) return tl::unexpected(lost(what, timeout));
    if (!PQconsumeInput(conn_)) return tl::unexpected(lost(what, one_line(PQerrorMessage(conn_))));
  }
  QueryResult last;
  std::optional<Error> failure;
  for (;;) {
    while (PQisBusy(conn_)) {
      auto ready = wait_socket(PQsocket(conn_), POLLIN, deadline);
      if (!ready) return tl::unexpected(lost(what, ready.error().message()));
      if (!*ready) return tl::unexpected(lost(what, timeout));
      if (!PQconsumeInput(conn_)) return tl::unexpected(lost(what, one_line(PQerrorMessage(conn_))));
    }
    pg_result* r = PQgetResult(conn_);
    if (r == nullptr) break;
    QueryResult current(r);
    ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
      last = std::move(current);
    } else if (!failure) {
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
      std::string why = primary ? primary : one_line(PQresultErrorMessage(r));
      if (state) why += std::string(" (SQLSTATE ") + state + ")";
      failure = Error(state ? code_for_sqlstate(state) : ErrorCode::io_error,
                      "postgresql " + name_ + ": " + std::string(what) + ": " + why);
    }
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    return tl::unexpected(lost(what, failure ? failure->message() : one_line(PQerrorMessage(conn_))));
  }
  if (failure) return tl::unexpected(*failure);
  return last;
}

Result<QueryResult> Connection::exec(std::string_view what, const std::string& sql, const Params& params) {
  return run(what, sql, &params);
}

Status Connection::exec_script(std::string_view what, const std::string& sql) {
  TRY(run(what, sql, nullptr));
  return {};
}

Result<Transaction> Connection::begin(std::string_view what, std::string_view mode) {
  std::string sql = "BEGIN";
  if (!mode.empty()) sql += " " + std::string(mode);
  TRY(run(what, sql, nullptr));
  return Transaction(this);
}

Status Connection::consume_input() {
  if (!ok()) return tl::unexpected(lost("waiting for notifications", "not connected"));
  if (!PQconsumeInput(conn_) || PQstatus(conn_) != CONNECTION_OK) {
    return tl::unexpected(lost("waiting for notifications", one_line(PQerrorMessage(conn_))));
  }
  return {};
}

std::optional<Notification> Connection::next_notification() {
  if (conn_ == nullptr) return std::nullopt;
  PGnotify* n = PQnotifies(conn_);
  if (n == nullptr) return std::nullopt;
  Notification out{n->relname, n->extra ? n->extra : "", n->be_pid};
  PQfreemem(n);
  return out;
}

// --- Transaction -------------------------------------------------------------------

Transaction::~Transaction() { rollback(); }

void Transaction::rollback() {
  if (conn_ != nullptr && conn_->ok()) (void)conn_->exec_script("rolling back", "ROLLBACK");
  conn_ = nullptr;
}

Status Transaction::commit(std::string_view what) {
  Connection* conn = conn_;
  conn_ = nullptr;
  if (conn == nullptr) return make_error(ErrorCode::io_error, std::string(what) + ": the transaction is over");
  return conn->exec_script(what, "COMMIT");
}

}  // namespace cutover::state
