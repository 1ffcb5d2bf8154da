// The parser is a loop over an explicit stack of open containers, not a
// recursive descent, so it spends no native stack on nesting. Values of an open
// container collect on scratch stacks (one for array elements, one for object
// members); when the container closes, its children are copied to one arena
// range and, for an object, sorted with duplicates dropped.
//
// Numbers are read by NumberReader (number_reader.h).
#include "cutover/json/parser.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cutover/json/number_reader.h"
#include "cutover/json/utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cutover::json {
namespace {

using detail::NumberReader;

struct Frame {
  bool is_object;
  size_t scratch_start;  // index into the elements or members scratch stack
};

class Parser {
 public:
  Parser(const char* data, size_t size, Document& doc)
      : p_(reinterpret_cast<const unsigned char*>(data)), begin_(p_), end_(p_ + size), doc_(doc) {}

  Status run();

  // Speculation (see parse_split below). A fragment parser starts at the
  // first byte of a child of some container whose opening bracket it has not
  // seen. It reads children up to the bracket that closes that container
  // (level 0), then the children that follow in the container's parent up
  // to its closing bracket (level 1), and so on to the end of the text,
  // telling each parent's kind from what follows the bracket.
  struct Level {
    bool is_object = false;
    size_t max_stack = 0;  // deepest nesting, the level's container included
    std::vector<Node> elements;
    std::vector<Member> members;
    const unsigned char* end = nullptr;  // the closing bracket
  };
  struct Fragment {
    std::vector<Level> levels;  // every level that ended in its bracket
    Document doc;               // owns the fragment's arena
  };
  // Parses the fragment that starts at this parser's first byte; `cancelled`
  // is polled so that a main parser that has finished can stop it early.
  void run_fragment(Fragment& out, const std::atomic<bool>& cancelled);
  // When the main parser, just after a comma, stands exactly at `at`, it
  // takes the fragment `wait()` returns (if it agrees with the container
  // there) instead of parsing those children itself.
  void expect_fragment(const unsigned char* at, std::function<Fragment*()> wait) {
    join_at_ = at;
    wait_fragment_ = std::move(wait);
  }
  bool joined() const { return joined_; }

 private:
  void loop();
  // What read_value did: read a whole value, opened a container whose first
  // child is next, or failed.
  enum class ValueRead { value, child, stop };
  ValueRead read_value(Node& value);
  bool join(const Frame& top);
  bool apply_level(const Frame& top);
  enum class LevelEnd { fragment_ends, next_child, parent_closes };
  LevelEnd next_fragment_level();
  // Errors: remember the first one with its offset; callers return false.
  bool fail(const unsigned char* at, std::string what) {
    if (error_.empty()) {
      error_ = std::move(what);
      error_at_ = at;
    }
    return false;
  }

  void skip_whitespace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  // Reads `"key":` and opens a member for its value; the messages say what
  // is wrong when the input ends here or holds no key.
  bool parse_key(const char* at_end, const char* not_a_key);
  bool parse_scalar(Node& out);
  bool parse_literal(const char* word, size_t len, Node value, Node& out);
  bool parse_number(Node& out);
  bool parse_string(Node& out);
  bool parse_escaped_string(const unsigned char* start, const unsigned char* first_special, Node& out);
  bool validate_utf8(const unsigned char*& p);
  bool parse_hex4(const unsigned char*& p, uint32_t& out);

  Node close_array(size_t start);
  Node close_object(size_t start);

  const unsigned char* p_;
  const unsigned char* begin_;
  const unsigned char* end_;
  Document& doc_;
  std::vector<Frame> stack_;
  std::vector<Node> elements_;
  std::vector<Member> members_;
  std::string decoded_;  // scratch for strings with escapes
  std::string error_;
  const unsigned char* error_at_ = nullptr;

  // Speculation.
  const unsigned char* join_at_ = nullptr;
  std::function<Fragment*()> wait_fragment_;
  bool joined_ = false;
  Fragment* fragment_ = nullptr;
  size_t next_level_ = 0;
  const unsigned char* level_at_ = nullptr;  // where the next level's children start
  bool fragment_mode_ = false;
  std::vector<Level> levels_;  // a fragment parser's finished levels
  size_t max_stack_ = 0;
  const std::atomic<bool>* cancelled_ = nullptr;
};

// Reads the value at p_ into `value`: a scalar, or an empty container. A
// container with children is opened instead (pushed on the stack, with an
// object's first key read): its first child is next.
Parser::ValueRead Parser::read_value(Node& value) {
  if (p_ >= end_) {
    fail(p_, "EOF while parsing a value");
    return ValueRead::stop;
  }
  unsigned char c = *p_;
  if (c != '[' && c != '{') return parse_scalar(value) ? ValueRead::value : ValueRead::stop;
  if (static_cast<int>(stack_.size()) >= k_max_depth) {
    fail(p_, "recursion limit exceeded: more than " + std::to_string(k_max_depth) + " nested arrays and objects");
    return ValueRead::stop;
  }
  bool is_object = c == '{';
  ++p_;
  skip_whitespace();
  char close = is_object ? '}' : ']';
  if (p_ < end_ && *p_ == close) {
    ++p_;
    value = is_object ? Node::object_ref(nullptr, 0) : Node::array_ref(nullptr, 0);
    return ValueRead::value;
  }
  stack_.push_back(Frame{is_object, is_object ? members_.size() : elements_.size()});
  max_stack_ = std::max(max_stack_, stack_.size());
  if (is_object && !parse_key("EOF while parsing an object", "key must be a string")) return ValueRead::stop;
  return ValueRead::child;
}

// Each turn of this loop reads one value, then as many closing brackets as
// follow it. It returns at the end of the root value, at the first error,
// or (a fragment parser) where it cannot go on.
void Parser::loop() {
  Node value;
  for (;;) {
    // -- read one value (or open a container) --
    ValueRead read = read_value(value);
    if (read == ValueRead::stop) break;
    if (read == ValueRead::child) continue;  // read the first child

    // -- place the value; close containers as long as they end here --
    bool done = false;
    bool have_value = true;
    for (;;) {
      if (have_value) {
        if (stack_.empty()) {
          doc_.set_root(value);
          done = true;
          break;
        }
        Frame& top = stack_.back();
        if (top.is_object) {
          members_.back().value = value;
        } else {
          elements_.push_back(value);
        }
        if (p_ == level_at_ && !apply_level(top)) level_at_ = nullptr;
      }
      have_value = true;
      Frame& top = stack_.back();
      skip_whitespace();
      if (p_ >= end_) {
        fail(p_, top.is_object ? "EOF while parsing an object" : "EOF while parsing a list");
        break;
      }
      if (*p_ == ',') {
        ++p_;
        skip_whitespace();
        if (p_ == join_at_ && join(top)) {
          have_value = false;  // the fragment's children are in place; its closing bracket is next
          continue;
        }
        if (top.is_object) {
          if (!parse_key("EOF while parsing a value",
                         p_ < end_ && *p_ == '}' ? "trailing comma" : "key must be a string"))
            break;
        } else if (p_ < end_ && *p_ == ']') {
          fail(p_, "trailing comma");
          break;
        }
        break;  // read the next child
      }
      if (top.is_object ? *p_ == '}' : *p_ == ']') {
        if (fragment_mode_ && stack_.size() == 1) {  // a level of the fragment ends here
          LevelEnd next = next_fragment_level();
          if (next == LevelEnd::fragment_ends) {
            done = true;
            break;
          }
          if (next == LevelEnd::next_child) break;
          have_value = false;
          continue;  // the parent's bracket is next
        }
        ++p_;
        value = top.is_object ? close_object(top.scratch_start) : close_array(top.scratch_start);
        stack_.pop_back();
        continue;  // place the closed container in its parent
      }
      fail(p_, top.is_object ? "expected `,` or `}`" : "expected `,` or `]`");
      break;
    }
    if (!error_.empty()) break;
    if (done) break;
    if (cancelled_ != nullptr && cancelled_->load(std::memory_order_relaxed)) {
      fail(p_, "cancelled");
      break;
    }
    skip_whitespace();
  }
}

bool Parser::join(const Frame& top) {
  join_at_ = nullptr;  // one chance only
  fragment_ = wait_fragment_();
  if (fragment_ == nullptr || fragment_->levels.empty()) return false;
  next_level_ = 0;
  if (!apply_level(top)) return false;
  doc_.arena().absorb(std::move(fragment_->doc.arena()));
  joined_ = true;
  return true;
}

// Takes the fragment's next level as the rest of `top`'s children, if it
// agrees with `top`, and moves to its closing bracket.
bool Parser::apply_level(const Frame& top) {
  if (next_level_ >= fragment_->levels.size()) return false;
  Level& level = fragment_->levels[next_level_];
  if (level.is_object != top.is_object) return false;
  // The level's nesting counted from its container, which is `top`.
  if (stack_.size() - 1 + level.max_stack > static_cast<size_t>(k_max_depth)) return false;
  if (top.is_object) {
    members_.insert(members_.end(), level.members.begin(), level.members.end());
  } else {
    elements_.insert(elements_.end(), level.elements.begin(), level.elements.end());
  }
  p_ = level.end;
  level_at_ = level.end + 1;  // the parent's children follow the bracket
  ++next_level_;
  return true;
}

// Whether the child starting at `p` is an object member: a string followed by `:`.
bool starts_member(const unsigned char* p, const unsigned char* end) {
  if (p >= end || *p != '"') return false;
  for (++p; p < end && *p != '"'; ++p) {
    if (*p == '\\') ++p;
  }
  if (p >= end) return false;
  for (++p; p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'); ++p) {
  }
  return p < end && *p == ':';
}

// A fragment parser at the bracket that closes its bottom container: keeps
// that level, and sets up the parent's: after a comma its next child is to
// be read, or the parent's own bracket comes next. The fragment ends at the
// end of the text, or before anything that cannot follow a bracket.
Parser::LevelEnd Parser::next_fragment_level() {
  Level level;
  level.is_object = stack_.back().is_object;
  level.max_stack = max_stack_;
  level.elements = std::move(elements_);
  level.members = std::move(members_);
  level.end = p_;
  levels_.push_back(std::move(level));
  elements_.clear();
  members_.clear();
  ++p_;
  skip_whitespace();
  max_stack_ = 1;
  if (p_ >= end_) return LevelEnd::fragment_ends;
  if (*p_ == '}' || *p_ == ']') {
    stack_.back() = Frame{*p_ == '}', 0};
    return LevelEnd::parent_closes;
  }
  if (*p_ != ',') return LevelEnd::fragment_ends;
  ++p_;
  skip_whitespace();
  bool is_object = starts_member(p_, end_);
  stack_.back() = Frame{is_object, 0};
  if (is_object && !parse_key("EOF while parsing an object", "key must be a string")) return LevelEnd::fragment_ends;
  return LevelEnd::next_child;
}

void Parser::run_fragment(Fragment& out, const std::atomic<bool>& cancelled) {
  fragment_mode_ = true;
  cancelled_ = &cancelled;
  bool is_object = starts_member(p_, end_);
  stack_.push_back(Frame{is_object, 0});
  max_stack_ = 1;
  if (!is_object || parse_key("EOF while parsing an object", "key must be a string")) loop();
  out.levels = std::move(levels_);
}

Status Parser::run() {
  skip_whitespace();
  loop();
  if (error_.empty()) {
    skip_whitespace();
    if (p_ != end_) fail(p_, "trailing characters");
  }
  if (error_.empty()) return {};

  // Line and column of the error, counted only now that there is one.
  size_t line = 1;
  const unsigned char* line_start = begin_;
  for (const unsigned char* q = begin_; q < error_at_; ++q) {
    if (*q == '\n') {
      ++line;
      line_start = q + 1;
    }
  }
  size_t column = static_cast<size_t>(error_at_ - line_start) + 1;
  return make_error(ErrorCode::invalid_argument, "invalid JSON at line " + std::to_string(line) + ", column " +
                                                     std::to_string(column) + ": " + error_);
}

Node Parser::close_array(size_t start) {
  size_t n = elements_.size() - start;
  Node* out = static_cast<Node*>(doc_.arena().allocate(sizeof(Node) * n));
  std::memcpy(static_cast<void*>(out), elements_.data() + start, sizeof(Node) * n);
  elements_.resize(start);
  return Node::array_ref(out, static_cast<uint32_t>(n));
}

Node Parser::close_object(size_t start) {
  size_t n = sort_and_dedupe_members(members_.data() + start, members_.size() - start);
  Member* out = static_cast<Member*>(doc_.arena().allocate(sizeof(Member) * n));
  std::memcpy(static_cast<void*>(out), members_.data() + start, sizeof(Member) * n);
  members_.resize(start);
  return Node::object_ref(out, static_cast<uint32_t>(n));
}

bool Parser::parse_key(const char* at_end, const char* not_a_key) {
  if (p_ >= end_) return fail(p_, at_end);
  if (*p_ != '"') return fail(p_, not_a_key);
  Node key;
  if (!parse_string(key)) return false;
  skip_whitespace();
  if (p_ >= end_) return fail(p_, "EOF while parsing an object");
  if (*p_ != ':') return fail(p_, "expected `:`");
  ++p_;
  skip_whitespace();
  members_.push_back(Member{key, Node()});
  return true;
}

bool Parser::parse_scalar(Node& out) {
  switch (*p_) {
    case '"':
      return parse_string(out);
    case 't':
      return parse_literal("true", 4, Node::boolean(true), out);
    case 'f':
      return parse_literal("false", 5, Node::boolean(false), out);
    case 'n':
      return parse_literal("null", 4, Node::null(), out);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      return parse_number(out);
    default:
      return fail(p_, "expected value");
  }
}

bool Parser::parse_literal(const char* word, size_t len, Node value, Node& out) {
  for (size_t i = 0; i < len; ++i) {
    if (p_ >= end_) return fail(p_, "EOF while parsing a value");
    if (*p_ != static_cast<unsigned char>(word[i])) return fail(p_, "expected ident");
    ++p_;
  }
  out = value;
  return true;
}

bool Parser::parse_number(Node& out) {
  NumberReader reader(p_, end_);
  bool ok = reader.read(out);
  p_ = reader.position();
  return ok || fail(p_, reader.error());
}

#if defined(__SSE2__)
// Bit i set when at[i] is '"', '\\', a control character or not ASCII.
// Reads 16 bytes, which may run past the string (never past its page): no
// sanitizers here.
__attribute__((no_sanitize_address, no_sanitize("thread"))) inline unsigned special_mask(const unsigned char* at) {
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  // Signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches them.
  __m128i special =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                   _mm_cmpgt_epi8(_mm_set1_epi8(0x20), v));
  return static_cast<unsigned>(_mm_movemask_epi8(special));
}
#endif

// Finds the first byte at or after p that is '"', '\\', a control character
// or not ASCII.
inline const unsigned char* find_special(const unsigned char* p, const unsigned char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    if (unsigned mask = special_mask(p)) return p + __builtin_ctz(mask);
    p += 16;
  }
  // The tail: a 16-byte load inside p's page is safe even past `end`.
  if (p < end && (reinterpret_cast<uintptr_t>(p) & 4095) <= 4096 - 16) {
    unsigned mask = special_mask(p) & ((1u << (end - p)) - 1);
    return mask ? p + __builtin_ctz(mask) : end;
  }
#endif
  while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80) ++p;
  return p;
}

// Checks one UTF-8 sequence starting at p (a byte >= 0x80) and moves past
// it. The string's closing quote must still follow it.
bool Parser::validate_utf8(const unsigned char*& p) {
  size_t n = utf8_sequence_length(p, end_);
  if (n == 0 || static_cast<size_t>(end_ - p) <= n) return fail(p, "invalid unicode code point");
  p += n;
  return true;
}

bool Parser::parse_string(Node& out) {
  ++p_;  // opening quote
  const unsigned char* start = p_;
  const unsigned char* q = start;
  for (;;) {
    q = find_special(q, end_);
    if (q >= end_) return fail(q, "EOF while parsing a string");
    unsigned char c = *q;
    if (c == '"') break;
    if (c == '\\') return parse_escaped_string(start, q, out);
    if (c < 0x20) return fail(q, "control character (\\u0000-\\u001F) found while parsing a string");
    if (!validate_utf8(q)) return false;
  }
  size_t size = static_cast<size_t>(q - start);
  if (size > UINT32_MAX) return fail(start, "string longer than 4 GiB");
  out = Node::string_ref(reinterpret_cast<const char*>(start), static_cast<uint32_t>(size));
  p_ = q + 1;
  return true;
}

bool Parser::parse_hex4(const unsigned char*& p, uint32_t& out) {
  out = 0;
  for (int i = 0; i < 4; ++i) {
    if (p >= end_) return fail(p, "EOF while parsing a string");
    unsigned char c = *p;
    uint32_t v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      return fail(p, "invalid escape");
    out = out * 16 + v;
    ++p;
  }
  return true;
}

void append_utf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool Parser::parse_escaped_string(const unsigned char* start, const unsigned char* q, Node& out) {
  decoded_.assign(reinterpret_cast<const char*>(start), static_cast<size_t>(q - start));
  for (;;) {
    const unsigned char* run = q;
    q = find_special(q, end_);
    decoded_.append(reinterpret_cast<const char*>(run), static_cast<size_t>(q - run));
    if (q >= end_) return fail(q, "EOF while parsing a string");
    unsigned char c = *q;
    if (c == '"') break;
    if (c >= 0x80) {
      const unsigned char* seq = q;
      if (!validate_utf8(q)) return false;
      decoded_.append(reinterpret_cast<const char*>(seq), static_cast<size_t>(q - seq));
      continue;
    }
    if (c < 0x20) return fail(q, "control character (\\u0000-\\u001F) found while parsing a string");
    // backslash
    ++q;
    if (q >= end_) return fail(q, "EOF while parsing a string");
    switch (*q++) {
      case '"':
        decoded_.push_back('"');
        break;
      case '\\':
        decoded_.push_back('\\');
        break;
      case '/':
        decoded_.push_back('/');
        break;
      case 'b':
        decoded_.push_back('\b');
        break;
      case 'f':
        decoded_.push_back('\f');
        break;
      case 'n':
        decoded_.push_back('\n');
        break;
      case 'r':
        decoded_.push_back('\r');
        break;
      case 't':
        decoded_.push_back('\t');
        break;
      case 'u': {
        uint32_t cp;
        if (!parse_hex4(q, cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(q, "lone leading surrogate in hex escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (q >= end_) return fail(q, "EOF while parsing a string");
          if (*q != '\\') return fail(q, "unexpected end of hex escape");
          ++q;
          if (q >= end_) return fail(q, "EOF while parsing a string");
          if (*q != 'u') return fail(q, "unexpected end of hex escape");
          ++q;
          uint32_t low;
          if (!parse_hex4(q, low)) return false;
          if (low < 0xDC00 || low > 0xDFFF) return fail(q, "lone leading surrogate in hex escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(decoded_, cp);
        break;
      }
      default:
        return fail(q - 1, "invalid escape");
    }
  }
  p_ = q + 1;
  if (decoded_.size() > UINT32_MAX) return fail(start, "string longer than 4 GiB");
  out = doc_.make_string(decoded_);
  return true;
}

}  // namespace

namespace {

// Documents this large are parsed on two threads (below this, starting a
// thread costs more than it saves).
constexpr size_t k_split_min_bytes = size_t{4} << 20;
// How far past the middle to look for a good place to split.
constexpr size_t k_split_search_bytes = size_t{4} << 20;

bool is_space(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Where a second thread should start: the first byte after a comma at or
// after `from`, preferring a comma between two containers or before a key
// (`},{`, `],[`, `},"`: rows of a big array or object), else the first comma.
// Any byte would be correct (the main parser checks the guess); a good one
// is one where the main parser will arrive just after a comma.
const unsigned char* split_point(const unsigned char* begin, const unsigned char* end, size_t from) {
  if (from >= static_cast<size_t>(end - begin)) return nullptr;
  const unsigned char* limit = begin + from + std::min(k_split_search_bytes, static_cast<size_t>(end - begin) - from);
  const unsigned char* first_comma = nullptr;
  for (const unsigned char* p = begin + from; p < limit; ++p) {
    if (*p != ',') continue;
    const unsigned char* before = p;
    while (before > begin && is_space(before[-1])) --before;
    const unsigned char* after = p + 1;
    while (after < end && is_space(*after)) ++after;
    if (after >= end) return nullptr;
    if (first_comma == nullptr) first_comma = after;
    if (before > begin && (before[-1] == '}' || before[-1] == ']') &&
        (*after == '{' || *after == '[' || *after == '"')) {
      return after;
    }
  }
  return first_comma;
}

// Parses [data, data + size) into `doc`, with a second thread speculatively
// parsing from a split point at or after `split_from` (SIZE_MAX: no split).
// The second thread cannot know where it stands: it guesses that the split
// point starts a child of some container and parses children up to that
// container's closing bracket. The main thread parses from the start; if it
// arrives just after a comma exactly at the split point, the guess was right
// (the bytes from there to the bracket are children of the container the
// main thread is in, and parse exactly as the second thread parsed them), so
// it takes the second thread's children and carries on from the bracket.
// Otherwise (the split point was inside a string, the container kinds
// differ, the nesting would pass the limit, or the second thread met an
// error) the main thread parses everything itself, so every result and
// every error message is the serial parser's.
Status parse_split(const char* data, size_t size, Document& doc, size_t split_from, bool* joined = nullptr) {
  Parser parser(data, size, doc);
  const auto* begin = reinterpret_cast<const unsigned char*>(data);
  const unsigned char* at = split_from == SIZE_MAX ? nullptr : split_point(begin, begin + size, split_from);
  if (at == nullptr) return parser.run();

  Parser::Fragment fragment;
  std::atomic<bool> cancelled{false};
  std::thread worker([&] {
    Parser second(reinterpret_cast<const char*>(at), size - static_cast<size_t>(at - begin), fragment.doc);
    second.run_fragment(fragment, cancelled);
  });
  parser.expect_fragment(at, [&]() -> Parser::Fragment* {
    worker.join();
    return &fragment;
  });
  Status st = parser.run();
  if (worker.joinable()) {  // the main parser never reached the split point
    cancelled = true;
    worker.join();
  }
  if (joined != nullptr) *joined = parser.joined();
  return st;
}

size_t default_split(size_t size) { return size >= k_split_min_bytes ? size / 2 : SIZE_MAX; }

}  // namespace

Result<Document> parse(base::Buffer text) {
  Document doc;
  const char* data = text.data();
  size_t size = text.size();
  doc.adopt_text(std::move(text));  // the heap bytes do not move with the buffer
  TRY(parse_split(data, size, doc, default_split(size)));
  return doc;
}

Result<Document> parse_borrowed(std::string_view text) {
  Document doc;
  TRY(parse_split(text.data(), text.size(), doc, default_split(text.size())));
  return doc;
}

Result<Document> parse_borrowed_split(std::string_view text, size_t split_from, bool* joined) {
  Document doc;
  if (joined != nullptr) *joined = false;
  TRY(parse_split(text.data(), text.size(), doc, split_from, joined));
  return doc;
}

Result<Document> parse(std::string_view text) {
  base::Buffer copy(text.size());
  if (!text.empty()) std::memcpy(copy.data(), text.data(), text.size());
  return parse(std::move(copy));
}

}  // namespace cutover::json
