#include "cutover/server/http_framing.h"

#include <optional>

namespace cutover::server {
namespace {

// A line that starts at some offset: where its CRLF is, or why there is none.
struct Line {
  enum class State { found, need_more, bare_lf, bare_cr };
  State state;
  size_t end;  // found: the index of its '\r'
};

Line next_line(std::string_view data, size_t from) {
  for (size_t i = from; i < data.size(); ++i) {
    if (data[i] == '\n') return {Line::State::bare_lf, i};
    if (data[i] != '\r') continue;
    if (i + 1 == data.size()) return {Line::State::need_more, i};
    if (data[i + 1] != '\n') return {Line::State::bare_cr, i};
    return {Line::State::found, i};
  }
  return {Line::State::need_more, data.size()};
}

std::string line_problem(Line::State state, std::string_view where) {
  return std::string(state == Line::State::bare_lf ? "a bare LF" : "a bare CR") + " in the " + std::string(where) +
         " (lines must end in CRLF)";
}

// RFC 9110 §5.6.2 tchar.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool equals_ignoring_case(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

struct Field {
  std::string_view name;
  std::string_view value;  // without the white space around it
};

// One field line (no CRLF), or the problem with it. The problems never quote
// the request's bytes: they go back to whoever sent them.
std::optional<std::string> parse_field(std::string_view line, Field& field) {
  if (is_ows(line.front())) return "obsolete line folding (a field line begins with white space)";
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return "a field line without ':'";
  if (colon == 0) return "a field line with no name";
  for (size_t i = 0; i < colon; ++i) {
    if (is_ows(line[i])) return "white space between a field name and its ':'";
    if (!is_token_char(line[i])) return "a field name with a byte that is not a token character";
  }
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_ows(value.back())) value.remove_suffix(1);
  if (value.find('\0') != std::string_view::npos) return "a NUL byte in a field value";
  field = {line.substr(0, colon), value};
  return std::nullopt;
}

RequestFrame invalid(std::string problem) {
  RequestFrame f;
  f.kind = RequestFrame::Kind::invalid;
  f.problem = std::move(problem);
  return f;
}

RequestFrame of_kind(RequestFrame::Kind kind) {
  RequestFrame f;
  f.kind = kind;
  return f;
}

RequestFrame complete(size_t begin, size_t end) {
  RequestFrame f;
  f.kind = RequestFrame::Kind::complete;
  f.begin = begin;
  f.end = end;
  return f;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Trailer fields after the last chunk, then the blank line; `p` is the first
// trailer line.
RequestFrame frame_trailers(std::string_view data, size_t begin, size_t body, size_t p, const FramingLimits& limits) {
  for (;;) {
    Line line = next_line(data, p);
    if (line.state == Line::State::bare_lf || line.state == Line::State::bare_cr) {
      return invalid(line_problem(line.state, "chunked body's trailer"));
    }
    if (line.state == Line::State::need_more) {
      return of_kind(data.size() - body > limits.max_body_bytes ? RequestFrame::Kind::too_large
                                                                : RequestFrame::Kind::incomplete);
    }
    if (line.end == p) return complete(begin, p + 2);
    Field field;
    if (auto problem = parse_field(data.substr(p, line.end - p), field)) return invalid(*problem + " in the trailer");
    p = line.end + 2;
  }
}

// A chunked body from `body` on (RFC 9112 §7.1).
RequestFrame frame_chunked(std::string_view data, size_t begin, size_t body, const FramingLimits& limits) {
  auto wait_or_too_large = [&](size_t needed_end) {
    return of_kind(needed_end - body > limits.max_body_bytes ? RequestFrame::Kind::too_large
                                                             : RequestFrame::Kind::incomplete);
  };
  size_t p = body;
  for (;;) {
    // chunk-size [ chunk-ext ] CRLF
    Line line = next_line(data, p);
    if (line.state == Line::State::bare_lf || line.state == Line::State::bare_cr) {
      return invalid(line_problem(line.state, "chunked body"));
    }
    std::string_view text = data.substr(p, line.end - p);
    size_t digits = 0;
    size_t size = 0;
    while (digits < text.size() && hex_value(text[digits]) >= 0) {
      size = size * 16 + static_cast<size_t>(hex_value(text[digits]));
      if (size > limits.max_body_bytes) return of_kind(RequestFrame::Kind::too_large);
      ++digits;
    }
    bool rest_ok = digits == text.size() || text[digits] == ';';
    if (line.state == Line::State::need_more) {
      // A size line cut short: refuse what is already wrong, wait for the rest.
      if (!rest_ok) return invalid("a chunk size that is not hexadecimal digits");
      return wait_or_too_large(data.size());
    }
    if (digits == 0 || !rest_ok) return invalid("a chunk size that is not hexadecimal digits");
    for (char c : text.substr(digits)) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) {
        return invalid("a control character in a chunk extension");
      }
    }
    p = line.end + 2;
    if (size == 0) return frame_trailers(data, begin, body, p, limits);
    // chunk-data CRLF
    size_t data_end = p + size;
    if (data.size() < data_end + 2) {
      if (data.size() > data_end && data[data_end] != '\r') return invalid("a chunk's data does not end in CRLF");
      return wait_or_too_large(data_end + 2);
    }
    if (data[data_end] != '\r' || data[data_end + 1] != '\n') return invalid("a chunk's data does not end in CRLF");
    p = data_end + 2;
    if (p - body > limits.max_body_bytes) return of_kind(RequestFrame::Kind::too_large);
  }
}

}  // namespace

RequestFrame frame_request(std::string_view data, const FramingLimits& limits) {
  // Blank lines before the request line are skipped (RFC 9112 §2.2).
  size_t begin = 0;
  while (begin < data.size() && data[begin] == '\r') {
    if (begin + 1 == data.size()) return of_kind(RequestFrame::Kind::incomplete);
    if (data[begin + 1] != '\n') return invalid(line_problem(Line::State::bare_cr, "request line"));
    begin += 2;
  }
  if (begin < data.size() && data[begin] == '\n') return invalid(line_problem(Line::State::bare_lf, "request line"));
  if (begin == data.size()) {
    return of_kind(data.size() > limits.max_header_bytes ? RequestFrame::Kind::too_large
                                                         : RequestFrame::Kind::incomplete);
  }

  // The request line, then the field lines up to the blank line.
  Line request_line = next_line(data, begin);
  if (request_line.state == Line::State::bare_lf || request_line.state == Line::State::bare_cr) {
    return invalid(line_problem(request_line.state, "request line"));
  }
  bool http_1_0 =
      request_line.state == Line::State::found && data.substr(begin, request_line.end - begin).ends_with(" HTTP/1.0");
  std::optional<std::string_view> content_length;
  bool content_length_differs = false;
  size_t transfer_encodings = 0;
  bool chunked = false;
  size_t p = request_line.end + 2;
  size_t body = 0;
  for (Line line = request_line; line.state == Line::State::found;) {
    line = next_line(data, p);
    if (line.state == Line::State::bare_lf || line.state == Line::State::bare_cr) {
      return invalid(line_problem(line.state, "header block"));
    }
    if (line.state == Line::State::need_more) break;
    if (line.end == p) {
      body = p + 2;
      break;
    }
    Field field;
    if (auto problem = parse_field(data.substr(p, line.end - p), field)) return invalid(*problem);
    if (equals_ignoring_case(field.name, "content-length")) {
      if (field.value.empty() || field.value.find_first_not_of("0123456789") != std::string_view::npos) {
        return invalid("a Content-Length that is not all digits");
      }
      std::string_view digits = field.value;
      while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
      if (content_length && *content_length != digits) content_length_differs = true;
      content_length = digits;
    } else if (equals_ignoring_case(field.name, "transfer-encoding")) {
      ++transfer_encodings;
      chunked = equals_ignoring_case(field.value, "chunked");
    }
    p = line.end + 2;
  }
  if (body == 0) {
    return of_kind(data.size() > limits.max_header_bytes ? RequestFrame::Kind::too_large
                                                         : RequestFrame::Kind::incomplete);
  }

  // The body's framing (RFC 9112 §6.3).
  if (transfer_encodings > 0) {
    if (content_length) return invalid("both Content-Length and Transfer-Encoding");
    if (http_1_0) return invalid("Transfer-Encoding in an HTTP/1.0 request");
    if (transfer_encodings > 1 || !chunked) return invalid("a Transfer-Encoding other than 'chunked'");
    return frame_chunked(data, begin, body, limits);
  }
  if (!content_length) return complete(begin, body);
  if (content_length_differs) return invalid("Content-Length headers with different values");
  size_t length = 0;
  for (char c : *content_length) {
    length = length * 10 + static_cast<size_t>(c - '0');
    if (length > limits.max_body_bytes) return of_kind(RequestFrame::Kind::too_large);
  }
  if (data.size() - body < length) return of_kind(RequestFrame::Kind::incomplete);
  return complete(begin, body + length);
}

}  // namespace cutover::server
