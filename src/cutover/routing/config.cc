#include "cutover/routing/config.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "cutover/json/utf8.h"
#include "cutover/routing/paths.h"

namespace cutover::routing {
namespace {

constexpr std::string_view k_group_keys[] = {"domain", "rollback_target", "route_prefixes"};
constexpr std::string_view k_pinned_keys[] = {"prefix", "reason", "route_domain", "target"};

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

// Group names, pinned reasons and domains appear in metric labels, response
// headers and audit scopes: keep them to a safe alphabet.
std::optional<std::string> check_name(std::string_view name) {
  if (name.empty()) return "must not be blank";
  if (name.size() > 64) return "must be at most 64 characters";
  if (!std::all_of(name.begin(), name.end(), is_name_char)) {
    return "'" + std::string(name) + "' may hold only a-z, 0-9 and _";
  }
  return std::nullopt;
}

// Normalises a base URL as the reference does (trim, strip trailing "/") and
// checks that a redirect to base + path is safe. Sets `out` (nullopt when
// empty); returns the problem, if any.
std::optional<std::string> read_base_url(std::string_view raw, std::optional<std::string>& out) {
  std::string_view t = trim(raw);
  while (!t.empty() && t.back() == '/') t.remove_suffix(1);
  if (t.empty()) {
    out.reset();
    return std::nullopt;
  }
  std::string_view rest;
  if (t.substr(0, 7) == "http://")
    rest = t.substr(7);
  else if (t.substr(0, 8) == "https://")
    rest = t.substr(8);
  else
    return "'" + std::string(t) + "' must start with http:// or https://";
  if (rest.empty() || rest.front() == '/') return "'" + std::string(t) + "' has no host";
  // Printable ASCII only: white space of any kind (U+00A0, U+3000 too) and
  // a backslash are read differently by different clients, so the host a
  // redirect reaches would depend on the browser.
  for (char c : t) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '?' || c == '#' || c == '\\') {
      return "'" + std::string(t) +
             "' may hold only printable ASCII without spaces, '?', '#' or '\\' (write an international host name "
             "in its xn-- form)";
    }
  }
  // User info ("https://legacy.example.com@evil.example"): the host is what
  // follows the '@', whatever the text before it looks like.
  if (rest.substr(0, rest.find('/')).find('@') != std::string_view::npos) {
    return "'" + std::string(t) + "' holds user info ('@' before the host); give the scheme and host only";
  }
  out = std::string(t);
  return std::nullopt;
}

// The prefixes read so far (of earlier route groups, or of earlier pinned
// routes), as a tree of path segments: "/chat/x" is the node "x" below
// "chat" below the root, and "/" is the root itself. The prefixes that match
// a new one by group_prefix_matches (the same prefix, or a parent of it at a
// "/"; "/" matches only "/") all lie on the walk from the root down the new
// prefix's segments, so a check costs the new prefix's length, whatever the
// number of prefixes read before it.
class PrefixTree {
 public:
  // Who listed a prefix: its index in the file's array, and its name (the
  // group's domain, the pinned route's reason).
  struct Claim {
    size_t index = 0;
    std::string name;
  };
  struct Match {
    const Claim* claim;
    std::string_view prefix;  // the earlier prefix: a leading part of the new one
  };

  // The prefix read so far that matches `prefix`, from the earliest claim
  // (lowest index) when several do; nullopt when none does.
  // REQUIRES: `prefix` is normalised (normalize_path).
  std::optional<Match> first_match(std::string_view prefix) const {
    if (prefix == "/") {
      if (root_.claim) return Match{&*root_.claim, prefix};
      return std::nullopt;
    }
    std::optional<Match> best;
    const Node* node = &root_;
    for (size_t begin = 1; begin <= prefix.size();) {
      size_t end = std::min(prefix.find('/', begin), prefix.size());
      auto it = node->children.find(prefix.substr(begin, end - begin));
      if (it == node->children.end()) break;
      node = it->second.get();
      if (node->claim && (!best || node->claim->index < best->claim->index)) {
        best = Match{&*node->claim, prefix.substr(0, end)};
      }
      begin = end + 1;
    }
    return best;
  }

  // Records `prefix` for `claim`, unless an earlier claim holds it already.
  // REQUIRES: `prefix` is normalised.
  void add(std::string_view prefix, const Claim& claim) {
    Node* node = &root_;
    for (size_t begin = 1; prefix != "/" && begin <= prefix.size();) {
      size_t end = std::min(prefix.find('/', begin), prefix.size());
      std::string_view segment = prefix.substr(begin, end - begin);
      auto it = node->children.find(segment);
      if (it == node->children.end()) it = node->children.emplace(std::string(segment), std::make_unique<Node>()).first;
      node = it->second.get();
      begin = end + 1;
    }
    if (!node->claim) node->claim = claim;
  }

 private:
  struct Node {
    std::optional<Claim> claim;
    std::map<std::string, std::unique_ptr<Node>, std::less<>> children;
  };
  Node root_;
};

// Collects problems while reading one object's fields.
class Reader {
 public:
  explicit Reader(std::vector<std::string>& problems) : problems_(problems) {}

  void problem(const std::string& field, const std::string& what) { problems_.push_back(field + ": " + what); }

  std::optional<bool> boolean(const json::Node& v, const std::string& field) {
    return json::read_boolean(v, field, problems_);
  }

  std::optional<std::string> string(const json::Node& v, const std::string& field) {
    return json::read_string(v, field, problems_);
  }

  std::optional<RouteTarget> target(const json::Node& v, const std::string& field) {
    auto s = string(v, field);
    if (!s) return std::nullopt;
    auto t = parse_target_name(*s);
    if (!t) problem(field, "unknown target '" + *s + "' (expected legacy or rust_shell)");
    return t;
  }

  // An array of path prefixes: each normalised; blanks refused; duplicates dropped.
  std::optional<std::vector<std::string>> paths(const json::Node& v, const std::string& field) {
    if (!v.is_array()) {
      problem(field, "must be an array of paths, not " + kind(v));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (size_t i = 0; i < v.size(); ++i) {
      std::string where = field + "[" + std::to_string(i) + "]";
      auto s = string(v.elements()[i], where);
      if (!s) {
        ok = false;
        continue;
      }
      if (trim(*s).empty()) {
        problem(where, "must not be blank (\"/\" is the root)");
        ok = false;
        continue;
      }
      std::string p = normalize_path(*s);
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
    }
    if (!ok) return std::nullopt;
    return out;
  }

  static std::string kind(const json::Node& v) { return std::string(json::kind_name(v.kind())); }

 private:
  std::vector<std::string>& problems_;
};

void check_keys(const json::Node& object, const std::string& where, std::span<const std::string_view> known,
                Reader& r) {
  for (size_t i = 0; i < object.size(); ++i) {
    std::string_view key = object.members()[i].key.as_string();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      r.problem(where.empty() ? std::string(key) : where + "." + std::string(key),
                json::unknown_field_message(key, known));
    }
  }
}

std::optional<RouteGroup> read_group(const json::Node& v, const std::string& where, Reader& r) {
  if (!v.is_object()) {
    r.problem(where, "must be an object {domain, route_prefixes, rollback_target}, not " + Reader::kind(v));
    return std::nullopt;
  }
  check_keys(v, where, k_group_keys, r);
  RouteGroup g;
  bool ok = true;
  if (const json::Node* d = v.find("domain")) {
    if (auto s = r.string(*d, where + ".domain")) {
      g.domain = normalize_group_name(*s);
      if (auto bad = check_name(g.domain))
        r.problem(where + ".domain", *bad), ok = false;
      else if (g.domain == "unclassified")
        r.problem(where + ".domain", "'unclassified' is reserved for paths in no group"), ok = false;
    } else {
      ok = false;
    }
  } else {
    r.problem(where + ".domain", "is missing");
    ok = false;
  }
  if (const json::Node* p = v.find("route_prefixes")) {
    if (auto paths = r.paths(*p, where + ".route_prefixes")) {
      g.route_prefixes = std::move(*paths);
      if (g.route_prefixes.empty()) r.problem(where + ".route_prefixes", "must list at least one prefix"), ok = false;
    } else {
      ok = false;
    }
  } else {
    r.problem(where + ".route_prefixes", "is missing");
    ok = false;
  }
  if (const json::Node* t = v.find("rollback_target")) {
    if (auto target = r.target(*t, where + ".rollback_target"))
      g.rollback_target = *target;
    else
      ok = false;
  } else {
    r.problem(where + ".rollback_target", "is missing (legacy or rust_shell)");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return g;
}

std::optional<PinnedRoute> read_pinned(const json::Node& v, const std::string& where, Reader& r) {
  if (!v.is_object()) {
    r.problem(where, "must be an object {prefix, target, reason, route_domain}, not " + Reader::kind(v));
    return std::nullopt;
  }
  check_keys(v, where, k_pinned_keys, r);
  PinnedRoute p;
  bool ok = true;
  if (const json::Node* n = v.find("prefix")) {
    auto s = r.string(*n, where + ".prefix");
    if (s && trim(*s).empty())
      r.problem(where + ".prefix", "must not be blank"), ok = false;
    else if (s)
      p.prefix = normalize_path(*s);
    else
      ok = false;
  } else {
    r.problem(where + ".prefix", "is missing");
    ok = false;
  }
  if (const json::Node* n = v.find("target")) {
    if (auto t = r.target(*n, where + ".target"))
      p.target = *t;
    else
      ok = false;
  } else {
    r.problem(where + ".target", "is missing (legacy or rust_shell)");
    ok = false;
  }
  if (const json::Node* n = v.find("reason")) {
    if (auto s = r.string(*n, where + ".reason")) {
      p.reason = *s;
      if (auto bad = check_name(p.reason)) r.problem(where + ".reason", *bad), ok = false;
    } else {
      ok = false;
    }
  } else {
    r.problem(where + ".reason", "is missing");
    ok = false;
  }
  if (const json::Node* n = v.find("route_domain")) {
    if (auto s = r.string(*n, where + ".route_domain")) {
      p.route_domain = *s;
      if (auto bad = check_name(p.route_domain)) r.problem(where + ".route_domain", *bad), ok = false;
    } else {
      ok = false;
    }
  } else {
    p.route_domain = p.reason;
  }
  if (!ok) return std::nullopt;
  return p;
}

// Rust's str::parse::<u8>: an optional '+', then one or more ASCII digits, value <= 255.
std::optional<unsigned> parse_rust_u8(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value > 255) return std::nullopt;
  return value;
}

bool reference_truthy(std::string_view value) {
  std::string v = ascii_lower(trim(value));
  return v == "1" || v == "true" || v == "yes";
}

}  // namespace

std::string_view target_name(RouteTarget target) { return target == RouteTarget::legacy ? "legacy" : "rust_shell"; }

std::string_view mode_name(RouteMode mode) {
  switch (mode) {
    case RouteMode::legacy:
      return "legacy";
    case RouteMode::rust:
      return "rust";
    case RouteMode::cohort:
      return "cohort";
  }
  return "legacy";
}

std::optional<RouteTarget> parse_target_name(std::string_view name) {
  std::string n = ascii_lower(trim(name));
  if (n == "legacy") return RouteTarget::legacy;
  if (n == "rust_shell" || n == "rust") return RouteTarget::rust_shell;
  return std::nullopt;
}

RouteConfig reference_config() {
  RouteConfig c;
  c.route_groups = {
      {"auth_entry", {"/login", "/register", "/authenticate", "/onboarding"}, RouteTarget::legacy},
      {"account_settings_admin", {"/account", "/settings", "/admin"}, RouteTarget::legacy},
      {"billing_l402", {"/billing", "/l402"}, RouteTarget::legacy},
      {"chat_pilot", {"/chat", "/feed", "/"}, RouteTarget::rust_shell},
  };
  c.pinned_routes = {
      {"/api/runtime/codex/workers", RouteTarget::rust_shell, "codex_worker_control_rust_authority",
       "runtime_codex_worker_control"},
      {"/api", RouteTarget::rust_shell, "api_rust_authority", "api_rust_authority"},
  };
  return c;
}

namespace {

// The steps of parse_route_config: one reader a top-level field, each
// setting its part of the config or recording the problems.

void read_enabled(const json::Node& v, RouteConfig& c, Reader& r) {
  if (auto b = r.boolean(v, "enabled")) c.enabled = *b;
}

void read_force_legacy(const json::Node& v, RouteConfig& c, Reader& r) {
  if (auto b = r.boolean(v, "force_legacy")) c.force_legacy = *b;
}

void read_mode(const json::Node& v, RouteConfig& c, Reader& r) {
  auto s = r.string(v, "mode");
  if (!s) return;
  std::string m = ascii_lower(trim(*s));
  if (m == "legacy")
    c.mode = RouteMode::legacy;
  else if (m == "rust")
    c.mode = RouteMode::rust;
  else if (m == "cohort")
    c.mode = RouteMode::cohort;
  else
    r.problem("mode", "unknown mode '" + *s + "' (expected legacy, rust or cohort)");
}

void read_cohort_percentage(const json::Node& v, RouteConfig& c, Reader& r) {
  if (v.kind() == json::Kind::u64 && v.as_u64() <= 100) {
    c.cohort_percentage = static_cast<uint8_t>(v.as_u64());
  } else if (v.is_number()) {
    r.problem("cohort_percentage", "must be a whole number from 0 to 100");
  } else {
    r.problem("cohort_percentage", "must be a whole number from 0 to 100, not " + Reader::kind(v));
  }
}

void read_salt(const json::Node& v, RouteConfig& c, Reader& r) {
  auto s = r.string(v, "salt");
  if (!s) return;
  if (trim(*s).empty())
    r.problem("salt", "must not be blank (leave it out for the reference salt)");
  else
    c.salt = *s;
}

void read_rust_routes(const json::Node& v, RouteConfig& c, Reader& r) {
  if (auto paths = r.paths(v, "rust_routes")) c.rust_routes = std::move(*paths);
}

void read_base_url_field(const json::Node& v, std::string_view name, std::optional<std::string>& field, Reader& r) {
  if (v.is_null()) {
    field.reset();
    return;
  }
  if (auto s = r.string(v, std::string(name))) {
    if (auto bad = read_base_url(*s, field)) r.problem(std::string(name), *bad);
  }
}

void read_legacy_base_url(const json::Node& v, RouteConfig& c, Reader& r) {
  read_base_url_field(v, "legacy_base_url", c.legacy_base_url, r);
}

void read_rust_base_url(const json::Node& v, RouteConfig& c, Reader& r) {
  read_base_url_field(v, "rust_base_url", c.rust_base_url, r);
}

void read_tokens_file(const json::Node& v, RouteConfig& c, Reader& r) {
  if (v.is_null()) {
    c.tokens_file.reset();
  } else if (auto s = r.string(v, "tokens_file")) {
    if (trim(*s).empty())
      r.problem("tokens_file", "must not be blank");
    else
      c.tokens_file = *s;
  }
}

// An HTTP token (RFC 9110 §5.6.2): the form of header and cookie names.
bool is_http_token(std::string_view s) {
  static constexpr std::string_view k_token_punctuation = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           k_token_punctuation.find(c) != std::string_view::npos;
  });
}

void read_token_name(const json::Node& v, std::string_view name, std::string_view what,
                     std::optional<std::string>& field, Reader& r) {
  if (v.is_null()) {
    field.reset();
    return;
  }
  auto s = r.string(v, std::string(name));
  if (!s) return;
  if (!is_http_token(*s)) {
    r.problem(std::string(name), "'" + *s + "' is not a " + std::string(what) +
                                     " name (non-empty; letters, digits and !#$%&'*+-.^_`|~ only)");
    return;
  }
  field = *s;
}

void read_cohort_key_header(const json::Node& v, RouteConfig& c, Reader& r) {
  read_token_name(v, "cohort_key_header", "header", c.cohort_key_header, r);
}

void read_cohort_key_cookie(const json::Node& v, RouteConfig& c, Reader& r) {
  read_token_name(v, "cohort_key_cookie", "cookie", c.cohort_key_cookie, r);
}

// Groups are tried in order: a prefix that an earlier group's prefix
// matches could never match in group `g` (route_groups[i]).
void check_group_prefixes(const RouteGroup& g, const std::string& where, const PrefixTree& earlier, Reader& r) {
  for (size_t j = 0; j < g.route_prefixes.size(); ++j) {
    const std::string& prefix = g.route_prefixes[j];
    auto match = earlier.first_match(prefix);
    if (!match) continue;
    const PrefixTree::Claim& owner = *match->claim;
    std::string field = where + ".route_prefixes[" + std::to_string(j) + "]";
    std::string owner_text = "group '" + owner.name + "' (route_groups[" + std::to_string(owner.index) + "])";
    if (match->prefix == prefix) {
      r.problem(field, "'" + prefix + "' of group '" + g.domain + "' is already in " + owner_text +
                           "; groups are tried in order, so it would never match in '" + g.domain +
                           "': remove it from one of them");
    } else {
      r.problem(field, "'" + prefix + "' of group '" + g.domain + "' lies under '" + std::string(match->prefix) +
                           "' of the earlier " + owner_text +
                           "; groups are tried in order, so every path it "
                           "matches is decided in '" +
                           owner.name + "': list '" + g.domain + "' before '" + owner.name + "', or remove the prefix");
    }
  }
}

void read_route_groups(const json::Node& v, RouteConfig& c, Reader& r) {
  if (!v.is_array()) {
    r.problem("route_groups", "must be an array of {domain, route_prefixes, rollback_target}, not " + Reader::kind(v));
    return;
  }
  if (v.size() > k_max_route_groups) {
    r.problem("route_groups", "holds " + std::to_string(v.size()) + " groups; at most " +
                                  std::to_string(k_max_route_groups) +
                                  " are allowed: merge groups that share a rollback target");
    return;
  }
  c.route_groups.clear();
  std::set<std::string> names;
  PrefixTree earlier;  // the prefixes of the groups before this one
  for (size_t i = 0; i < v.size(); ++i) {
    std::string where = "route_groups[" + std::to_string(i) + "]";
    auto g = read_group(v.elements()[i], where, r);
    if (!g) continue;
    if (!names.insert(g->domain).second) {
      r.problem(where + ".domain",
                "duplicate route group '" + g->domain + "' (group names are trimmed, lower-cased and '-' becomes '_')");
      continue;
    }
    check_group_prefixes(*g, where, earlier, r);
    for (const std::string& prefix : g->route_prefixes) earlier.add(prefix, {i, g->domain});
    c.route_groups.push_back(std::move(*g));
  }
}

// Pinned routes are tried in order too (and before the groups, by design: a
// pin overrides the groups).
void check_pinned_prefix(const PinnedRoute& p, const std::string& where, const PrefixTree& earlier, Reader& r) {
  auto match = earlier.first_match(p.prefix);
  if (!match) return;
  const PrefixTree::Claim& owner = *match->claim;
  std::string owner_text = "pinned_routes[" + std::to_string(owner.index) + "] (reason '" + owner.name + "')";
  if (match->prefix == p.prefix) {
    r.problem(where + ".prefix", "'" + p.prefix + "' is already pinned by " + owner_text +
                                     "; pinned routes are tried in order, so this one would never match: "
                                     "remove one of them");
  } else {
    r.problem(where + ".prefix", "'" + p.prefix + "' lies under '" + std::string(match->prefix) + "' of the earlier " +
                                     owner_text +
                                     "; pinned routes are tried in order, "
                                     "so every path it matches takes that pin: list it before pinned_routes[" +
                                     std::to_string(owner.index) + "], or remove it");
  }
}

void read_pinned_routes(const json::Node& v, RouteConfig& c, Reader& r) {
  if (!v.is_array()) {
    r.problem("pinned_routes", "must be an array of {prefix, target, reason, route_domain}, not " + Reader::kind(v));
    return;
  }
  if (v.size() > k_max_pinned_routes) {
    r.problem("pinned_routes", "holds " + std::to_string(v.size()) + " pinned routes; at most " +
                                   std::to_string(k_max_pinned_routes) +
                                   " are allowed: pin a common parent instead (a pin matches every path below it)");
    return;
  }
  c.pinned_routes.clear();
  PrefixTree earlier;  // the prefixes of the pinned routes before this one
  for (size_t i = 0; i < v.size(); ++i) {
    std::string where = "pinned_routes[" + std::to_string(i) + "]";
    auto p = read_pinned(v.elements()[i], where, r);
    if (!p) continue;
    check_pinned_prefix(*p, where, earlier, r);
    earlier.add(p->prefix, {i, p->reason});
    c.pinned_routes.push_back(std::move(*p));
  }
}

// The top-level fields, in the order they are read (and their problems
// listed).
struct TopField {
  std::string_view name;
  void (*read)(const json::Node& value, RouteConfig& config, Reader& r);
};
constexpr TopField k_top_fields[] = {
    {"enabled", read_enabled},
    {"force_legacy", read_force_legacy},
    {"mode", read_mode},
    {"cohort_percentage", read_cohort_percentage},
    {"salt", read_salt},
    {"rust_routes", read_rust_routes},
    {"legacy_base_url", read_legacy_base_url},
    {"rust_base_url", read_rust_base_url},
    {"tokens_file", read_tokens_file},
    {"cohort_key_header", read_cohort_key_header},
    {"cohort_key_cookie", read_cohort_key_cookie},
    {"route_groups", read_route_groups},
    {"pinned_routes", read_pinned_routes},
};

// The names of k_top_fields in byte order (for "known: ..." messages).
const std::vector<std::string_view>& known_top_fields() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const TopField& f : k_top_fields) out.push_back(f.name);
    std::sort(out.begin(), out.end());
    return out;
  }();
  return names;
}

Result<json::Document> parse_config_document(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) {
    return make_error(ErrorCode::invalid_argument,
                      "route config " + source + ": " + doc.error().message() + " (the file must be one JSON object)");
  }
  if (!doc->root().is_object()) {
    return make_error(ErrorCode::invalid_argument, "route config " + source +
                                                       ": the document must be a JSON object, not " +
                                                       std::string(json::kind_name(doc->root().kind())));
  }
  return doc;
}

}  // namespace

Result<RouteConfig> parse_route_config(std::string_view text, const std::string& source) {
  TRY_ASSIGN(json::Document doc, parse_config_document(text, source));
  RouteConfig c = reference_config();
  c.source = source;
  std::vector<std::string> problems;
  Reader r(problems);
  check_keys(doc.root(), "", known_top_fields(), r);
  for (const TopField& field : k_top_fields) {
    if (const json::Node* v = doc.root().find(field.name)) field.read(*v, c, r);
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "route config " + source + " is not usable: " + json::join_problems(problems));
  }
  return c;
}

Result<std::vector<std::string>> apply_environment(RouteConfig& config, const Environment& env) {
  std::vector<std::string> warnings;
  // The value of `name`, or nullptr when it is not set or (as std::env::var
  // reads it in the reference) not valid UTF-8.
  auto get = [&](std::string_view name) -> const std::string* {
    auto it = env.find(name);
    if (it == env.end()) return nullptr;
    if (size_t bad = json::first_invalid_utf8(it->second); bad != std::string_view::npos) {
      warnings.push_back(std::string(name) + " is not valid UTF-8 (at byte " + std::to_string(bad) +
                         "): treated as unset, as the reference treats it (the config file's or built-in value stays); "
                         "fix the variable or unset it");
      return nullptr;
    }
    return &it->second;
  };
  auto record = [&](std::string_view name, const std::string& value) {
    config.environment.push_back(std::string(name) + "=" + value);
  };
  if (const std::string* v = get(k_env_enabled)) {
    config.enabled = reference_truthy(*v);
    record(k_env_enabled, *v);
  }
  if (const std::string* v = get(k_env_mode); v && !trim(*v).empty()) {
    std::string m = ascii_lower(trim(*v));
    config.mode = m == "rust" ? RouteMode::rust : m == "cohort" ? RouteMode::cohort : RouteMode::legacy;
    if (m != "rust" && m != "cohort" && m != "legacy") {
      warnings.push_back(std::string(k_env_mode) + "='" + *v +
                         "' is not legacy, rust or cohort: mode legacy, as the reference reads it");
    }
    record(k_env_mode, *v);
  }
  if (const std::string* v = get(k_env_rust_routes)) {
    std::vector<std::string> routes;
    std::string_view rest = *v;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty()) {
        std::string p = normalize_path(item);
        if (std::find(routes.begin(), routes.end(), p) == routes.end()) routes.push_back(std::move(p));
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    config.rust_routes = std::move(routes);
    record(k_env_rust_routes, *v);
  }
  if (const std::string* v = get(k_env_cohort_percentage)) {
    if (auto p = parse_rust_u8(*v)) {
      config.cohort_percentage = static_cast<uint8_t>(std::min(*p, 100u));
      record(k_env_cohort_percentage, *v);
    } else {
      warnings.push_back(
          std::string(k_env_cohort_percentage) + "='" + *v +
          "' is not a whole number from 0 to 255: ignored, as the reference ignores it (cohort_percentage stays " +
          std::to_string(config.cohort_percentage) + ")");
    }
  }
  if (const std::string* v = get(k_env_salt); v && !trim(*v).empty()) {
    config.salt = *v;
    record(k_env_salt, "(set)");
  }
  if (const std::string* v = get(k_env_force_legacy)) {
    config.force_legacy = reference_truthy(*v);
    record(k_env_force_legacy, *v);
  }
  if (const std::string* v = get(k_env_legacy_base_url)) {
    if (auto bad = read_base_url(*v, config.legacy_base_url)) {
      return make_error(ErrorCode::invalid_argument,
                        std::string(k_env_legacy_base_url) + ": " + *bad +
                            "; fix the variable or unset it to use the config file's value");
    }
    record(k_env_legacy_base_url, *v);
  }
  return warnings;
}

}  // namespace cutover::routing
