// The server's overrides and override audit in PostgreSQL (issue 15;
// docs/EDGE.md "Shared state"): an OverrideBackend over state::SharedState
// for `cutover serve --state postgresql://...`, so that every replica
// applies the same overrides and every acknowledged override is one audit
// row in the database.
//
//   - Decisions read the SharedState's snapshot in memory; they never wait
//     on the database.
//   - When the snapshot is not proven fresh (state/shared_state.h), reads
//     see the fail-safe state instead: every route group overridden to its
//     rollback target and the global override at legacy (the rollback
//     target of paths outside every group); pinned routes are decided before
//     overrides, so they are unchanged. problem() says why (/readyz 503) and
//     unavailable() makes the API refuse overrides (503 state_unavailable).
//   - As the control API's AuditSink it routes lines: the override event the
//     API records during apply() goes into the override's own transaction
//     (cutover.audit_log), every other line (decisions) to the local
//     audit.jsonl.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/routing/overrides.h"
#include "cutover/server/state_backend.h"
#include "cutover/state/shared_state.h"

namespace cutover::server {

class SharedStore final : public OverrideBackend, public AuditSink {
 public:
  // Opens the shared state (state::SharedState::open: a database that is
  // down is waited for, starting unavailable). `local` takes the lines that
  // are not override events. REQUIRES: `engine`, `clock` and `local`
  // outlive the store.
  static Result<std::unique_ptr<SharedStore>> open(const std::string& url, const routing::RouteSplit& engine,
                                                   base::Clock& clock, AuditSink& local,
                                                   state::SharedStateOptions options = {});
  ~SharedStore() override;

  Result<tl::expected<Applied, routing::FieldError>> apply(std::string_view target,
                                                           std::optional<std::string_view> domain,
                                                           const std::string& actor, const Recorder& record) override;
  Result<tl::expected<Applied, routing::FieldError>> apply_request(const routing::OverrideRequest& request,
                                                                   const std::string& actor,
                                                                   const Recorder& record) override;
  std::string problem() const override;
  std::string unavailable() const override;

  Status append(std::string_view line, bool sync) override;

  // The state's metrics in the Prometheus text format (cutover_state_*).
  std::string render_metrics() const;
  // The URL with its password hidden.
  std::string name() const;

  // The fail-safe overrides for `engine` (see the top of the file).
  static routing::OverrideState fail_safe(const routing::RouteSplit& engine);

 private:
  SharedStore(AuditSink& local, const routing::RouteSplit& engine);
  void visit_state(void (*visit)(void* context, const routing::OverrideState& state), void* context) override;
  void changed(const state::Availability& a);

  AuditSink& local_;
  const routing::OverrideState fail_safe_;
  std::unique_ptr<state::SharedState> state_;
  std::atomic<uint64_t> unavailable_total_{0};
};

}  // namespace cutover::server
