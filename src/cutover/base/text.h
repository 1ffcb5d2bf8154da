// Small text helpers shared by the modules' readers.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace cutover::base {

// The Levenshtein distance (single-byte insertions, deletions and
// substitutions) between `a` and `b`.
size_t edit_distance(std::string_view a, std::string_view b);

// The first of `candidates` nearest to `word` by edit_distance, if that
// distance is below `below`; "" otherwise (the "did you mean" suggestion).
std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates, size_t below);

// The first line of `text` (without its '\n'), removed from `text`
// together with the '\n'; the rest when no '\n' is left.
std::string_view take_line(std::string_view& text);

}  // namespace cutover::base
