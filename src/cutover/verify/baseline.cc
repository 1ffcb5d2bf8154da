#include "cutover/verify/baseline.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "cutover/base/file_system.h"
#include "cutover/json/parser.h"
#include "cutover/json/writer.h"

namespace cutover::verify {
namespace {

std::string format_percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", p);
  return buf;
}

// Reads a bound object, adding every problem to `problems`.
Bound parse_bound(const json::Node& node, const std::string& where, std::vector<std::string>& problems) {
  Bound b;
  if (!node.is_object()) {
    problems.push_back(where + " must be an object like {\"min\": 1}");
    return b;
  }
  if (node.size() == 0) {
    problems.push_back(where + " is empty: give exact, min, max, max_change or max_change_percent");
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const json::Member& m = node.members()[i];
    std::string name(m.key.as_string());
    std::string field = where + "." + name;
    if (name == "max_change_percent") {
      double p = -1;
      if (m.value.kind() == json::Kind::u64) p = static_cast<double>(m.value.as_u64());
      if (m.value.kind() == json::Kind::f64) p = m.value.as_f64();
      if (!(p >= 0) || !std::isfinite(p)) {
        problems.push_back(field + " must be a non-negative number");
      } else {
        b.max_change_percent = p;
      }
      continue;
    }
    std::optional<uint64_t>* slot = name == "exact"        ? &b.exact
                                    : name == "min"        ? &b.min
                                    : name == "max"        ? &b.max
                                    : name == "max_change" ? &b.max_change
                                                           : nullptr;
    if (slot == nullptr) {
      problems.push_back(where + ": unknown bound '" + name +
                         "' (the bounds are exact, min, max, max_change, max_change_percent)");
      continue;
    }
    if (m.value.kind() != json::Kind::u64) {
      problems.push_back(field + " must be a non-negative integer");
      continue;
    }
    *slot = m.value.as_u64();
  }
  if (b.exact && (b.min || b.max)) problems.push_back(where + ": exact cannot be combined with min or max");
  if (b.min && b.max && *b.min > *b.max) {
    problems.push_back(where + ": min " + std::to_string(*b.min) + " is above max " + std::to_string(*b.max));
  }
  return b;
}

}  // namespace

std::string describe(const Bound& b) {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (b.exact) add("exact " + std::to_string(*b.exact));
  if (b.min) add("min " + std::to_string(*b.min));
  if (b.max) add("max " + std::to_string(*b.max));
  if (b.max_change) add("max_change " + std::to_string(*b.max_change));
  if (b.max_change_percent) add("max_change_percent " + format_percent(*b.max_change_percent));
  return out;
}

std::vector<BoundViolation> check_bound(const Bound& b, uint64_t value, std::optional<uint64_t> previous) {
  std::vector<BoundViolation> out;
  std::string v = std::to_string(value);
  if (b.exact && value != *b.exact) {
    out.push_back({"exact " + std::to_string(*b.exact), v + " is not exactly " + std::to_string(*b.exact)});
  }
  if (b.min && value < *b.min)
    out.push_back({"min " + std::to_string(*b.min), v + " is below min " + std::to_string(*b.min)});
  if (b.max && value > *b.max)
    out.push_back({"max " + std::to_string(*b.max), v + " is above max " + std::to_string(*b.max)});
  if (b.needs_previous() && previous) {
    uint64_t change = value > *previous ? value - *previous : *previous - value;
    std::string from = " from previous " + std::to_string(*previous) + " to " + v;
    if (b.max_change && change > *b.max_change) {
      out.push_back(
          {"max_change " + std::to_string(*b.max_change),
           "changed by " + std::to_string(change) + from + ", more than max_change " + std::to_string(*b.max_change)});
    }
    if (b.max_change_percent) {
      // change / previous * 100 <= p, without dividing by zero.
      long double allowed = static_cast<long double>(*previous) * static_cast<long double>(*b.max_change_percent) / 100;
      if (static_cast<long double>(change) > allowed) {
        std::string pct =
            *previous == 0 ? "an unbounded percentage"
                           : format_percent(static_cast<double>(change) * 100.0 / static_cast<double>(*previous)) + "%";
        out.push_back({"max_change_percent " + format_percent(*b.max_change_percent),
                       "changed by " + std::to_string(change) + " (" + pct + ")" + from +
                           ", more than max_change_percent " + format_percent(*b.max_change_percent) + "%"});
      }
    }
  }
  return out;
}

bool EnvironmentBaseline::needs_previous() const {
  for (const auto& [store, keys] : stores) {
    for (const auto& [key, bound] : keys) {
      if (bound.needs_previous()) return true;
    }
  }
  return false;
}

Result<Baseline> parse_baseline(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, "baseline " + source + ": " + doc.error().message());
  const json::Node& root = doc->root();
  if (!root.is_object())
    return make_error(ErrorCode::invalid_argument, "baseline " + source + ": the document must be an object");

  std::vector<std::string> problems;
  Baseline out;
  out.source = source;
  const json::Node* schema = root.find("schema");
  if (schema == nullptr || !schema->is_string()) {
    problems.push_back("schema is missing (expected '" + std::string(k_baseline_schema) + "')");
  } else if (schema->as_string() != k_baseline_schema) {
    problems.push_back("schema is '" + std::string(schema->as_string()) + "', expected '" +
                       std::string(k_baseline_schema) + "'");
  }
  for (size_t i = 0; i < root.size(); ++i) {
    std::string_view key = root.members()[i].key.as_string();
    if (key != "schema" && key != "environments" && key != "description") {
      problems.push_back("unknown field '" + std::string(key) + "' (the fields are schema, description, environments)");
    }
  }
  std::string folder = base::parent_directory(base::absolute_path(source));
  const json::Node* envs = root.find("environments");
  if (envs == nullptr || !envs->is_object() || envs->size() == 0) {
    problems.push_back("environments must be an object with at least one environment");
  } else {
    for (size_t i = 0; i < envs->size(); ++i) {
      const json::Member& e = envs->members()[i];
      EnvironmentBaseline env;
      env.name = std::string(e.key.as_string());
      std::string where = "environments." + env.name;
      if (!is_valid_environment_name(env.name))
        problems.push_back(where + ": the environment name must be 1-128 characters");
      if (!e.value.is_object()) {
        problems.push_back(where + " must be an object");
        continue;
      }
      for (size_t j = 0; j < e.value.size(); ++j) {
        std::string_view key = e.value.members()[j].key.as_string();
        if (key != "previous_manifest" && key != "stores" && key != "description") {
          problems.push_back(where + ": unknown field '" + std::string(key) +
                             "' (the fields are description, previous_manifest, stores)");
        }
      }
      if (const json::Node* prev = e.value.find("previous_manifest")) {
        if (!prev->is_string() || prev->as_string().empty()) {
          problems.push_back(where + ".previous_manifest must be a non-empty string");
        } else {
          std::string p(prev->as_string());
          env.previous_manifest = base::absolute_path(p.front() == '/' ? p : base::join_path(folder, p));
        }
      }
      const json::Node* stores = e.value.find("stores");
      if (stores == nullptr || !stores->is_object()) {
        problems.push_back(where + ".stores must be an object (store kind -> count key -> bound)");
        continue;
      }
      for (size_t j = 0; j < stores->size(); ++j) {
        const json::Member& s = stores->members()[j];
        std::string store(s.key.as_string());
        std::string store_where = where + ".stores." + store;
        if (!s.value.is_object() || s.value.size() == 0) {
          problems.push_back(store_where + " must be an object with at least one count key");
          continue;
        }
        auto& keys = env.stores[store];
        for (size_t k = 0; k < s.value.size(); ++k) {
          const json::Member& c = s.value.members()[k];
          std::string key(c.key.as_string());
          keys[key] = parse_bound(c.value, store_where + "." + key, problems);
        }
      }
      out.environments[env.name] = std::move(env);
    }
  }
  if (!problems.empty()) {
    std::string message = "baseline " + source + " is not usable: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return make_error(ErrorCode::invalid_argument, message);
  }
  return out;
}

Result<const EnvironmentBaseline*> select_environment(const Baseline& baseline, std::string_view name) {
  std::string known;
  for (const auto& [env_name, env] : baseline.environments) known += (known.empty() ? "" : ", ") + env_name;
  if (name.empty()) {
    if (baseline.environments.size() == 1) return &baseline.environments.begin()->second;
    return make_error(ErrorCode::invalid_argument, "baseline " + baseline.source + " has several environments (" +
                                                       known + "); choose one with --environment NAME");
  }
  auto it = baseline.environments.find(std::string(name));
  if (it == baseline.environments.end()) {
    return make_error(ErrorCode::invalid_argument, "baseline " + baseline.source + " has no environment '" +
                                                       std::string(name) + "' (it has " + known + ")");
  }
  return &it->second;
}

bool is_valid_environment_name(std::string_view name) { return !name.empty() && name.size() <= 128; }

namespace {

// {"schema", "description", "environments": {ENV: {"stores": {KIND: {COUNT: BOUND}}}}},
// each bound written by `write_bound`.
template <typename Kinds, typename WriteCounts>
std::string write_baseline(std::string_view environment, std::string_view description, const Kinds& kinds,
                           WriteCounts&& write_counts) {
  json::Writer out = json::Writer::canonical();
  out.begin_object().member("schema", k_baseline_schema).member("description", description);
  out.key("environments").begin_object().key(environment).begin_object().key("stores").begin_object();
  for (const auto& kind : kinds) {
    out.key(kind).begin_object();
    write_counts(out, kind);
    out.end_object();
  }
  out.end_object().end_object().end_object().end_object();
  return out.take();
}

}  // namespace

std::string baseline_from_manifest(const manifest::Manifest& manifest, std::string_view environment,
                                   std::string_view description) {
  // kind -> count -> {lowest, highest} over the manifest's stores of that kind
  std::map<std::string, std::map<std::string, std::pair<uint64_t, uint64_t>>> ranges;
  for (const manifest::StoreRecord& s : manifest.stores) {
    auto& kind = ranges[s.store];
    for (const auto& [name, value] : s.counts) {
      auto [it, fresh] = kind.try_emplace(name, value, value);
      if (fresh) continue;
      it->second.first = std::min(it->second.first, value);
      it->second.second = std::max(it->second.second, value);
    }
  }
  std::vector<std::string> kinds;
  for (const auto& [kind, counts] : ranges) kinds.push_back(kind);
  return write_baseline(environment, description, kinds, [&](json::Writer& out, const std::string& kind) {
    for (const auto& [name, range] : ranges.at(kind)) {
      out.key(name).begin_object();
      if (range.first == range.second) {
        out.key("exact").number(range.first);
      } else {
        out.key("min").number(range.first).key("max").number(range.second);
      }
      out.end_object();
    }
  });
}

std::string starter_baseline(const store::SpecRegistry& specs, std::string_view environment) {
  return write_baseline(
      environment,
      "starter from cutover init: every count of the built-in store kinds, bounded by min 0 (always holds). "
      "Remove the kinds you do not run, then replace this file with `cutover baseline --from MANIFEST` after a "
      "verified run.",
      specs.names(), [&](json::Writer& out, const std::string& kind) {
        auto spec = specs.find(kind);
        assert(spec);
        for (const store::CountRule& rule : (*spec)->counts) {
          out.key(rule.name).begin_object().key("min").number(uint64_t{0}).end_object();
        }
      });
}

}  // namespace cutover::verify
