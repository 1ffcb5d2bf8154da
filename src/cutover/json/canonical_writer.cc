#include "cutover/json/canonical_writer.h"

#include <cassert>
#include <cstring>
#include <memory>

#include "cutover/json/number_format.h"
#include "cutover/json/parser.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cutover::json {
namespace {

// Deepest indent: k_max_depth levels of two spaces.
constexpr size_t k_max_indent = 2 * (k_max_depth + 1);
// A buffer write never needs more than this much room at once, apart from
// string runs, which are copied in pieces.
constexpr size_t k_slack = k_max_indent + 64;

#if defined(__SSE2__)
// Bit i set when at[i] needs escaping: '"', '\\', < 0x20. Reads 16 bytes,
// which may run past the string (never past its page): no sanitizers here.
__attribute__((no_sanitize_address, no_sanitize("thread"))) inline unsigned escape_mask(const char* at) {
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  // Unsigned v < 0x20: min(v, 0x1f) == v.
  __m128i ctrl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
  __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), ctrl);
  return static_cast<unsigned>(_mm_movemask_epi8(hit));
}
#endif

// Finds the first byte in [p, end) that needs escaping.
inline const char* find_escape(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    if (unsigned mask = escape_mask(p)) return p + __builtin_ctz(mask);
    p += 16;
  }
  // The tail: one 16-byte load is safe when it stays inside p's page, even
  // past `end`; the bits past `end` are masked off.
  if (p < end && (reinterpret_cast<uintptr_t>(p) & 4095) <= 4096 - 16) {
    unsigned mask = escape_mask(p) & ((1u << (end - p)) - 1);
    return mask ? p + __builtin_ctz(mask) : end;
  }
#endif
  while (p < end) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20) return p;
    ++p;
  }
  return p;
}

class Writer {
 public:
  Writer(ChunkSink& sink, bool pretty)
      : sink_(sink), pretty_(pretty), buf_(std::make_unique_for_overwrite<char[]>(k_chunk_bytes + k_slack)) {
    std::memset(spaces_, ' ', sizeof spaces_);
  }

  bool run(const Node& root) {
    value(root, 0);
    return flush() && !stopped_;
  }

 private:
  // Makes room for n bytes (n <= k_slack).
  void reserve(size_t n) {
    if (len_ + n > k_chunk_bytes + k_slack || len_ >= k_chunk_bytes) flush();
  }
  bool flush() {
    if (len_ > 0 && !stopped_) {
      if (!sink_.write(std::string_view(buf_.get(), len_))) stopped_ = true;
    }
    len_ = 0;
    return !stopped_;
  }
  void put(const char* s, size_t n) {
    std::memcpy(buf_.get() + len_, s, n);
    len_ += n;
  }
  void put(char c) { buf_[len_++] = c; }
  void newline_indent(int depth) {
    if (!pretty_) return;
    reserve(1 + 2 * static_cast<size_t>(depth));
    put('\n');
    put(spaces_, 2 * static_cast<size_t>(depth));
  }

  void string(std::string_view s) {
    // Fast path: a short string without anything to escape, in one copy.
    if (s.size() <= k_slack - 2) {
      const char* end = s.data() + s.size();
      if (find_escape(s.data(), end) == end) {
        reserve(s.size() + 2);
        buf_[len_] = '"';
        std::memcpy(buf_.get() + len_ + 1, s.data(), s.size());
        buf_[len_ + 1 + s.size()] = '"';
        len_ += s.size() + 2;
        return;
      }
    }
    reserve(1);
    put('"');
    const char* p = s.data();
    const char* end = p + s.size();
    while (p < end) {
      const char* stop = find_escape(p, end);
      while (p < stop) {  // copy the plain run, a buffer at a time
        reserve(1);
        size_t room = k_chunk_bytes + k_slack - len_;
        size_t n = std::min(room, static_cast<size_t>(stop - p));
        put(p, n);
        p += n;
      }
      if (p == end) break;
      reserve(6);
      unsigned char c = static_cast<unsigned char>(*p++);
      switch (c) {
        case '"': put("\\\"", 2); break;
        case '\\': put("\\\\", 2); break;
        case '\b': put("\\b", 2); break;
        case '\f': put("\\f", 2); break;
        case '\n': put("\\n", 2); break;
        case '\r': put("\\r", 2); break;
        case '\t': put("\\t", 2); break;
        default: {
          static const char hex[] = "0123456789abcdef";
          char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          put(esc, 6);
        }
      }
    }
    reserve(1);
    put('"');
  }

  void value(const Node& n, int depth) {
    assert(depth <= k_max_depth);  // the indent buffer holds k_max_depth + 1 levels
    if (stopped_) return;
    switch (n.kind()) {
      case Kind::null: reserve(4); put("null", 4); return;
      case Kind::boolean:
        reserve(5);
        if (n.as_bool()) put("true", 4); else put("false", 5);
        return;
      case Kind::u64: reserve(k_max_number_chars); len_ += format_u64(n.as_u64(), buf_.get() + len_); return;
      case Kind::i64: reserve(k_max_number_chars); len_ += format_i64(n.as_i64(), buf_.get() + len_); return;
      case Kind::f64: reserve(k_max_number_chars); len_ += format_f64(n.as_f64(), buf_.get() + len_); return;
      case Kind::string: string(n.as_string()); return;
      case Kind::array: {
        reserve(2);
        if (n.size() == 0) { put("[]", 2); return; }
        put('[');
        const Node* e = n.elements();
        for (size_t i = 0; i < n.size(); ++i) {
          if (i > 0) { reserve(1); put(','); }
          newline_indent(depth + 1);
          value(e[i], depth + 1);
        }
        newline_indent(depth);
        reserve(1);
        put(']');
        return;
      }
      case Kind::object: {
        reserve(2);
        if (n.size() == 0) { put("{}", 2); return; }
        put('{');
        const Member* m = n.members();
        for (size_t i = 0; i < n.size(); ++i) {
          if (i > 0) { reserve(1); put(','); }
          newline_indent(depth + 1);
          string(m[i].key.as_string());
          reserve(2);
          if (pretty_) put(": ", 2); else put(':');
          value(m[i].value, depth + 1);
        }
        newline_indent(depth);
        reserve(1);
        put('}');
        return;
      }
    }
  }

  ChunkSink& sink_;
  bool pretty_;
  std::unique_ptr<char[]> buf_;
  size_t len_ = 0;
  bool stopped_ = false;
  char spaces_[k_max_indent];
};

class StringSink final : public ChunkSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  bool write(std::string_view chunk) override {
    out_.append(chunk);
    return true;
  }

 private:
  std::string& out_;
};

}  // namespace

bool write_canonical(const Node& root, ChunkSink& sink) {
  Writer writer(sink, true);
  return writer.run(root);
}

std::string to_canonical_string(const Node& root) {
  std::string out;
  StringSink sink(out);
  write_canonical(root, sink);
  return out;
}

std::string to_compact_string(const Node& root) {
  std::string out;
  StringSink sink(out);
  Writer writer(sink, false);
  writer.run(root);
  return out;
}

}  // namespace cutover::json
