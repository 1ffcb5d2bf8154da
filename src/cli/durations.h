// Durations on the command line (`routes check --timeout`, the live verbs'
// --timeout and `routes get --interval`): "2s", "500ms" or whole seconds.
#pragma once

#include <cstdint>
#include <string>

#include "cutover/base/error.h"

namespace cutover::cli {

// "2s", "1500ms", "2" (seconds) -> milliseconds, at least 1. Errors:
// invalid_argument naming `flag` and the text, with examples.
Result<int64_t> parse_duration(const std::string& text, const std::string& flag);

}  // namespace cutover::cli
