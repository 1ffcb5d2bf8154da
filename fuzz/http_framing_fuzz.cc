// libFuzzer target: frame_request() (server/http_framing.h, issue 12 item
// 14), which decides from raw, untrusted bytes where a request ends before
// the HTTP library sees them.
//
// Properties: nothing crashes (ASan/UBSan); a complete request lies inside
// the input, with only blank lines (CRLF) before it, and its framing does not
// depend on what follows it (the same frame for the request alone) nor can
// any shorter prefix of it be complete (no prefix is taken for the whole);
// a refusal says why, and more bytes never turn it into an acceptance (the
// verdict on a request is final once it is given); waiting, and "too
// large", only within the limits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cutover/server/http_framing.h"

namespace {

using cutover::server::frame_request;
using cutover::server::FramingLimits;
using cutover::server::RequestFrame;
using Kind = RequestFrame::Kind;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "http_framing_fuzz: %s\n", what.c_str());
  std::abort();
}

void require(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

// Small limits, so that inputs reach them.
constexpr FramingLimits k_limits{.max_header_bytes = 512, .max_body_bytes = 256};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string_view data(reinterpret_cast<const char*>(bytes), size);
  RequestFrame f = frame_request(data, k_limits);
  switch (f.kind) {
    case Kind::complete: {
      require(f.begin < f.end && f.end <= data.size(), "a complete frame outside the input");
      require(f.begin % 2 == 0, "an odd number of bytes before the request line");
      for (size_t i = 0; i < f.begin; i += 2) require(data.substr(i, 2) == "\r\n", "skipped bytes that are not CRLF");
      RequestFrame alone = frame_request(data.substr(0, f.end), k_limits);
      require(alone.kind == Kind::complete && alone.begin == f.begin && alone.end == f.end,
              "the frame depends on the bytes after the request");
      // A few shorter prefixes (all of them would be quadratic).
      for (size_t cut : {f.end - 1, f.end / 2, f.begin + 1}) {
        if (cut >= f.end) continue;
        RequestFrame shorter = frame_request(data.substr(0, cut), k_limits);
        require(shorter.kind == Kind::incomplete || shorter.kind == Kind::too_large,
                "a prefix of a complete request is not incomplete");
      }
      break;
    }
    case Kind::invalid: {
      require(!f.problem.empty(), "a refusal without a reason");
      for (std::string_view more :
           {std::string_view("\r\n\r\n"), std::string_view("0\r\n\r\n"), std::string_view("x")}) {
        RequestFrame longer = frame_request(std::string(data) + std::string(more), k_limits);
        require(longer.kind == Kind::invalid,
                "more bytes turned a refusal into " + std::to_string(static_cast<int>(longer.kind)) + ": " + f.problem);
      }
      break;
    }
    case Kind::incomplete:
      // Waiting is bounded: past the header limit, only a request whose
      // header block has ended may wait (for its body).
      require(data.size() <= k_limits.max_header_bytes || data.find("\r\n\r\n") != std::string_view::npos,
              "waits past the header limit");
      break;
    case Kind::too_large:
      // Only a header block, or a body after one, over its limit.
      require(data.size() > k_limits.max_header_bytes || data.find("\r\n\r\n") != std::string_view::npos,
              "too large before any limit was reached");
      break;
  }
  return 0;
}
