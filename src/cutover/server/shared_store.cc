#include "cutover/server/shared_store.h"

#include <cstdio>
#include <utility>

namespace cutover::server {
namespace {

// The override event the control API records during SharedStore::apply on
// this thread goes here instead of to the local log (see append).
thread_local std::string* t_override_event = nullptr;

class CaptureEvent {
 public:
  explicit CaptureEvent(std::string& into) { t_override_event = &into; }
  ~CaptureEvent() { t_override_event = nullptr; }
  CaptureEvent(const CaptureEvent&) = delete;
  CaptureEvent& operator=(const CaptureEvent&) = delete;
};

}  // namespace

routing::OverrideState SharedStore::fail_safe(const routing::RouteSplit& engine) {
  routing::OverrideState s;
  s.overrides.global = routing::RouteTarget::legacy;
  for (const routing::RouteGroup& g : engine.config().route_groups) s.overrides.groups[g.domain] = g.rollback_target;
  return s;
}

SharedStore::SharedStore(AuditSink& local, const routing::RouteSplit& engine)
    : local_(local), fail_safe_(fail_safe(engine)) {}

SharedStore::~SharedStore() = default;

Result<std::unique_ptr<SharedStore>> SharedStore::open(const std::string& url, const routing::RouteSplit& engine,
                                                       base::Clock& clock, AuditSink& local,
                                                       state::SharedStateOptions options) {
  std::unique_ptr<SharedStore> store(new SharedStore(local, engine));
  SharedStore* self = store.get();
  TRY_ASSIGN(store->state_, state::SharedState::open(url, engine, clock, options,
                                                     [self](const state::Availability& a) { self->changed(a); }));
  return store;
}

// From the follower thread, each time availability turns (the first call
// reports the state after open).
void SharedStore::changed(const state::Availability& a) {
  // state_ may not be assigned yet on the first call (open() is still
  // returning): the follower thread starts inside SharedState::open.
  if (a.available) {
    std::fprintf(stderr, "cutover serve: shared state available: serving the overrides in the database\n");
  } else {
    unavailable_total_.fetch_add(1);
    std::fprintf(stderr,
                 "cutover serve: error: shared state unavailable (%s): serving every group's rollback target, "
                 "/readyz 503, overrides refused until the database is back\n",
                 a.problem.c_str());
  }
}

void SharedStore::visit_state(void (*visit)(void* context, const routing::OverrideState& state), void* context) {
  if (!state_->available()) return visit(context, fail_safe_);
  state_->read([&](const routing::OverrideState& s) {
    visit(context, s);
    return 0;
  });
}

std::string SharedStore::problem() const {
  state::Availability a = state_->availability();
  if (a.available) return "";
  return "shared state unavailable: " + a.problem + "; serving every group's rollback target";
}

std::string SharedStore::unavailable() const {
  state::Availability a = state_->availability();
  return a.available ? std::string() : a.problem;
}

std::string SharedStore::name() const { return state_->name(); }

Status SharedStore::append(std::string_view line, bool sync) {
  if (t_override_event != nullptr) {
    *t_override_event = std::string(line);
    return {};
  }
  return local_.append(line, sync);
}

namespace {

// The control API's recorder as the shared state's: the event line the API
// writes during `record` is captured (see append) and stored in the
// override's own transaction.
state::SharedState::Recorder event_recorder(const OverrideBackend::Recorder& record) {
  return [&record](const state::AppliedOverride& a) -> Result<std::string> {
    std::string event;
    {
      CaptureEvent capture(event);
      TRY(record(OverrideBackend::Applied{a.change, a.state}));
    }
    if (event.empty()) return make_error(ErrorCode::io_error, "the override produced no audit event");
    return event;
  };
}

tl::expected<OverrideBackend::Applied, routing::FieldError> to_applied(
    tl::expected<state::AppliedOverride, routing::FieldError> applied) {
  if (!applied) return tl::expected<OverrideBackend::Applied, routing::FieldError>(tl::unexpect, applied.error());
  return OverrideBackend::Applied{std::move(applied->change), std::move(applied->state)};
}

}  // namespace

Result<tl::expected<OverrideBackend::Applied, routing::FieldError>> SharedStore::apply(
    std::string_view target, std::optional<std::string_view> domain, const std::string& actor, const Recorder& record) {
  TRY_ASSIGN(auto applied, state_->apply(target, domain, actor, event_recorder(record)));
  return to_applied(std::move(applied));
}

Result<tl::expected<OverrideBackend::Applied, routing::FieldError>> SharedStore::apply_request(
    const routing::OverrideRequest& request, const std::string& actor, const Recorder& record) {
  TRY_ASSIGN(auto applied, state_->apply_request(request, actor, event_recorder(record)));
  return to_applied(std::move(applied));
}

std::string SharedStore::render_metrics() const {
  bool available = state_->available();
  uint64_t revision = state_->read([](const routing::OverrideState& s) { return s.revision; });
  std::string out;
  out +=
      "# HELP cutover_state_available Whether the shared state is proven fresh (1), or not (0: every group is served "
      "its rollback target, /readyz answers 503 and overrides are refused).\n";
  out += "# TYPE cutover_state_available gauge\n";
  out += "cutover_state_available " + std::string(available ? "1" : "0") + "\n";
  out += "# HELP cutover_state_revision The override revision this replica holds.\n";
  out += "# TYPE cutover_state_revision gauge\n";
  out += "cutover_state_revision " + std::to_string(revision) + "\n";
  out += "# HELP cutover_state_unavailable_total Times the shared state turned unavailable (including at start).\n";
  out += "# TYPE cutover_state_unavailable_total counter\n";
  out += "cutover_state_unavailable_total " + std::to_string(unavailable_total_.load()) + "\n";
  return out;
}

}  // namespace cutover::server
