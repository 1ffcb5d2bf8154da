// The overrides a server applies, kept in its state folder so that they
// survive a restart and so that every server sharing the folder (replicas)
// applies the same ones.
//
//   DIR/overrides.json  the state (routing::state_to_json), replaced
//                       atomically (temp file, fsync, rename, fsync DIR)
//   DIR/lock            held while a change is read, applied and written,
//                       so two replicas never lose each other's change
//
// Readers see a change made through this store at once, and a change another
// replica made within k_refresh_interval: the store looks at the file's
// identity (inode, size, change time) at most that often and reloads it when
// it moved. A state file that turns unreadable while running keeps the last
// good state in force and is reported by problem() (the server's /readyz).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/routing/overrides.h"
#include "cutover/server/state_backend.h"

namespace cutover::server {

inline constexpr std::chrono::milliseconds k_refresh_interval{10};

class OverrideStore final : public OverrideBackend {
 public:
  // Creates DIR if missing and loads DIR/overrides.json (missing = no
  // override). A corrupt state file is refused (corruption), never reset.
  // `refresh_interval`: how often readers look for another replica's change
  // (tests pass 0: at every read).
  // REQUIRES: `fs`, `clock` and `engine` outlive the store.
  static Result<std::unique_ptr<OverrideStore>> open(base::FileSystem& fs, base::Clock& clock, const std::string& dir,
                                                     const routing::RouteSplit& engine,
                                                     std::chrono::nanoseconds refresh_interval = k_refresh_interval);

  // Calls fn(const routing::OverrideState&) under a shared lock and returns
  // what it returns.
  template <typename Fn>
  auto read(Fn&& fn) {
    refresh_if_due();
    std::shared_lock lock(mutex_);
    return fn(state_);
  }

  // Applied and Recorder: see OverrideBackend. `record` is called before
  // the folder lock is released, so audit lines come in revision order even
  // across replicas.

  // Applies an override request (routing::apply_override) on top of the
  // state on disk, as `actor`; writes it; calls `record`. A request error
  // (unknown target or group) changes nothing. I/O errors, a held lock
  // (conflict, after a few seconds) or a corrupt file are errors.
  Result<tl::expected<Applied, routing::FieldError>> apply(std::string_view target,
                                                           std::optional<std::string_view> domain,
                                                           const std::string& actor, const Recorder& record) override;

  // Any override request (routing::apply_request), likewise.
  Result<tl::expected<Applied, routing::FieldError>> apply_request(const routing::OverrideRequest& request,
                                                                   const std::string& actor,
                                                                   const Recorder& record) override;

  // Why the state on disk could not be reloaded, or "" when all is well.
  std::string problem() const override;

  const std::string& dir() const { return dir_; }

 private:
  void visit_state(void (*visit)(void* context, const routing::OverrideState& state), void* context) override {
    read([&](const routing::OverrideState& s) {
      visit(context, s);
      return 0;
    });
  }

  struct Identity {
    uint64_t inode = 0, size = 0, device = 0;
    int64_t ctime_ns = 0, mtime_ns = 0;
    bool exists = false;
    bool operator==(const Identity&) const = default;
  };

  OverrideStore(base::FileSystem& fs, base::Clock& clock, std::string dir, const routing::RouteSplit& engine)
      : fs_(fs), clock_(clock), dir_(std::move(dir)), engine_(engine) {}
  Identity identity() const;
  void refresh_if_due();
  void reload();

  base::FileSystem& fs_;
  base::Clock& clock_;
  const std::string dir_;
  const routing::RouteSplit& engine_;

  mutable std::shared_mutex mutex_;  // guards state_, identity_, problem_
  routing::OverrideState state_;
  Identity identity_;
  std::string problem_;

  std::mutex writer_mutex_;  // one writer at a time in this process
  std::atomic<int64_t> next_refresh_ns_{0};
  int64_t refresh_interval_ns_ = 0;
};

}  // namespace cutover::server
