// Path, prefix, group-name and cohort-key rules of the route split (SPEC §6),
// exactly as the reference applies them. Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>

namespace cutover::routing {

// Removes leading and trailing white space as Rust's str::trim does: the
// Unicode White_Space characters (ASCII space and \t \n \v \f \r, U+0085,
// U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
std::string_view trim(std::string_view text);
// The view would outlive a temporary string: keep the string in a variable.
std::string_view trim(const std::string&& text) = delete;
inline std::string_view trim(const char* text) { return trim(std::string_view(text)); }

// ASCII lower-casing (target and group names are ASCII).
std::string ascii_lower(std::string_view text);

// Path normalisation: trim; empty -> "/"; add a leading "/"; collapse every
// run of "/" into one; strip the trailing "/". The result always starts with
// "/": where the reference turns "//" into "" (its trailing-slash strip
// empties the path), this returns "/" (docs/formats/route-config.md).
std::string normalize_path(std::string_view path);

// True if `path` (normalised) is `prefix` (normalised) or lies below it
// ("/chat" matches "/chat" and "/chat/x", not "/chatter"). A prefix "/"
// matches only "/": the rule for route-group prefixes and pinned routes.
bool group_prefix_matches(std::string_view prefix, std::string_view path);

// The rule for the list of new-service routes: like group_prefix_matches,
// except that "/" matches every path.
bool rust_route_matches(std::string_view prefix, std::string_view path);

// Operator-given group names: trimmed, lower-cased, '-' -> '_'.
std::string normalize_group_name(std::string_view name);

// Cohort keys: trimmed; blank -> "anonymous".
std::string normalize_cohort_key(std::string_view key);

inline constexpr std::string_view k_anonymous_cohort_key = "anonymous";

}  // namespace cutover::routing
