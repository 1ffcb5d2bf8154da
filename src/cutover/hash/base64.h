// Base64 (RFC 4648 §4, the standard alphabet with '=' padding), as DSSE
// envelopes carry payloads and signatures and as `base64` and `openssl
// base64 -A` print them.
//
// Decoding is strict, so that one text decodes to one byte string and one
// byte string has one text: characters outside the alphabet (white space
// included), a wrong length, misplaced padding or non-zero bits left over in
// the last character are refused. The URL-safe alphabet ('-' and '_', which
// DSSE also allows) is accepted when `allow_url_safe` is set, never mixed
// with '+' and '/'.
#pragma once

#include <string>
#include <string_view>

#include "cutover/base/error.h"

namespace cutover::hash {

std::string base64_encode(std::string_view bytes);

// Errors: invalid_argument naming `what` (e.g. "payload") and the problem.
Result<std::string> base64_decode(std::string_view text, std::string_view what, bool allow_url_safe = false);

}  // namespace cutover::hash
