#include "cutover/state/shared_state.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cutover/state/schema.h"

namespace cutover::state {
namespace {

using Steady = std::chrono::steady_clock;

int64_t steady_ns(Steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::optional<std::string> target_text(const std::optional<routing::RouteTarget>& t) {
  if (!t) return std::nullopt;
  return std::string(routing::target_name(*t));
}

// The override state from the revision row (revision, updated_at,
// updated_by, state document). Errors: corruption for a document this
// binary cannot use (an unknown group: the route config and the database
// disagree) or one whose revision is not the row's.
Result<routing::OverrideState> parse_head(const QueryResult& head, const routing::RouteSplit& engine,
                                          const std::string& name) {
  if (head.rows() != 1) {
    return make_error(ErrorCode::corruption, "postgresql " + name + ": cutover.override_revision holds " +
                                                 std::to_string(head.rows()) + " rows, not one");
  }
  TRY_ASSIGN(int64_t revision, head.int64(0, 0));
  std::string document = head.text(0, 3);
  routing::OverrideState state;
  if (!document.empty()) {
    auto parsed = routing::parse_state(document, "postgresql " + name + " cutover.override_revision.state", engine);
    if (!parsed) {
      return make_error(ErrorCode::corruption,
                        parsed.error().message() +
                            " (in the database: give every replica the same route config, or clear the override "
                            "from a replica that knows the group)");
    }
    state = std::move(*parsed);
  }
  if (state.revision != static_cast<uint64_t>(revision)) {
    return make_error(ErrorCode::corruption, "postgresql " + name + ": cutover.override_revision is at revision " +
                                                 std::to_string(revision) + " but its state document at " +
                                                 std::to_string(state.revision));
  }
  state.updated_at = head.text(0, 1);
  state.updated_by = head.text(0, 2);
  return state;
}

constexpr const char* k_head_columns = "SELECT revision, updated_at, updated_by, state FROM cutover.override_revision";

}  // namespace

SharedState::SharedState(std::string url, const routing::RouteSplit& engine, base::Clock& clock,
                         SharedStateOptions options)
    : url_(std::move(url)), name_(redact_url(url_)), engine_(engine), clock_(clock), options_(options) {}

ConnectOptions SharedState::connect_options() const {
  ConnectOptions o;
  o.connect_timeout = options_.connect_timeout;
  o.query_timeout = options_.query_timeout;
  o.application_name = "cutover serve";
  return o;
}

Result<std::unique_ptr<SharedState>> SharedState::open(const std::string& url, const routing::RouteSplit& engine,
                                                       base::Clock& clock, SharedStateOptions options,
                                                       OnChange on_change) {
  TRY(check_url(url));
  std::unique_ptr<SharedState> s(new SharedState(url, engine, clock, options));
  s->on_change_ = std::move(on_change);
  if (::pipe2(s->wake_fd_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return make_error(ErrorCode::io_error, std::string("pipe: ") + std::strerror(errno));
  }
  if (auto first = s->connect_follower(); !first) {
    // A database that is down (io_error) is waited for; anything else needs the operator.
    if (first.error().code() != ErrorCode::io_error) return tl::unexpected(first.error());
    s->drop_follower(first.error());
  }
  s->thread_ = std::thread([p = s.get()] { p->follow(); });
  return s;
}

SharedState::~SharedState() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (wake_fd_[1] >= 0) (void)!::write(wake_fd_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
  for (int fd : wake_fd_)
    if (fd >= 0) ::close(fd);
}

routing::OverrideState SharedState::snapshot() const {
  std::shared_lock lock(mutex_);
  return state_;
}

bool SharedState::available() const {
  int64_t at = proven_at_ns_.load();
  if (at == 0) return false;
  return steady_ns(Steady::now()) - at <=
         std::chrono::duration_cast<std::chrono::nanoseconds>(options_.freshness_window).count();
}

Availability SharedState::availability() const {
  Availability a;
  a.available = available();
  std::shared_lock lock(mutex_);
  a.problem = problem_;
  if (!a.available && a.problem.empty()) {
    a.problem =
        "shared state " + name_ + " not proven fresh for " + std::to_string(options_.freshness_window.count()) + " ms";
  }
  return a;
}

void SharedState::install(routing::OverrideState state) {
  std::unique_lock lock(mutex_);
  if (state.revision < state_.revision) return;  // stale: a newer one is already in force
  state_ = std::move(state);
}

void SharedState::proven(Steady::time_point sent) {
  int64_t ns = steady_ns(sent);
  int64_t prev = proven_at_ns_.load();
  // Freshness lapsed since the last proof: counted before this proof is
  // published, so the follower, which reads available() first, cannot see
  // the new proof without the lapse before it (follow()).
  if (prev != 0 &&
      ns - prev > std::chrono::duration_cast<std::chrono::nanoseconds>(options_.freshness_window).count()) {
    lapses_.fetch_add(1);
  }
  while (prev < ns && !proven_at_ns_.compare_exchange_weak(prev, ns)) {
  }
  std::unique_lock lock(mutex_);
  problem_.clear();
}

// Step 2: the whole state in one snapshot; proves freshness as of `sent`.
Status SharedState::read_all(Connection& conn, Steady::time_point sent) {
  TRY_ASSIGN(Transaction tx, conn.begin("reading the overrides", "ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  TRY_ASSIGN(QueryResult head, conn.exec("reading the overrides", k_head_columns));
  TRY_ASSIGN(routing::OverrideState state, parse_head(head, engine_, name_));
  TRY(tx.commit("reading the overrides"));
  install(std::move(state));
  proven(sent);
  return {};
}

// Step 1 (and 2).
Status SharedState::connect_follower() {
  auto sent = Steady::now();
  TRY_ASSIGN(auto conn, Connection::connect(url_, connect_options()));
  TRY(check_schema(*conn));
  TRY(conn->exec_script("listening for override notifications", "LISTEN " + std::string(k_notify_channel)));
  TRY(read_all(*conn, sent));
  follower_ = std::move(conn);
  return {};
}

void SharedState::drop_follower(const Error& error) {
  follower_.reset();
  std::unique_lock lock(mutex_);
  problem_ = error.message();
}

Status SharedState::heartbeat() {
  auto sent = Steady::now();
  TRY_ASSIGN(QueryResult r, follower_->exec("heartbeat", "SELECT revision FROM cutover.override_revision"));
  if (r.rows() != 1) return make_error(ErrorCode::corruption, "postgresql " + name_ + ": no override revision row");
  TRY_ASSIGN(int64_t revision, r.int64(0, 0));
  if (static_cast<uint64_t>(revision) > snapshot().revision) return read_all(*follower_, sent);
  proven(sent);
  return {};
}

// Steps 3-4, until the destructor says stop.
void SharedState::follow() {
  auto next_heartbeat = Steady::now() + options_.heartbeat_interval;
  for (;;) {
    if (on_change_) {
      Availability now = availability();
      // Freshness can lapse and be proven again between two looks here (this
      // thread was waiting to connect again, and the database came back
      // within the wait): the turn down happened all the same; tell of it.
      if (uint64_t lapses = lapses_.load(); lapses != lapses_reported_) {
        lapses_reported_ = lapses;
        if (reported_ == true) {
          reported_ = false;
          on_change_({false, "shared state " + name_ + " was not proven fresh for more than " +
                                 std::to_string(options_.freshness_window.count()) + " ms"});
        }
      }
      if (reported_ != now.available) {
        reported_ = now.available;
        on_change_(now);
      }
    }
    {
      std::unique_lock lock(stop_mutex_);
      if (stopping_) return;
      if (!follower_) {
        // Step 4: wait, then connect again.
        if (stop_cv_.wait_for(lock, options_.heartbeat_interval, [&] { return stopping_; })) return;
      }
    }
    if (!follower_) {
      if (auto st = connect_follower(); !st) {
        drop_follower(st.error());
        continue;
      }
      next_heartbeat = Steady::now() + options_.heartbeat_interval;
    }
    // Notifications libpq already read (during a heartbeat or a full read)
    // wait in its queue, not on the socket: look there first.
    uint64_t newest = 0;
    auto drain = [&] {
      while (auto note = follower_->next_notification()) {
        newest = std::max<uint64_t>(newest, std::strtoull(note->payload.c_str(), nullptr, 10));
      }
    };
    drain();
    Status st;
    if (newest <= snapshot().revision) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat - Steady::now());
      pollfd fds[2] = {{follower_->socket(), POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
      int n = ::poll(fds, 2, static_cast<int>(std::max<int64_t>(0, wait.count())));
      if (n < 0 && errno != EINTR) {
        drop_follower(Error(ErrorCode::io_error, std::string("poll: ") + std::strerror(errno)));
        continue;
      }
      if (n > 0 && fds[1].revents != 0) continue;  // woken to stop
      if (n > 0 && fds[0].revents != 0) {
        st = follower_->consume_input();
        drain();
      }
    }
    if (st && newest > snapshot().revision) st = read_all(*follower_, Steady::now());
    if (st && Steady::now() >= next_heartbeat) {
      next_heartbeat = Steady::now() + options_.heartbeat_interval;
      st = heartbeat();
    }
    if (!st) drop_follower(st.error());
  }
}

Result<tl::expected<AppliedOverride, routing::FieldError>> SharedState::apply(std::string_view target,
                                                                              std::optional<std::string_view> domain,
                                                                              const std::string& actor,
                                                                              const Recorder& record) {
  routing::OverrideRequest request;
  request.target = std::string(target);
  if (domain) request.domain = std::string(*domain);
  return apply_request(request, actor, record);
}

namespace {

// Writes cutover.overrides from `overrides`: one row per scope that holds a
// target, rewritten whole (an abort of every group or an undo changes many
// scopes in one revision).
Status write_override_rows(Connection& c, const routing::Overrides& overrides, const std::string& rev,
                           const std::string& at, const std::string& actor) {
  TRY(c.exec("clearing the override rows", "DELETE FROM cutover.overrides"));
  auto insert = [&](const std::string& scope, routing::RouteTarget t) {
    return c.exec("writing the override row",
                  "INSERT INTO cutover.overrides (scope, target, revision, updated_at, updated_by) "
                  "VALUES ($1, $2, $3, $4, $5)",
                  {scope, std::string(routing::target_name(t)), rev, at, actor});
  };
  if (overrides.global) TRY(insert("global", *overrides.global));
  for (const auto& [group, t] : overrides.groups) TRY(insert("domain:" + group, t));
  return {};
}

}  // namespace

Result<tl::expected<AppliedOverride, routing::FieldError>> SharedState::apply_request(
    const routing::OverrideRequest& request, const std::string& actor, const Recorder& record) {
  std::lock_guard writer_lock(writer_mutex_);
  if (!available()) {
    return make_error(ErrorCode::io_error, "shared state unavailable (" + availability().problem +
                                               "); the override was not applied: retry when the database is back");
  }
  // A connection kept from an earlier override may have been closed by the
  // server since (a restart): BEGIN finds out, and nothing was sent yet, so
  // one new connection is tried.
  std::optional<Result<Transaction>> begun;
  if (writer_ && writer_->ok()) begun.emplace(writer_->begin("starting the override transaction"));
  if (!begun || (!*begun && !writer_->ok())) {
    writer_.reset();
    TRY_ASSIGN(writer_, Connection::connect(url_, connect_options()));
    begun.emplace(writer_->begin("starting the override transaction"));
  }
  Connection& c = *writer_;
  TRY_ASSIGN(Transaction tx, std::move(*begun));
  TRY(c.exec("setting the lock timeout", "SELECT set_config('lock_timeout', $1, true)",
             {std::to_string(options_.lock_timeout.count()) + "ms"}));
  TRY_ASSIGN(QueryResult head, c.exec("locking the override revision", std::string(k_head_columns) + " FOR UPDATE"));
  TRY_ASSIGN(routing::OverrideState state, parse_head(head, engine_, name_));

  AppliedOverride applied;
  auto change = routing::apply_request(engine_, state, request);
  if (!change) return tl::expected<AppliedOverride, routing::FieldError>(tl::unexpect, change.error());
  applied.change = std::move(*change);
  state.revision += 1;
  state.updated_at = base::rfc3339_utc(clock_.now_ns());
  state.updated_by = actor;
  applied.state = state;
  std::string rev = std::to_string(state.revision);

  TRY(write_override_rows(c, state.overrides, rev, state.updated_at, actor));
  TRY(c.exec("bumping the override revision",
             "UPDATE cutover.override_revision SET revision = $1, updated_at = $2, updated_by = $3, state = $4",
             {rev, state.updated_at, actor, routing::state_to_json(state)}));
  TRY_ASSIGN(std::string event, record(applied));
  TRY(c.exec("writing the audit row",
             "INSERT INTO cutover.audit_log (revision, recorded_at, actor, scope, target, previous, current, event) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
             {rev, state.updated_at, actor, applied.change.scope, applied.change.target,
              target_text(applied.change.previous), target_text(applied.change.current), event}));
  TRY(c.exec("queueing the notification", "SELECT pg_notify($1, $2)", {std::string(k_notify_channel), rev}));
  if (auto committed = tx.commit("committing the override"); !committed) {
    std::string msg = committed.error().message();
    if (!c.ok()) msg += "; the connection was lost during COMMIT: the override may have been committed, read the state";
    writer_.reset();
    return make_error(committed.error().code(), msg);
  }
  install(state);
  return applied;
}

}  // namespace cutover::state
