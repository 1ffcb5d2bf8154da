// libFuzzer target: the route-split configuration readers (issue 7): the
// route config file (routing::parse_route_config), the OA_ROUTE_SPLIT_*
// environment over it (routing::apply_environment) and the override state
// file (routing::parse_state), as `cutover serve` and `cutover routes` load
// them (route_files/route_files.cc).
//
// An input is up to three sections, each ended by a line "====":
//   1. the config file's text;
//   2. the state file's text (no second section: no state file);
//   3. environment variables, one "NAME=value" a line (names other than
//      OA_ROUTE_SPLIT_* are ignored, as the loader ignores them).
//
// Properties: no reader crashes (ASan/UBSan) and every refusal is explained
// (the right error code, the file or variable named). An accepted config
// holds what the format promises (docs/formats/route-config.md: normalised
// paths and names, every string valid UTF-8 (a variable that is not is
// unset), unique groups, no prefix that an earlier group's prefix matches,
// no pinned route that an earlier one matches, at most 1,000 groups and
// pinned routes, safe base URLs, a percentage of at most 100), before and
// after the environment; the engine built from it decides paths without
// crashing, each prefix in the group that lists it, with labels that match,
// and its status and decisions are valid JSON. There is no config writer, so
// no round trip for the config; the state file has one (state_to_json): an
// accepted state file written again reads back the same, and that writing
// is a fixed point.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/json/parser.h"
#include "cutover/routing/config.h"
#include "cutover/routing/overrides.h"
#include "cutover/routing/paths.h"
#include "cutover/routing/report.h"
#include "cutover/routing/route_split.h"

namespace {

using namespace cutover;
using namespace cutover::routing;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "route_config_fuzz: %s\n", what.c_str());
  std::abort();
}

void require(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

bool is_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A path as the config keeps it: it starts with "/", has no "//", no
// trailing "/" (but "/" itself), and is valid UTF-8, whether it came from
// the config file (JSON) or from a variable (one that is not UTF-8 is unset,
// as the reference reads it; docs/RELIABILITY.md, finding 7).
//
// Normalisation is not always a fixed point (normalize_path(p) == p): the
// reference trims white space before it strips the trailing "/", so
// "/a/\u2028/" keeps "/a/\u2028", which normalises again to "/a". That is
// the reference's rule (docs/RELIABILITY.md, findings), so only the shape is
// checked here.
void check_path(std::string_view p, const std::string& where) {
  require(!p.empty() && p.front() == '/', where + ": a kept path must start with '/'");
  require(p.find("//") == std::string_view::npos, where + ": a kept path holds '//'");
  require(p.size() == 1 || p.back() != '/', where + ": a kept path ends with '/'");
  require(is_valid_utf8(p), where + ": a kept path is not valid UTF-8");
}

void check_base_url(const std::optional<std::string>& url, const std::string& where) {
  if (!url) return;
  const std::string& u = *url;
  require(starts_with(u, "http://") || starts_with(u, "https://"), where + " is not http(s): " + u);
  require(u.back() != '/', where + " ends with '/'");
  require(is_valid_utf8(u), where + " is not valid UTF-8");
  for (char c : u) {
    auto b = static_cast<unsigned char>(c);
    require(b > 0x20 && b < 0x7F && c != '?' && c != '#' && c != '\\',
            where + " holds a character the redirect cannot take");
  }
  std::string_view rest = std::string_view(u).substr(u.find("//") + 2);
  require(rest.substr(0, rest.find('/')).find('@') == std::string_view::npos, where + " holds user info");
}

// What docs/formats/route-config.md promises about an accepted config,
// before and after the environment.
void check_config(const RouteConfig& c) {
  require(c.cohort_percentage <= 100, "cohort_percentage over 100");
  require(!trim(c.salt).empty(), "blank salt");
  require(is_valid_utf8(c.salt), "the salt is not valid UTF-8");
  for (const std::string& e : c.environment) require(is_valid_utf8(e), "a recorded variable is not valid UTF-8");
  std::set<std::string> seen;
  for (const std::string& r : c.rust_routes) {
    check_path(r, "rust_routes");
    require(seen.insert(r).second, "rust_routes holds " + r + " twice");
  }
  require(c.route_groups.size() <= k_max_route_groups, "more route groups than k_max_route_groups");
  require(c.pinned_routes.size() <= k_max_pinned_routes, "more pinned routes than k_max_pinned_routes");
  std::set<std::string> groups, prefixes;
  for (size_t i = 0; i < c.route_groups.size(); ++i) {
    const RouteGroup& g = c.route_groups[i];
    require(is_name(g.domain), "route group name '" + g.domain + "' is not 1-64 of a-z 0-9 _");
    require(g.domain != "unclassified", "a route group is named 'unclassified'");
    require(normalize_group_name(g.domain) == g.domain, "route group name '" + g.domain + "' is not normalised");
    require(groups.insert(g.domain).second, "route group '" + g.domain + "' twice");
    require(!g.route_prefixes.empty(), "route group '" + g.domain + "' without a prefix");
    for (const std::string& p : g.route_prefixes) {
      check_path(p, "route group '" + g.domain + "'");
      require(prefixes.insert(p).second, "prefix " + p + " in two groups (or twice in one)");
      // Groups are tried in order: an earlier group's prefix must not match it.
      for (size_t j = 0; j < i; ++j) {
        for (const std::string& q : c.route_groups[j].route_prefixes) {
          require(!group_prefix_matches(q, p), "prefix " + p + " of group '" + g.domain + "' lies under " + q +
                                                   " of the earlier group '" + c.route_groups[j].domain + "'");
        }
      }
    }
  }
  for (size_t i = 0; i < c.pinned_routes.size(); ++i) {
    const PinnedRoute& p = c.pinned_routes[i];
    check_path(p.prefix, "pinned route");
    require(is_name(p.reason) && is_name(p.route_domain), "pinned route reason or domain is not a safe name");
    for (size_t j = 0; j < i; ++j) {
      require(!group_prefix_matches(c.pinned_routes[j].prefix, p.prefix),
              "pinned route " + p.prefix + " lies under the earlier pinned route " + c.pinned_routes[j].prefix);
    }
  }
  check_base_url(c.legacy_base_url, "legacy_base_url");
  check_base_url(c.rust_base_url, "rust_base_url");
  if (c.tokens_file) require(!trim(*c.tokens_file).empty(), "blank tokens_file");
}

void check_json(const std::string& text, const std::string& what) {
  auto doc = json::parse(text);
  if (!doc) fail(what + " is not valid JSON (" + doc.error().message() + "): " + text);
}

void check_decision(const RouteSplit& engine, std::string_view path, std::string_view key, const Overrides& overrides) {
  Decision d = engine.evaluate(path, key, overrides);
  require(d.path == normalize_path(path), "decision path is not the normalised path");
  require(engine.reason_label(d.reason_id) == d.reason, "reason_id does not match the reason");
  require(engine.domain_label(d.domain_id) == d.route_domain, "domain_id does not match the route domain");
  require(!d.cohort_bucket || *d.cohort_bucket < 100, "cohort bucket over 99");
  require(d.cohort_bucket.has_value() == (d.reason == k_reason_mode_cohort), "cohort bucket without mode_cohort");
  require(!d.cohort_key.empty(), "empty cohort key");
  check_json(decision_json(d), "decision");
  (void)engine.legacy_redirect_url(path, key);
  (void)engine.rust_redirect_url(path, key);
}

// Every group's prefixes and every pin decided, and the status.
void check_engine(const RouteSplit& engine, const Overrides& overrides) {
  const RouteConfig& config = engine.config();
  check_json(status_json(engine, overrides), "status");
  for (const RouteGroup& g : config.route_groups) {
    require(engine.find_group(g.domain) == &g, "find_group does not find group '" + g.domain + "'");
    for (const std::string& p : g.route_prefixes) {
      check_decision(engine, p, "user:1", overrides);
      // Outside the pinned routes, a path is decided in the first group (in
      // order) with a prefix that matches it. No earlier group holds a prefix
      // that matches one of a later group (docs/RELIABILITY.md, finding 11),
      // so for the prefixes that is the group that lists them; a prefix that
      // normalises to another path (finding 10) is decided as that path.
      Decision d = engine.evaluate(p, "", overrides);
      if (std::none_of(config.pinned_routes.begin(), config.pinned_routes.end(),
                       [&](const PinnedRoute& pin) { return group_prefix_matches(pin.prefix, d.path); })) {
        std::string_view expected = k_unclassified;
        for (const RouteGroup& first : config.route_groups) {
          if (std::any_of(first.route_prefixes.begin(), first.route_prefixes.end(),
                          [&](const std::string& q) { return group_prefix_matches(q, d.path); })) {
            expected = first.domain;
            break;
          }
        }
        require(d.route_domain == expected, "prefix " + p + " is decided in '" + std::string(d.route_domain) +
                                                "', not in the first group that matches it");
        require(d.path != p || d.route_domain == g.domain, "prefix " + p + " is decided in '" +
                                                               std::string(d.route_domain) + "', not in its group '" +
                                                               g.domain + "'");
      }
    }
  }
  for (const PinnedRoute& pin : config.pinned_routes) check_decision(engine, pin.prefix + "/x", "", overrides);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> sections;
  constexpr std::string_view k_end = "\n====\n";
  while (sections.size() < 2) {
    size_t end = input.find(k_end);
    if (end == std::string_view::npos) break;
    sections.push_back(input.substr(0, end));
    input.remove_prefix(end + k_end.size());
  }
  sections.push_back(input);

  // 1. The config file.
  auto parsed = parse_route_config(sections[0], "fuzz/routes.json");
  if (!parsed) {
    require(parsed.error().code() == ErrorCode::invalid_argument, "a refused config is not invalid_argument");
    require(starts_with(parsed.error().message(), "route config fuzz/routes.json"),
            "a refusal does not name the file: " + parsed.error().message());
  }
  bool changed = parsed.has_value();  // from the reference: the engine must be checked again
  RouteConfig config = parsed ? std::move(*parsed) : reference_config();
  if (changed) check_config(config);

  // 3. The environment over it (the loader applies it before the state is read).
  if (sections.size() == 3) {
    Environment env;
    std::string_view lines = sections[2];
    while (!lines.empty()) {
      size_t nl = lines.find('\n');
      std::string_view line = lines.substr(0, nl);
      lines.remove_prefix(nl == std::string_view::npos ? lines.size() : nl + 1);
      size_t eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      env.insert_or_assign(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
    RouteConfig with_env = config;
    auto warnings = apply_environment(with_env, env);
    if (!warnings) {
      require(warnings.error().code() == ErrorCode::invalid_argument, "a refused variable is not invalid_argument");
      require(starts_with(warnings.error().message(), "OA_ROUTE_SPLIT_"),
              "a refusal does not name the variable: " + warnings.error().message());
    } else {
      for (const std::string& w : *warnings) {
        require(starts_with(w, "OA_ROUTE_SPLIT_"), "a warning names no variable");
        require(is_valid_utf8(w), "a warning is not valid UTF-8");
      }
      check_config(with_env);
      config = std::move(with_env);
      changed = true;
    }
  }

  // 2. The state file, read against the engine of that config.
  static const RouteSplit reference_engine(reference_config());
  std::optional<RouteSplit> own_engine;
  if (changed) own_engine.emplace(std::move(config));
  const RouteSplit& engine = changed ? *own_engine : reference_engine;
  Overrides overrides;
  if (sections.size() >= 2) {
    auto state = parse_state(sections[1], "fuzz/overrides.json", engine);
    if (!state) {
      require(state.error().code() == ErrorCode::corruption, "a refused state file is not corruption");
      require(starts_with(state.error().message(), "state file fuzz/overrides.json"),
              "a refusal does not name the file: " + state.error().message());
    } else {
      for (const auto& [group, target] : state->overrides.groups) {
        const RouteGroup* g = engine.find_group(group);
        require(g != nullptr && g->domain == group, "state holds an override for an unknown group " + group);
      }
      std::string written = state_to_json(*state);
      auto again = parse_state(written, "fuzz/rewritten.json", engine);
      if (!again) fail("a written state file does not read back: " + again.error().message());
      require(*again == *state, "a written state file reads back different");
      require(state_to_json(*again) == written, "state file writing is not a fixed point");
      overrides = state->overrides;
      changed = true;
    }
  }

  if (changed) check_engine(engine, overrides);
  std::string_view last = sections.back().substr(0, 256);
  check_decision(engine, last, last, overrides);
  return 0;
}
