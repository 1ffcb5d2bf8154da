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

void push_history(OverrideState& state, const Overrides& before) {
  state.history.push_back(before);
  if (state.history.size() > k_max_undo_history) state.history.erase(state.history.begin());
}

tl::unexpected<FieldError> field_error(std::string field, std::string message) {
  return tl::unexpected(FieldError{std::move(field), std::move(message)});
}

// promote / abort / undo on `state` (REQUIRES: mode is one of them).
tl::expected<OverrideChange, FieldError> apply_mode(const RouteSplit& engine, OverrideState& state,
                                                    const std::string& mode, const OverrideRequest& request) {
  OverrideChange change;
  change.mode = mode;
  change.before = state.overrides;
  Overrides& o = state.overrides;
  const RouteGroup* group = nullptr;
  if (request.domain && !trim(*request.domain).empty()) {
    if (mode == "undo") return field_error("domain", "Undo takes no domain.");
    group = engine.find_group(*request.domain);
    if (group == nullptr)
      return field_error("domain", "Unknown route domain '" + normalize_group_name(*request.domain) + "'.");
  }
  change.scope = group ? "domain:" + group->domain : "global";
  if (mode == "promote") {
    if (!request.cohort_percentage) return field_error("cohort_percentage", "Cohort percentage is required.");
    if (*request.cohort_percentage < 0 || *request.cohort_percentage > 100) {
      return field_error("cohort_percentage", "Cohort percentage must be an integer from 0 to 100.");
    }
    auto pct = static_cast<uint8_t>(*request.cohort_percentage);
    change.cohort_percentage = pct;
    if (group) {
      o.group_percentages[group->domain] = pct;
      o.groups.erase(group->domain);
    } else {
      o.global_percentage = pct;
      o.global.reset();
    }
  } else if (request.cohort_percentage) {
    return field_error("cohort_percentage", "Cohort percentage is only for promote.");
  } else if (mode == "abort") {
    if (group) {
      o.groups[group->domain] = group->rollback_target;
    } else {
      for (const RouteGroup& g : engine.config().route_groups) o.groups[g.domain] = g.rollback_target;
      o.global = RouteTarget::legacy;
    }
  } else {  // undo
    if (state.history.empty()) {
      return tl::unexpected(FieldError{"mode", "There is no change to undo.", 409, "nothing_to_undo"});
    }
    o = state.history.back();
    state.history.pop_back();
  }
  if (mode != "undo") push_history(state, change.before);
  change.after = o;
  return change;
}

}  // namespace

tl::expected<OverrideChange, FieldError> apply_request(const RouteSplit& engine, OverrideState& state,
                                                       const OverrideRequest& request) {
  if (!request.mode) {
    if (request.cohort_percentage) return field_error("cohort_percentage", "Cohort percentage is only for promote.");
    Overrides before = state.overrides;
    std::optional<std::string_view> domain;
    if (request.domain) domain = *request.domain;
    auto change = apply_override(engine, state.overrides, request.target.value_or(""), domain);
    if (!change) return change;
    change->before = before;
    change->after = state.overrides;
    push_history(state, before);
    return change;
  }
  if (request.target) return field_error("mode", "Give either target or mode, not both.");
  std::string mode = ascii_lower(trim(*request.mode));
  if (mode != "promote" && mode != "abort" && mode != "undo") {
    return field_error("mode", "Mode must be one of: promote, abort, undo.");
  }
  OverrideState copy = state;
  auto change = apply_mode(engine, copy, mode, request);
  if (change) state = std::move(copy);
  return change;
}

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

namespace {

bool has_live_fields(const Overrides& o) { return o.global_percentage || !o.group_percentages.empty(); }

// The members an Overrides is written with: global and groups always;
// global_percentage and group_percentages when `all` or when set.
void overrides_members(json::Document& doc, const Overrides& o, bool all, std::vector<json::Member>& out) {
  std::vector<json::Member> groups;
  for (const auto& [name, target] : o.groups) {
    groups.push_back({doc.make_string(name), doc.make_string(target_name(target))});
  }
  out.push_back({doc.make_string("global"), o.global ? doc.make_string(target_name(*o.global)) : json::Node::null()});
  out.push_back({doc.make_string("groups"), doc.make_object(std::move(groups))});
  if (all || o.global_percentage) {
    out.push_back({doc.make_string("global_percentage"),
                   o.global_percentage ? json::Node::u64(*o.global_percentage) : json::Node::null()});
  }
  if (all || !o.group_percentages.empty()) {
    std::vector<json::Member> pct;
    for (const auto& [name, p] : o.group_percentages) pct.push_back({doc.make_string(name), json::Node::u64(p)});
    out.push_back({doc.make_string("group_percentages"), doc.make_object(std::move(pct))});
  }
}

}  // namespace

std::string overrides_to_json(const Overrides& overrides) {
  json::Document doc;
  std::vector<json::Member> members;
  overrides_members(doc, overrides, true, members);
  return json::to_compact_string(doc.make_object(std::move(members)));
}

std::string state_to_json(const OverrideState& state) {
  json::Document doc;
  bool v2 = has_live_fields(state.overrides) || !state.history.empty();
  std::vector<json::Member> members = {
      {doc.make_string("schema"), doc.make_string(v2 ? k_state_schema_v2 : k_state_schema)},
      {doc.make_string("revision"), json::Node::u64(state.revision)},
      {doc.make_string("updated_at"), doc.make_string(state.updated_at)},
      {doc.make_string("updated_by"), doc.make_string(state.updated_by)},
  };
  overrides_members(doc, state.overrides, false, members);
  if (!state.history.empty()) {
    std::vector<json::Node> history;
    for (const Overrides& h : state.history) {
      std::vector<json::Member> m;
      overrides_members(doc, h, true, m);
      history.push_back(doc.make_object(std::move(m)));
    }
    members.push_back({doc.make_string("history"), doc.make_array(std::move(history))});
  }
  return json::to_canonical_string(doc.make_object(std::move(members))) + "\n";
}

namespace {

// Reads the overrides in `obj` (a state file's top level or a history entry)
// into `out`; returns what is wrong ("" = nothing), or sets `unknown_group`.
std::string parse_overrides(const json::Node& obj, const RouteSplit& engine, Overrides& out,
                            std::string& unknown_group) {
  auto group_known = [&](const std::string& name) {
    const RouteGroup* g = engine.find_group(name);
    if (g == nullptr || g->domain != name) unknown_group = name;
    return unknown_group.empty();
  };
  const json::Node* global = obj.find("global");
  if (global == nullptr) return "global is missing";
  if (!global->is_null()) {
    std::optional<RouteTarget> t = global->is_string() ? parse_target_name(global->as_string()) : std::nullopt;
    if (!t || global->as_string() != target_name(*t)) return "global must be null, \"legacy\" or \"rust_shell\"";
    out.global = t;
  }
  const json::Node* groups = obj.find("groups");
  if (groups == nullptr || !groups->is_object()) return "groups must be an object";
  for (size_t i = 0; i < groups->size(); ++i) {
    const json::Member& m = groups->members()[i];
    std::string name(m.key.as_string());
    std::optional<RouteTarget> t = m.value.is_string() ? parse_target_name(m.value.as_string()) : std::nullopt;
    if (!t || m.value.as_string() != target_name(*t)) return "groups." + name + " must be \"legacy\" or \"rust_shell\"";
    if (!group_known(name)) return "";
    out.groups[name] = *t;
  }
  auto percentage = [](const json::Node& n) -> std::optional<uint8_t> {
    if (n.kind() != json::Kind::u64 || n.as_u64() > 100) return std::nullopt;
    return static_cast<uint8_t>(n.as_u64());
  };
  if (const json::Node* g = obj.find("global_percentage"); g != nullptr && !g->is_null()) {
    out.global_percentage = percentage(*g);
    if (!out.global_percentage) return "global_percentage must be null or an integer from 0 to 100";
  }
  if (const json::Node* p = obj.find("group_percentages"); p != nullptr) {
    if (!p->is_object()) return "group_percentages must be an object";
    for (size_t i = 0; i < p->size(); ++i) {
      const json::Member& m = p->members()[i];
      std::string name(m.key.as_string());
      auto v = percentage(m.value);
      if (!v) return "group_percentages." + name + " must be an integer from 0 to 100";
      if (!group_known(name)) return "";
      out.group_percentages[name] = *v;
    }
  }
  return "";
}

}  // namespace

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
  if (schema == nullptr || !schema->is_string() ||
      (schema->as_string() != k_state_schema && schema->as_string() != k_state_schema_v2)) {
    return fail("schema must be \"" + std::string(k_state_schema) + "\" or \"" + std::string(k_state_schema_v2) + "\"");
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
  std::string unknown_group;
  auto unknown = [&] {
    return make_error(ErrorCode::corruption,
                      "state file " + source + " holds an override for route group '" + unknown_group +
                          "', which the route config (" + engine.config().source +
                          ") does not have; put the group back in the config, or remove it from the state file's "
                          "\"groups\" after checking that its traffic is where it should be");
  };
  std::string problem = parse_overrides(root, engine, state.overrides, unknown_group);
  if (!unknown_group.empty()) return unknown();
  if (!problem.empty()) return fail(problem);
  if (const json::Node* history = root.find("history"); history != nullptr) {
    if (!history->is_array() || history->size() > k_max_undo_history) {
      return fail("history must be an array of at most " + std::to_string(k_max_undo_history) + " entries");
    }
    for (size_t i = 0; i < history->size(); ++i) {
      Overrides h;
      const json::Node& entry = history->elements()[i];
      if (!entry.is_object()) return fail("history[" + std::to_string(i) + "] must be an object");
      problem = parse_overrides(entry, engine, h, unknown_group);
      if (!unknown_group.empty()) return unknown();
      if (!problem.empty()) return fail("history[" + std::to_string(i) + "]." + problem);
      state.history.push_back(std::move(h));
    }
  }
  return state;
}

}  // namespace cutover::routing
