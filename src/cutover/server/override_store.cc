#include "cutover/server/override_store.h"

#include <thread>

#include <sys/stat.h>
#include <time.h>

#include "cutover/route_files/route_files.h"

namespace cutover::server {
namespace {

int64_t coarse_monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr auto k_lock_wait = std::chrono::seconds(5);

}  // namespace

Result<std::unique_ptr<OverrideStore>> OverrideStore::open(base::FileSystem& fs, base::Clock& clock,
                                                           const std::string& dir, const routing::RouteSplit& engine,
                                                           std::chrono::nanoseconds refresh_interval) {
  TRY_CTX(fs.create_directories(dir), "state folder " + dir);
  TRY_CTX(fs.check_writable(dir), "state folder " + dir);
  std::unique_ptr<OverrideStore> store(new OverrideStore(fs, clock, dir, engine));
  store->identity_ = store->identity();
  TRY_ASSIGN(store->state_, route_files::load_override_state(fs, dir, engine));
  store->refresh_interval_ns_ = refresh_interval.count();
  store->next_refresh_ns_ = coarse_monotonic_ns() + store->refresh_interval_ns_;
  return store;
}

OverrideStore::Identity OverrideStore::identity() const {
  // The file's identity straight from stat(2): base::FileInfo carries no
  // times, and a rename-replaced file may get the old inode number back.
  struct stat st;
  Identity id;
  if (::stat(route_files::state_file_path(dir_).c_str(), &st) != 0) return id;
  id.exists = true;
  id.inode = st.st_ino;
  id.device = st.st_dev;
  id.size = static_cast<uint64_t>(st.st_size);
  id.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return id;
}

void OverrideStore::refresh_if_due() {
  int64_t now = coarse_monotonic_ns();
  int64_t due = next_refresh_ns_.load(std::memory_order_relaxed);
  if (now < due) return;
  // One thread does the check; the others keep using the current state.
  if (!next_refresh_ns_.compare_exchange_strong(due, now + refresh_interval_ns_)) return;
  Identity id = identity();
  {
    std::shared_lock lock(mutex_);
    if (id == identity_) return;
  }
  reload();
}

void OverrideStore::reload() {
  Identity id = identity();
  auto state = route_files::load_override_state(fs_, dir_, engine());
  std::unique_lock lock(mutex_);
  if (!state) {
    problem_ = state.error().message();
    return;
  }
  if (!id.exists && state_.revision > 0) {
    problem_ = "state file " + route_files::state_file_path(dir_) +
               " disappeared; the overrides in force stay as they were (revision " + std::to_string(state_.revision) +
               ")";
    return;
  }
  state_ = std::move(*state);
  identity_ = id;
  problem_.clear();
}

std::string OverrideStore::problem() const {
  std::shared_lock lock(mutex_);
  return problem_;
}

Result<tl::expected<OverrideStore::Applied, routing::FieldError>> OverrideStore::apply(
    std::string_view target, std::optional<std::string_view> domain, const std::string& actor, const Recorder& record) {
  routing::OverrideRequest request;
  request.target = std::string(target);
  if (domain) request.domain = std::string(*domain);
  return apply_request(request, actor, record);
}

Result<tl::expected<OverrideStore::Applied, routing::FieldError>> OverrideStore::apply_request(
    const routing::OverrideRequest& request, const std::string& actor, const Recorder& record) {
  std::lock_guard writer(writer_mutex_);
  // The folder lock: another replica may be writing.
  std::unique_ptr<base::Lock> folder_lock;
  auto give_up = std::chrono::steady_clock::now() + k_lock_wait;
  for (;;) {
    auto lock = fs_.try_lock(route_files::lock_file_path(dir_));
    if (lock) {
      folder_lock = std::move(*lock);
      break;
    }
    if (lock.error().code() != ErrorCode::conflict || std::chrono::steady_clock::now() > give_up) {
      return tl::unexpected(lock.error().with_context("state folder " + dir_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  // Start from what is on disk: another replica may have changed it.
  TRY_ASSIGN(routing::OverrideState state, route_files::load_override_state(fs_, dir_, engine()));
  Applied applied;
  auto change = routing::apply_request(engine(), state, request);
  if (!change) return tl::expected<Applied, routing::FieldError>(tl::unexpect, change.error());
  applied.change = std::move(*change);
  state.revision += 1;
  state.updated_at = base::rfc3339_utc(clock_.now_ns());
  state.updated_by = actor;
  TRY(base::write_file_atomic(fs_, route_files::state_file_path(dir_), routing::state_to_json(state)));
  applied.state = state;
  Identity after = identity();
  {
    std::unique_lock lock(mutex_);
    state_ = std::move(state);
    identity_ = after;
    problem_.clear();
  }
  TRY(record(applied));
  return applied;
}

}  // namespace cutover::server
