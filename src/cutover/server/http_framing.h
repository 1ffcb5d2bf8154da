// Where one HTTP/1.1 request ends (RFC 9112 §6), decided from the raw bytes
// before the HTTP library sees them, so that the library and the server can
// never disagree about it (the disagreement is request smuggling: the tail
// of one request read as the next one).
//
// The rules, strict where the RFC allows a choice:
//   - every line of the header block (and of a chunked body) ends in CRLF;
//     a bare LF or a bare CR is refused, as are obsolete line folding, a
//     field name with white space or other non-token bytes before the ':',
//     and a NUL in a field value;
//   - Content-Length is all digits; repeated, every value is the same;
//   - Transfer-Encoding, if present, is exactly `chunked` (once), and a
//     request carrying it may not carry Content-Length as well;
//   - a chunk size is hexadecimal digits, then an optional extension
//     (";..."), then CRLF; each chunk's data ends in CRLF;
//   - with neither header the body is empty; whatever the method (a GET or
//     HEAD with a body is framed by its Content-Length too).
// A refused request is answered 400 and its connection closed: where the
// next request would begin is unknown.
//
// Pure: no I/O, no HTTP library.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cutover::server {

struct FramingLimits {
  size_t max_header_bytes = 16 * 1024;  // request line and fields, with blank lines before them
  size_t max_body_bytes = 1024 * 1024;  // the body as sent (chunk framing included)
};

struct RequestFrame {
  enum class Kind {
    incomplete,  // a prefix of a well-framed request: wait for more bytes
    complete,    // [begin, end) is one whole request
    invalid,     // not well-framed: answer 400 (`problem` says why), then close
    too_large,   // over a limit before its end was seen: let the library refuse it, then close
  };
  Kind kind = Kind::incomplete;
  size_t begin = 0;     // complete: the request line's first byte (blank lines before it are skipped)
  size_t end = 0;       // complete: one past the request's last byte
  std::string problem;  // invalid: e.g. "both Content-Length and Transfer-Encoding"
};

// The framing of the request at the start of `data`. Thread-safe.
RequestFrame frame_request(std::string_view data, const FramingLimits& limits);

}  // namespace cutover::server
