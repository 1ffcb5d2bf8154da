// Parses JSON text as serde_json 1.0 (default features) reads it into a
// serde_json::Value, so that cutover and the reference tool accept the same
// documents and build the same values, but for doubles (below):
//   - RFC 8259 syntax, whitespace is space, tab, CR and LF only; the text
//     must be valid UTF-8 inside strings, and lone surrogate escapes are refused;
//   - integers stay exact as u64, or as i64 when negative; "-0", integers
//     that do not fit 64 bits and every other number become doubles, correctly
//     rounded (serde_json 1.0.87 was not always: where it gave another double,
//     cutover keeps the number's value; docs/formats/canonical-json.md);
//   - duplicate object keys: the last one wins;
//   - nesting deeper than k_max_depth containers is refused (serde_json's
//     recursion limit), which also bounds our own stack use.
// Errors are invalid_argument with "line L, column C: what" (1-based, columns
// in bytes).
#pragma once

#include <cstddef>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/json/document.h"

namespace cutover::json {

// Containers may nest this deep; one more level is refused.
inline constexpr int k_max_depth = 127;

// Parses `text`; the document takes the buffer, and strings point into it.
Result<Document> parse(base::Buffer text);
// Parses `text` without copying it: strings point into it.
// REQUIRES: `text` outlives the document.
Result<Document> parse_borrowed(std::string_view text);
// Parses a copy of `text`.
Result<Document> parse(std::string_view text);

// Documents of 4 MiB and more are parsed on two threads: a second thread
// starts at a comma near the middle, and the first checks its guess when it
// gets there (parser.cc, parse_split). The result, and every error, is the
// single-threaded parser's. For tests: parse with the second thread's start
// searched from byte `split_from` (SIZE_MAX: one thread); `joined`, when
// given, tells whether the second thread's work was used.
Result<Document> parse_borrowed_split(std::string_view text, size_t split_from, bool* joined = nullptr);

}  // namespace cutover::json
