// What the control API needs of the server's shared state, as interfaces:
// the overrides in force (read on every decision, changed by the override
// endpoint) and the audit log (one JSON line an event). Today's
// implementations keep both in the state folder (OverrideStore, AuditLog);
// a database-backed store implements the same interfaces.
//
// Thread safety: implementations must allow every method from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <tl/expected.hpp>

#include "cutover/base/error.h"
#include "cutover/routing/overrides.h"

namespace cutover::server {

class OverrideBackend {
 public:
  virtual ~OverrideBackend() = default;

  struct Applied {
    routing::OverrideChange change;
    routing::OverrideState state;  // after the change
  };
  // Called after the new state is stored and before other writers may
  // change it again, so audit lines come in revision order across replicas.
  using Recorder = std::function<Status(const Applied&)>;

  // Calls fn(const routing::OverrideState&) on a consistent view of the
  // overrides in force and returns what it returns.
  template <typename Fn>
  auto read(Fn&& fn) {
    using R = std::invoke_result_t<Fn&, const routing::OverrideState&>;
    std::optional<R> out;
    auto call = [&](const routing::OverrideState& s) { out.emplace(fn(s)); };
    visit_state([](void* context, const routing::OverrideState& s) { (*static_cast<decltype(call)*>(context))(s); },
                &call);
    return std::move(*out);
  }

  // Applies an override request (routing::apply_override) as `actor`, stores
  // it and calls `record`. A request error (unknown target or group) changes
  // nothing. I/O errors, a busy store (conflict) or corrupt state are errors.
  virtual Result<tl::expected<Applied, routing::FieldError>> apply(std::string_view target,
                                                                   std::optional<std::string_view> domain,
                                                                   const std::string& actor,
                                                                   const Recorder& record) = 0;

  // Applies any override request (routing::apply_request: a target, or
  // promote / abort / undo) as `actor`, like apply(). The default handles
  // target requests through apply() and refuses the modes (a store that
  // keeps the whole routing::OverrideState overrides it).
  virtual Result<tl::expected<Applied, routing::FieldError>> apply_request(const routing::OverrideRequest& request,
                                                                           const std::string& actor,
                                                                           const Recorder& record) {
    if (request.mode || request.cohort_percentage || !request.target) {
      return make_error(ErrorCode::invalid_argument, "this state store does not support promote, abort or undo");
    }
    std::optional<std::string_view> domain;
    if (request.domain) domain = *request.domain;
    return apply(*request.target, domain, actor, record);
  }

  // Why the stored state could not be reloaded, or "" when all is well.
  virtual std::string problem() const = 0;

 protected:
  // Calls visit(context, state) with the state held steady.
  virtual void visit_state(void (*visit)(void* context, const routing::OverrideState& state), void* context) = 0;
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Appends one event line; with `sync`, it is durable when this returns.
  virtual Status append(std::string_view line, bool sync) = 0;
};

}  // namespace cutover::server
