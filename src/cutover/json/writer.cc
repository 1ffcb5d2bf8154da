#include "cutover/json/writer.h"

#include <cassert>
#include <vector>

#include "cutover/json/canonical_writer.h"
#include "cutover/json/number_format.h"
#include "cutover/json/parser.h"
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

// A canonical() writer's document: each open container's children collect
// in a frame until it closes (an object's members are then sorted, the last
// of equal keys kept, as the parser does); the closed value goes to its
// parent, or becomes the root.
class Writer::Tree {
 public:
  void begin(bool is_object) { frames_.push_back(Frame{is_object, {}, {}, Node()}); }
  void end() {
    Frame frame = std::move(frames_.back());
    frames_.pop_back();
    add(frame.is_object ? doc_.make_object(std::move(frame.members)) : doc_.make_array(frame.elements));
  }
  void key(std::string_view name) { frames_.back().key = doc_.make_string(valid_utf8(name)); }
  void string(std::string_view value) { add(doc_.make_string(valid_utf8(value))); }
  // A value of another document, copied into this one.
  void copy(const Node& value) { add(doc_.copy(value)); }
  void add(Node value) {
    if (frames_.empty()) {
      doc_.set_root(value);
    } else if (frames_.back().is_object) {
      frames_.back().members.push_back(Member{frames_.back().key, value});
    } else {
      frames_.back().elements.push_back(value);
    }
  }
  std::string canonical() const { return to_canonical_string(doc_.root()); }
  Document take() { return std::move(doc_); }

 private:
  struct Frame {
    bool is_object;
    std::vector<Node> elements;
    std::vector<Member> members;
    Node key;  // of the member whose value comes next
  };

  // What the compact text says after parsing: each byte that is not part of
  // valid UTF-8 is U+FFFD (append_json_string writes it \ufffd).
  static std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      size_t n = static_cast<unsigned char>(s[i]) < 0x80 ? 1 : utf8_sequence_length(s, i);
      if (n == 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
    }
    return out;
  }

  Document doc_;
  std::vector<Frame> frames_;
};

Writer Writer::canonical() {
  Writer w;
  w.tree_ = std::make_unique<Tree>();
  return w;
}

Writer Writer::document() { return canonical(); }

Writer::Writer() = default;
Writer::Writer(std::string out) : out_(std::move(out)) {}
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&&) noexcept = default;
Writer::~Writer() = default;

std::string Writer::take() {
  if (tree_) return tree_->canonical();
  return std::move(out_);
}

Document Writer::take_document() {
  assert(tree_ && "take_document needs a canonical() or document() writer");
  return tree_->take();
}

Writer& Writer::member_or_null(std::string_view name, std::string_view value) {
  key(name);
  return value.empty() ? null() : string(value);
}

Writer& Writer::member_optional(std::string_view name, const std::optional<std::string>& value) {
  key(name);
  return value ? string(*value) : null();
}

Writer& Writer::member_optional(std::string_view name, const std::optional<uint64_t>& value) {
  key(name);
  return value ? number(*value) : null();
}

Writer Writer::pretty(const EscapeOptions& escape) {
  Writer w;
  w.pretty_ = true;
  w.escape_ = escape;
  return w;
}

void Writer::separate() {
  if (after_key_) {  // the value of the member just named
    after_key_ = false;
    need_comma_ = true;
    return;
  }
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
  if (pretty_ && depth_ > 0) new_line();
}

void Writer::new_line() {
  out_.push_back('\n');
  out_.append(2 * depth_, ' ');
}

void Writer::close(char bracket) {
  --depth_;
  if (pretty_ && need_comma_) new_line();  // a container with something in it
  out_.push_back(bracket);
  need_comma_ = true;
}

Writer& Writer::begin_object() {
  if (tree_) {
    tree_->begin(true);
    return *this;
  }
  separate();
  out_.push_back('{');
  need_comma_ = false;
  ++depth_;
  return *this;
}

Writer& Writer::end_object() {
  if (tree_) {
    tree_->end();
    return *this;
  }
  close('}');
  return *this;
}

Writer& Writer::begin_array() {
  if (tree_) {
    tree_->begin(false);
    return *this;
  }
  separate();
  out_.push_back('[');
  need_comma_ = false;
  ++depth_;
  return *this;
}

Writer& Writer::end_array() {
  if (tree_) {
    tree_->end();
    return *this;
  }
  close(']');
  return *this;
}

Writer& Writer::key(std::string_view name) {
  if (tree_) {
    tree_->key(name);
    return *this;
  }
  separate();
  append_json_string(out_, name, escape_);
  out_.append(pretty_ ? ": " : ":");
  after_key_ = true;
  return *this;
}

Writer& Writer::string(std::string_view value) {
  if (tree_) {
    tree_->string(value);
    return *this;
  }
  separate();
  append_json_string(out_, value, escape_);
  return *this;
}

Writer& Writer::number(uint64_t value) {
  if (tree_) {
    tree_->add(Node::u64(value));
    return *this;
  }
  separate();
  char buf[k_max_number_chars];
  out_.append(buf, format_u64(value, buf));
  return *this;
}

Writer& Writer::number(int64_t value) {
  if (tree_) {  // as the parser reads it: u64 unless negative
    tree_->add(value >= 0 ? Node::u64(static_cast<uint64_t>(value)) : Node::i64(value));
    return *this;
  }
  separate();
  char buf[k_max_number_chars];
  out_.append(buf, format_i64(value, buf));
  return *this;
}

Writer& Writer::f64(double value) {
  if (tree_) {
    tree_->add(Node::f64(value));
    return *this;
  }
  separate();
  char buf[k_max_number_chars];
  out_.append(buf, format_f64(value, buf));
  return *this;
}

Writer& Writer::boolean(bool value) {
  if (tree_) {
    tree_->add(Node::boolean(value));
    return *this;
  }
  separate();
  out_.append(value ? "true" : "false");
  return *this;
}

Writer& Writer::null() {
  if (tree_) {
    tree_->add(Node::null());
    return *this;
  }
  separate();
  out_.append("null");
  return *this;
}

Writer& Writer::raw(std::string_view json) {
  if (tree_) {
    auto parsed = parse(json);
    assert(parsed && "Writer::raw takes valid JSON");
    if (parsed) tree_->copy(parsed->root());
    return *this;
  }
  separate();
  out_.append(json);
  return *this;
}

Writer& Writer::node(const Node& value) {
  if (tree_) {
    tree_->copy(value);
    return *this;
  }
  return raw(to_compact_string(value));
}

}  // namespace cutover::json
