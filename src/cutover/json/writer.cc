#include "cutover/json/writer.h"

#include "cutover/json/canonical_writer.h"
#include "cutover/json/number_format.h"
#include "cutover/json/utf8.h"

namespace cutover::json {

size_t escape_byte(unsigned char c, char* out) {
  static const char hex[] = "0123456789abcdef";
  char short_form = 0;
  switch (c) {
    case '"':
      short_form = '"';
      break;
    case '\\':
      short_form = '\\';
      break;
    case '\b':
      short_form = 'b';
      break;
    case '\f':
      short_form = 'f';
      break;
    case '\n':
      short_form = 'n';
      break;
    case '\r':
      short_form = 'r';
      break;
    case '\t':
      short_form = 't';
      break;
    default:
      break;
  }
  out[0] = '\\';
  if (short_form != 0) {
    out[1] = short_form;
    return 2;
  }
  out[1] = 'u';
  out[2] = '0';
  out[3] = '0';
  out[4] = hex[c >> 4];
  out[5] = hex[c & 15];
  return 6;
}

void append_json_string(std::string& out, std::string_view value, const EscapeOptions& options) {
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes copied as they are
  size_t i = 0;
  auto flush = [&](size_t end) { out.append(value.data() + run, end - run); };
  while (i < value.size()) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c == 0x7f && !options.escape_delete) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t n = options.replace_invalid_utf8 ? utf8_sequence_length(value, i) : 1;
      if (n > 0) {
        i += n;
        continue;
      }
      flush(i);
      out.append("\\ufffd");
      run = ++i;
      continue;
    }
    flush(i);
    char esc[6];
    out.append(esc, escape_byte(c, esc));
    run = ++i;
  }
  flush(i);
  out.push_back('"');
}

std::string quote(std::string_view value, const EscapeOptions& options) {
  std::string out;
  out.reserve(value.size() + 2);
  append_json_string(out, value, options);
  return out;
}

void Writer::separate() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

Writer& Writer::begin_object() {
  separate();
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}

Writer& Writer::end_object() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}

Writer& Writer::begin_array() {
  separate();
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}

Writer& Writer::end_array() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}

Writer& Writer::key(std::string_view name) {
  separate();
  append_json_string(out_, name);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}

Writer& Writer::string(std::string_view value) {
  separate();
  append_json_string(out_, value);
  return *this;
}

Writer& Writer::number(uint64_t value) {
  separate();
  char buf[k_max_number_chars];
  out_.append(buf, format_u64(value, buf));
  return *this;
}

Writer& Writer::number(int64_t value) {
  separate();
  char buf[k_max_number_chars];
  out_.append(buf, format_i64(value, buf));
  return *this;
}

Writer& Writer::f64(double value) {
  separate();
  char buf[k_max_number_chars];
  out_.append(buf, format_f64(value, buf));
  return *this;
}

Writer& Writer::boolean(bool value) {
  separate();
  out_.append(value ? "true" : "false");
  return *this;
}

Writer& Writer::null() {
  separate();
  out_.append("null");
  return *this;
}

Writer& Writer::raw(std::string_view json) {
  separate();
  out_.append(json);
  return *this;
}

Writer& Writer::node(const Node& value) { return raw(to_compact_string(value)); }

}  // namespace cutover::json
