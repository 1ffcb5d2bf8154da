// The route overrides shared by every replica through PostgreSQL: one
// truth, so that replicas never disagree after an override, and a replica
// that cannot prove it knows that truth says so instead of guessing.
//
// Writing (apply): one transaction takes the revision row FOR UPDATE (so
// writers on every replica take turns), reads the current overrides, applies
// the request (routing::apply_request, as the state folder does), writes
// the state document (routing::state_to_json) and the override rows, bumps the revision, inserts the audit row and
// queues NOTIFY cutover_overrides '<revision>', which PostgreSQL delivers only when the transaction commits. The
// override is acknowledged (apply returns it) only after COMMIT succeeded, and is in force on this replica from then.
//
// Following (a thread of its own, with a connection of its own):
//   1. connect, check the schema version, LISTEN cutover_overrides;
//   2. read the whole state (one REPEATABLE READ snapshot) — after LISTEN,
//      so no change can fall between the read and the first notification;
//   3. wait for a notification or the next heartbeat (heartbeat_interval):
//      a notification naming a newer revision, or a heartbeat (SELECT of
//      the revision) that finds one, reads the whole state again. A state
//      older than or equal to the one held is ignored (stale).
//   4. on any error, close the connection, wait heartbeat_interval and
//      start over at 1.
// Each successful heartbeat or full read proves freshness as of the moment
// it was sent. When freshness has not been proven for freshness_window
// (2 s by default), available() is false: the caller (the server) then
// serves every group's rollback target, answers /readyz 503 and refuses
// overrides; apply() refuses too (never writes anything locally). TCP
// keepalives (pg.h) close a connection to a host that vanished.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/routing/overrides.h"
#include "cutover/state/pg.h"

namespace cutover::state {

inline constexpr std::string_view k_notify_channel = "cutover_overrides";

struct SharedStateOptions {
  std::chrono::milliseconds heartbeat_interval{300};
  std::chrono::milliseconds freshness_window{2000};
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds query_timeout{1000};
  std::chrono::milliseconds lock_timeout{5000};  // apply(): waiting for another writer
};

// What an override did (as server::OverrideStore::Applied).
struct AppliedOverride {
  routing::OverrideChange change;
  routing::OverrideState state;  // after the change
};

// Whether the state in memory is proven fresh, and if not, why.
struct Availability {
  bool available = false;
  std::string problem;  // the last error, "" while all is well
};

class SharedState {
 public:
  // Connects (the follower's first round, steps 1-2, done here) and starts
  // the follower thread. A database that cannot be reached is not an error:
  // the state starts unavailable and the follower keeps trying. Errors:
  // invalid_argument for a bad URL; conflict or not_found for a schema of
  // another version; permission_denied; corruption for an override of a
  // group `engine` does not know — each needs the operator, so the server
  // must not start. REQUIRES: `engine` and `clock` outlive the object.
  // `on_change` (optional) is called from the follower thread each time
  // available() turns (within heartbeat_interval of it turning; the first
  // call reports the state after open; a lapse of freshness that ended
  // before the thread looked is told as a turn down, then up): for the log
  // line and the metric.
  using OnChange = std::function<void(const Availability&)>;
  static Result<std::unique_ptr<SharedState>> open(const std::string& url, const routing::RouteSplit& engine,
                                                   base::Clock& clock, SharedStateOptions options = {},
                                                   OnChange on_change = nullptr);
  ~SharedState();  // stops the follower
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;

  // Calls fn(const routing::OverrideState&) under a shared lock. The state
  // is the last one read; check available() to know whether it may be used.
  template <typename Fn>
  auto read(Fn&& fn) const {
    std::shared_lock lock(mutex_);
    return fn(state_);
  }
  routing::OverrideState snapshot() const;

  bool available() const;
  Availability availability() const;

  // Returns the audit log's event line (a JSON object) for an override
  // before it commits; it is stored in the same transaction. An error
  // rolls the override back (apply returns it).
  using Recorder = std::function<Result<std::string>(const AppliedOverride&)>;

  // Applies an override request as `actor` (see the top of the file). A
  // request error (unknown target or group) changes nothing. Errors:
  // io_error when the state is unavailable (nothing is written) or the
  // database fails (when the connection was lost during COMMIT the message
  // says the override may have been committed: read the state); conflict
  // when another writer held the revision row for lock_timeout.
  Result<tl::expected<AppliedOverride, routing::FieldError>> apply(std::string_view target,
                                                                   std::optional<std::string_view> domain,
                                                                   const std::string& actor, const Recorder& record);

  // Applies any override request (routing::apply_request: a target, or
  // promote / abort / undo) as `actor`, like apply(): the whole override
  // state (percentages and undo history included) lives in the revision
  // row's state document; cutover.overrides is rewritten from it, one row
  // per scope that holds a target.
  Result<tl::expected<AppliedOverride, routing::FieldError>> apply_request(const routing::OverrideRequest& request,
                                                                           const std::string& actor,
                                                                           const Recorder& record);

  // The URL with its password hidden.
  const std::string& name() const { return name_; }

 private:
  SharedState(std::string url, const routing::RouteSplit& engine, base::Clock& clock, SharedStateOptions options);
  Status connect_follower();
  Status read_all(Connection& conn, std::chrono::steady_clock::time_point sent);
  Status heartbeat();
  void follow();
  void drop_follower(const Error& error);
  void install(routing::OverrideState state);
  void proven(std::chrono::steady_clock::time_point sent);
  ConnectOptions connect_options() const;

  const std::string url_;
  const std::string name_;
  const routing::RouteSplit& engine_;
  base::Clock& clock_;
  const SharedStateOptions options_;
  OnChange on_change_;
  std::optional<bool> reported_;     // the follower thread's: what on_change_ was last told
  std::atomic<uint64_t> lapses_{0};  // proofs that came after freshness had lapsed
  uint64_t lapses_reported_ = 0;     // the follower thread's: lapses_ when it last looked

  mutable std::shared_mutex mutex_;  // guards state_ and problem_
  routing::OverrideState state_;
  std::string problem_;
  std::atomic<int64_t> proven_at_ns_{0};  // steady clock; 0 = never

  std::unique_ptr<Connection> follower_;  // the follower thread's
  std::mutex writer_mutex_;               // guards writer_
  std::unique_ptr<Connection> writer_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mutex_
  int wake_fd_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace cutover::state
