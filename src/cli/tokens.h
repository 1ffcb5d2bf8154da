// Bearer tokens of the control server (docs/formats/tokens.md), as
// `cutover token new` and `cutover init` make them.
#pragma once

#include <string>

#include "cutover/base/error.h"

namespace cutover::cli {

// A new token: 32 bytes of the operating system's random source as 64
// lower-case hex digits. Errors: io_error when no random bytes can be read.
Result<std::string> new_token();

// The tokens file's line for `token` (no newline): "ROLE NAME sha256:HEX",
// HEX the SHA-256 of the token's bytes.
std::string token_line(const std::string& role, const std::string& name, const std::string& token);

// Whether `name` may name a token's holder: 1-64 of A-Z a-z 0-9 _ - . @
bool valid_token_name(const std::string& name);

}  // namespace cutover::cli
