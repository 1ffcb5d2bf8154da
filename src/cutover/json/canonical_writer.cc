#include "cutover/json/canonical_writer.h"

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "cutover/json/number_format.h"
#include "cutover/json/parser.h"
#include "cutover/json/writer.h"

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
  __m128i hit =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), ctrl);
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

class TreeWriter {
 public:
  TreeWriter(ChunkSink& sink, bool pretty)
      : sink_(sink), pretty_(pretty), buf_(std::make_unique_for_overwrite<char[]>(k_chunk_bytes + k_slack)) {
    std::memset(spaces_, ' ', sizeof spaces_);
  }

  bool run(const Node& root) {
    value(root, 0);
    return flush() && !stopped_;
  }

  // Pieces of a document written in parallel (write_canonical_parallel).
  // `depth` is the depth of the value, or of the container whose children
  // are written; each ends with a flush.
  bool run_value(const Node& n, int depth) {
    value(n, depth);
    return flush() && !stopped_;
  }
  // Children [begin, end) of a container, each with its leading comma (but
  // the first child's), newline, indent and, in an object, its key.
  bool run_children(const Node& container, size_t begin, size_t end, int depth) {
    for (size_t i = begin; i < end && !stopped_; ++i) {
      child_prefix(container, i, depth);
      value(container.is_object() ? container.members()[i].value : container.elements()[i], depth + 1);
    }
    return flush() && !stopped_;
  }
  // What comes before child i of a container: the same, without the child.
  bool run_child_prefix(const Node& container, size_t i, int depth) {
    child_prefix(container, i, depth);
    return flush() && !stopped_;
  }
  // The opening bracket, or the newline, indent and closing bracket.
  bool run_bracket(const Node& container, bool open, int depth) {
    if (!open) newline_indent(depth);
    reserve(1);
    put(container.is_object() ? (open ? '{' : '}') : (open ? '[' : ']'));
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
      len_ += escape_byte(static_cast<unsigned char>(*p++), buf_.get() + len_);
    }
    reserve(1);
    put('"');
  }

  void child_prefix(const Node& container, size_t i, int depth) {
    if (i > 0) {
      reserve(1);
      put(',');
    }
    newline_indent(depth + 1);
    if (container.is_object()) {
      string(container.members()[i].key.as_string());
      reserve(2);
      if (pretty_)
        put(": ", 2);
      else
        put(':');
    }
  }

  void value(const Node& n, int depth) {
    assert(depth <= k_max_depth);  // the indent buffer holds k_max_depth + 1 levels
    if (stopped_) return;
    switch (n.kind()) {
      case Kind::null:
        reserve(4);
        put("null", 4);
        return;
      case Kind::boolean:
        reserve(5);
        if (n.as_bool())
          put("true", 4);
        else
          put("false", 5);
        return;
      case Kind::u64:
        reserve(k_max_number_chars);
        len_ += format_u64(n.as_u64(), buf_.get() + len_);
        return;
      case Kind::i64:
        reserve(k_max_number_chars);
        len_ += format_i64(n.as_i64(), buf_.get() + len_);
        return;
      case Kind::f64:
        reserve(k_max_number_chars);
        len_ += format_f64(n.as_f64(), buf_.get() + len_);
        return;
      case Kind::string:
        string(n.as_string());
        return;
      case Kind::array: {
        reserve(2);
        if (n.size() == 0) {
          put("[]", 2);
          return;
        }
        put('[');
        const Node* e = n.elements();
        for (size_t i = 0; i < n.size(); ++i) {
          if (i > 0) {
            reserve(1);
            put(',');
          }
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
        if (n.size() == 0) {
          put("{}", 2);
          return;
        }
        put('{');
        const Member* m = n.members();
        for (size_t i = 0; i < n.size(); ++i) {
          if (i > 0) {
            reserve(1);
            put(',');
          }
          newline_indent(depth + 1);
          string(m[i].key.as_string());
          reserve(2);
          if (pretty_)
            put(": ", 2);
          else
            put(':');
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
  explicit StringSink(std::string& out) : out_(&out) {}
  bool write(std::string_view chunk) override {
    out_->append(chunk);
    return true;
  }
  void retarget(std::string& out) { out_ = &out; }

 private:
  std::string* out_;
};

// One piece of a document written in parallel: a whole value, a range of a
// container's children, what precedes one child, or a bracket.
struct Piece {
  enum Kind : uint8_t { value, children, child_prefix, open, close } kind;
  const Node* node;  // the value, or the container
  size_t begin = 0;
  size_t end = 0;
  int depth = 0;
};

// Cuts the document into pieces in output order: the root's children one
// by one, and any container with at least `split_children` children (at
// the root or one level down) in ranges of that many children.
void plan_pieces(const Node& n, int depth, size_t split_children, std::vector<Piece>& out) {
  bool container = (n.is_array() || n.is_object()) && n.size() > 0;
  bool many = container && n.size() >= split_children;
  if (!container || depth > 1 || (!many && depth > 0)) {
    out.push_back({Piece::value, &n, 0, 0, depth});
    return;
  }
  out.push_back({Piece::open, &n, 0, 0, depth});
  if (many) {
    for (size_t b = 0; b < n.size(); b += split_children) {
      out.push_back({Piece::children, &n, b, std::min(n.size(), b + split_children), depth});
    }
  } else {
    for (size_t i = 0; i < n.size(); ++i) {
      out.push_back({Piece::child_prefix, &n, i, 0, depth});
      plan_pieces(n.is_object() ? n.members()[i].value : n.elements()[i], depth + 1, split_children, out);
    }
  }
  out.push_back({Piece::close, &n, 0, 0, depth});
}

bool render(TreeWriter& w, const Piece& p) {
  switch (p.kind) {
    case Piece::value:
      return w.run_value(*p.node, p.depth);
    case Piece::children:
      return w.run_children(*p.node, p.begin, p.end, p.depth);
    case Piece::child_prefix:
      return w.run_child_prefix(*p.node, p.begin, p.depth);
    case Piece::open:
      return w.run_bracket(*p.node, true, p.depth);
    case Piece::close:
      return w.run_bracket(*p.node, false, p.depth);
  }
  return false;
}

// Renders pieces on several threads and hands them to the sink in order,
// with at most `window` pieces rendered ahead of the sink.
class ParallelWriter {
 public:
  ParallelWriter(std::vector<Piece> pieces, ChunkSink& sink, int helpers, size_t window)
      : pieces_(std::move(pieces)), out_(pieces_.size()), done_(pieces_.size(), 0), sink_(sink), window_(window) {
    for (int i = 0; i < helpers; ++i) threads_.emplace_back([this] { help(); });
  }
  ~ParallelWriter() { stop(); }

  bool run() {
    std::string scratch;
    StringSink target(scratch);
    TreeWriter writer(target, true);
    std::string pending;  // small pieces are gathered into one write
    bool ok = true;
    std::unique_lock lock(mutex_);
    while (emitted_ < pieces_.size()) {
      if (done_[emitted_]) {
        std::string piece = std::move(out_[emitted_]);
        ++emitted_;
        changed_.notify_all();
        lock.unlock();
        if (piece.size() >= k_chunk_bytes / 2) {
          ok = (pending.empty() || sink_.write(pending)) && sink_.write(piece);
          pending.clear();
        } else {
          pending += piece;
          if (pending.size() >= k_chunk_bytes) {
            ok = sink_.write(pending);
            pending.clear();
          }
        }
        lock.lock();
        if (!ok) break;
        continue;
      }
      if (claimable()) {
        render_next(lock, writer, target);
        continue;
      }
      changed_.wait(lock);
    }
    lock.unlock();
    stop();
    if (ok && !pending.empty()) ok = sink_.write(pending);
    return ok;
  }

 private:
  bool claimable() const { return next_ < pieces_.size() && next_ < emitted_ + window_; }

  void help() {
    std::string scratch;
    StringSink target(scratch);
    TreeWriter writer(target, true);
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stopping_ || claimable(); });
      if (stopping_) return;
      render_next(lock, writer, target);
    }
  }

  // Claims the next piece and renders it with the lock released.
  // REQUIRES: claimable(), `lock` held.
  void render_next(std::unique_lock<std::mutex>& lock, TreeWriter& writer, StringSink& target) {
    size_t i = next_++;
    lock.unlock();
    target.retarget(out_[i]);
    render(writer, pieces_[i]);
    lock.lock();
    done_[i] = 1;
    changed_.notify_all();
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      changed_.notify_all();
    }
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  std::vector<Piece> pieces_;
  std::vector<std::string> out_;
  std::vector<char> done_;
  ChunkSink& sink_;
  size_t window_;
  std::mutex mutex_;  // guards next_, emitted_, done_, stopping_
  std::condition_variable changed_;
  size_t next_ = 0;
  size_t emitted_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: they start once the members above exist
};

}  // namespace

bool write_canonical(const Node& root, ChunkSink& sink) {
  TreeWriter writer(sink, true);
  return writer.run(root);
}

bool write_canonical_parallel(const Node& root, ChunkSink& sink, const ParallelOptions& options) {
  std::vector<Piece> pieces;
  plan_pieces(root, 0, std::max<size_t>(1, options.split_children), pieces);
  int helpers = options.threads > 0 ? options.threads - 1
                                    : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 2u, 4u)) - 1;
  if (pieces.size() < 2 || helpers < 1) return write_canonical(root, sink);
  ParallelWriter writer(std::move(pieces), sink, helpers, std::max<size_t>(2, options.window));
  return writer.run();
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
  TreeWriter writer(sink, false);
  writer.run(root);
  return out;
}

}  // namespace cutover::json
