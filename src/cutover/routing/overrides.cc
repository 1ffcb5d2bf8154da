#include "cutover/routing/overrides.h"

#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/routing/paths.h"

namespace cutover::routing {
namespace {

std::optional<RouteTarget> get_override(const Overrides& o, const std::string* group) {
  if (group == nullptr) return o.global;
  auto it = o.groups.find(*group);
  if (it == o.groups.end()) return std::nullopt;
  return it->second;
}

void set_override(Overrides& o, const std::string* group, std::optional<RouteTarget> target) {
  if (group == nullptr) {
    o.global = target;
  } else if (target) {
    o.groups[*group] = *target;
  } else {
    o.groups.erase(*group);
  }
}

}  // namespace

tl::expected<OverrideChange, FieldError> apply_override(const RouteSplit& engine, Overrides& overrides,
                                                        std::string_view target,
                                                        std::optional<std::string_view> domain) {
  OverrideChange change;
  change.target = ascii_lower(trim(target));
  std::optional<std::string> requested_domain;
  if (domain && !trim(*domain).empty()) requested_domain = ascii_lower(trim(*domain));

  enum class Kind { set, clear, rollback } kind;
  RouteTarget set_to = RouteTarget::legacy;
  if (change.target == "legacy") {
    kind = Kind::set;
  } else if (change.target == "rust" || change.target == "rust_shell") {
    kind = Kind::set;
    set_to = RouteTarget::rust_shell;
  } else if (change.target == "clear" || change.target == "default") {
    kind = Kind::clear;
  } else if (change.target == "rollback") {
    kind = Kind::rollback;
  } else {
    return tl::unexpected(FieldError{"target", "Target must be one of: legacy, rust, rollback, clear."});
  }

  const RouteGroup* group = nullptr;
  if (requested_domain) {
    group = engine.find_group(*requested_domain);
    if (group == nullptr) {
      // The reference words the rollback case differently; kept for clients that match on it.
      return tl::unexpected(FieldError{"domain", kind == Kind::rollback
                                                     ? "Unknown route domain."
                                                     : "Unknown route domain '" + *requested_domain + "'."});
    }
  }
  const std::string* key = group ? &group->domain : nullptr;
  change.scope = group ? "domain:" + group->domain : "global";
  change.previous = get_override(overrides, key);
  switch (kind) {
    case Kind::set:
      change.current = set_to;
      break;
    case Kind::clear:
      change.current = std::nullopt;
      break;
    case Kind::rollback:
      change.current = group ? group->rollback_target : RouteTarget::legacy;
      break;
  }
  set_override(overrides, key, change.current);
  return change;
}

std::string state_to_json(const OverrideState& state) {
  json::Document doc;
  std::vector<json::Member> groups;
  for (const auto& [name, target] : state.overrides.groups) {
    groups.push_back({doc.make_string(name), doc.make_string(target_name(target))});
  }
  json::Node global =
      state.overrides.global ? doc.make_string(target_name(*state.overrides.global)) : json::Node::null();
  json::Node root = doc.make_object({
      {doc.make_string("schema"), doc.make_string(k_state_schema)},
      {doc.make_string("revision"), json::Node::u64(state.revision)},
      {doc.make_string("updated_at"), doc.make_string(state.updated_at)},
      {doc.make_string("updated_by"), doc.make_string(state.updated_by)},
      {doc.make_string("global"), global},
      {doc.make_string("groups"), doc.make_object(std::move(groups))},
  });
  return json::to_canonical_string(root) + "\n";
}

Result<OverrideState> parse_state(std::string_view text, const std::string& source, const RouteSplit& engine) {
  auto fail = [&](const std::string& what) {
    return make_error(ErrorCode::corruption,
                      "state file " + source + " is corrupt: " + what +
                          "; the server will not start without knowing its overrides: restore the file, or move it "
                          "aside and re-apply the overrides recorded in audit.jsonl beside it");
  };
  auto doc = json::parse(text);
  if (!doc) return fail(doc.error().message());
  const json::Node& root = doc->root();
  if (!root.is_object()) return fail("the document must be a JSON object");
  const json::Node* schema = root.find("schema");
  if (schema == nullptr || !schema->is_string() || schema->as_string() != k_state_schema) {
    return fail("schema must be \"" + std::string(k_state_schema) + "\"");
  }
  OverrideState state;
  const json::Node* revision = root.find("revision");
  if (revision == nullptr || revision->kind() != json::Kind::u64)
    return fail("revision must be a non-negative integer");
  state.revision = revision->as_u64();
  for (auto [name, field] : {std::pair{"updated_at", &state.updated_at}, std::pair{"updated_by", &state.updated_by}}) {
    const json::Node* v = root.find(name);
    if (v == nullptr || !v->is_string()) return fail(std::string(name) + " must be a string");
    *field = std::string(v->as_string());
  }
  const json::Node* global = root.find("global");
  if (global == nullptr) return fail("global is missing");
  if (!global->is_null()) {
    std::optional<RouteTarget> t = global->is_string() ? parse_target_name(global->as_string()) : std::nullopt;
    if (!t || global->as_string() != target_name(*t)) return fail("global must be null, \"legacy\" or \"rust_shell\"");
    state.overrides.global = t;
  }
  const json::Node* groups = root.find("groups");
  if (groups == nullptr || !groups->is_object()) return fail("groups must be an object");
  for (size_t i = 0; i < groups->size(); ++i) {
    const json::Member& m = groups->members()[i];
    std::string name(m.key.as_string());
    std::optional<RouteTarget> t = m.value.is_string() ? parse_target_name(m.value.as_string()) : std::nullopt;
    if (!t || m.value.as_string() != target_name(*t))
      return fail("groups." + name + " must be \"legacy\" or \"rust_shell\"");
    const RouteGroup* g = engine.find_group(name);
    if (g == nullptr || g->domain != name) {
      return make_error(ErrorCode::corruption,
                        "state file " + source + " holds an override for route group '" + name +
                            "', which the route config (" + engine.config().source +
                            ") does not have; put the group back in the config, or remove it from the state file's "
                            "\"groups\" after checking that its traffic is where it should be");
    }
    state.overrides.groups[name] = *t;
  }
  return state;
}

}  // namespace cutover::routing
