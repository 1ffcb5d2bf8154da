#include "cutover/verify/count_scanner.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cutover::verify {
namespace {

// Bit i of each mask describes byte i of a 64-byte block.
struct BlockMasks {
  uint64_t quote = 0;
  uint64_t backslash = 0;
  uint64_t open = 0;       // '{' or '['
  uint64_t close = 0;      // '}' or ']'
  uint64_t separator = 0;  // ',' or ':'
  uint64_t space = 0;      // bytes <= 0x20: whitespace (anything else there is invalid JSON)
};

#if defined(__SSE2__)
inline uint64_t movemask(__m128i v) { return static_cast<uint32_t>(_mm_movemask_epi8(v)); }

BlockMasks classify(const char* block) {
  BlockMasks m;
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i colon = _mm_set1_epi8(':');
  const __m128i lower_bit = _mm_set1_epi8(0x20);
  const __m128i open = _mm_set1_epi8('{');   // '[' | 0x20 == '{'
  const __m128i close = _mm_set1_epi8('}');  // ']' | 0x20 == '}'
  for (int k = 0; k < 4; ++k) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * k));
    __m128i folded = _mm_or_si128(x, lower_bit);
    int shift = 16 * k;
    m.quote |= movemask(_mm_cmpeq_epi8(x, quote)) << shift;
    m.backslash |= movemask(_mm_cmpeq_epi8(x, backslash)) << shift;
    m.open |= movemask(_mm_cmpeq_epi8(folded, open)) << shift;
    m.close |= movemask(_mm_cmpeq_epi8(folded, close)) << shift;
    m.separator |= movemask(_mm_or_si128(_mm_cmpeq_epi8(x, comma), _mm_cmpeq_epi8(x, colon))) << shift;
    m.space |= movemask(_mm_cmpeq_epi8(_mm_max_epu8(x, lower_bit), lower_bit)) << shift;
  }
  return m;
}
#else
BlockMasks classify(const char* block) {
  BlockMasks m;
  for (int i = 0; i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(block[i]);
    uint64_t bit = uint64_t{1} << i;
    if (c == '"') m.quote |= bit;
    if (c == '\\') m.backslash |= bit;
    if ((c | 0x20) == '{') m.open |= bit;
    if ((c | 0x20) == '}') m.close |= bit;
    if (c == ',' || c == ':') m.separator |= bit;
    if (c <= 0x20) m.space |= bit;
  }
  return m;
}
#endif

// Bit i set: an odd number of set bits at positions <= i.
inline uint64_t prefix_xor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

// Bits 0 .. n-1.
inline uint64_t low_bits(int n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

}  // namespace

CountScanner::CountScanner(const store::StoreSpec& spec) : rules_(spec.counts) {
  for (const auto& rule : rules_) {
    bool known = false;
    for (const auto& s : stats_) known = known || s.key == rule.key;
    if (!known) stats_.push_back(KeyStats{rule.key});
  }
}

void CountScanner::feed(std::string_view bytes) {
  if (unsure_) return;
  const char* p = bytes.data();
  size_t n = bytes.size();
  if (tail_size_ > 0) {
    size_t take = std::min(n, sizeof tail_ - tail_size_);
    std::memcpy(tail_ + tail_size_, p, take);
    tail_size_ += take;
    p += take;
    n -= take;
    if (tail_size_ < sizeof tail_) return;
    process_block(tail_);
    tail_size_ = 0;
  }
  while (n >= 64 && !unsure_) {
    process_block(p);
    p += 64;
    n -= 64;
  }
  if (unsure_) return;
  std::memcpy(tail_, p, n);
  tail_size_ = n;
}

std::optional<store::Counts> CountScanner::finish() {
  if (!unsure_ && tail_size_ > 0) {
    std::memset(tail_ + tail_size_, ' ', sizeof tail_ - tail_size_);  // whitespace changes nothing
    process_block(tail_);
    tail_size_ = 0;
  }
  // Inside a string, an open container, no root, or bytes after the root.
  if (unsure_ || in_string_carry_ != 0 || escape_carry_ || depth_ != 0 || !root_done_ || scalar_carry_) {
    return std::nullopt;
  }
  store::Counts counts;
  for (const auto& rule : rules_) {
    const KeyStats* s = nullptr;
    for (const auto& candidate : stats_) {
      if (candidate.key == rule.key) s = &candidate;
    }
    uint64_t value = 0;
    switch (rule.kind) {
      case store::CountKind::object_len:
        value = s->kind == '{' ? s->length : 0;
        break;
      case store::CountKind::array_len:
        value = s->kind == '[' ? s->length : 0;
        break;
      case store::CountKind::sum_array_lengths:
        value = s->kind == '{' ? s->sum : 0;
        break;
    }
    counts[rule.name] = value;
  }
  return counts;
}

// True if a number or literal byte lies between the previous event and `bit`.
bool CountScanner::scalar_before(int bit) const {
  if (last_bit_ < 0 && scalar_carry_) return true;
  return (scalar_mask_ & low_bits(bit) & ~low_bits(last_bit_ + 1)) != 0;
}

void CountScanner::process_block(const char* block) {
  BlockMasks m = classify(block);

  // Escaped characters: each backslash that is not itself escaped escapes the
  // next byte. Backslashes are rare, so walk them one by one.
  uint64_t escaped = 0;
  uint64_t backslashes = m.backslash;
  if (escape_carry_) {
    escaped = 1;
    backslashes &= ~uint64_t{1};
    escape_carry_ = false;
  }
  while (backslashes != 0) {
    int i = __builtin_ctzll(backslashes);
    if (i == 63) {
      escape_carry_ = true;
      break;
    }
    escaped |= uint64_t{2} << i;
    backslashes &= ~(uint64_t{3} << i);
  }

  uint64_t quotes = m.quote & ~escaped;
  // Inside a string: from an opening quote (included) to its closing quote (excluded).
  uint64_t in_string = prefix_xor(quotes) ^ in_string_carry_;
  in_string_carry_ = static_cast<uint64_t>(static_cast<int64_t>(in_string) >> 63);

  uint64_t structural = (m.open | m.close | m.separator) & ~in_string;
  scalar_mask_ = ~(m.space | m.open | m.close | m.separator | quotes | in_string);
  uint64_t all_events = structural | quotes;
  // Inside a string value's container that is not counted, or deeper than
  // the counts look, only the nesting matters: skip the other events.
  uint64_t brackets = (m.open | m.close) & ~in_string;
  uint64_t events = wants_all_events() ? all_events : brackets;
  last_bit_ = -1;

  while (events != 0 && !unsure_) {
    int bit = __builtin_ctzll(events);
    char c = block[bit];
    if (!wants_all_events()) {
      if (c == '{' || c == '[') {
        open(c, bit);
      } else {
        close(c, bit);
      }
    } else {
      Frame& f = frames_[depth_];
      switch (c) {
        case '{':
        case '[':
          open(c, bit);
          break;
        case '}':
        case ']':
          close(c, bit);
          break;
        case '"':
          if (depth_ == 0)
            give_up();  // a string root
          else
            quote((in_string >> bit) & 1, block, bit);
          break;
        case ':':
          if (depth_ == 0 || !f.object || f.expect != k_colon) give_up();
          f.expect = k_value;
          break;
        default:  // ','
          if (depth_ == 0) give_up();
          if (f.object) {
            if (f.expect != k_value && f.expect != k_after_value) give_up();
            f.expect = k_key;
            f.key_index = -1;
          }
          ++f.commas;
          break;
      }
    }
    last_bit_ = bit;
    events = (wants_all_events() ? all_events : brackets) & ~low_bits(bit + 1);
  }

  if (capturing_) {  // the key goes on in the next block
    key_.append(block + capture_from_, 64 - static_cast<size_t>(capture_from_));
    capture_from_ = 0;
  }
  if (last_bit_ < 0) {
    scalar_carry_ = scalar_carry_ || scalar_mask_ != 0;
  } else {
    scalar_carry_ = (scalar_mask_ & ~low_bits(last_bit_ + 1)) != 0;
  }
}

void CountScanner::open(char c, int bit) {
  if (depth_ == 0) {
    // The root: it must be the first thing in the file, and an object.
    if (root_done_ || c != '{' || scalar_before(bit)) return give_up();
    depth_ = 1;
    kinds_[1] = c;
    frames_[1] = Frame{};
    frames_[1].tracked = true;
    frames_[1].object = true;
    return;
  }
  if (depth_ >= k_max_depth) return give_up();
  bool tracked_child = false;
  if (depth_ <= 3 && frames_[depth_].tracked) {
    Frame& parent = frames_[depth_];
    if (parent.object) {
      if (parent.expect != k_value) return give_up();
      parent.expect = k_after_value;
    }
    parent.content = true;
    if (depth_ == 1 && parent.key_index >= 0) {
      stats_[static_cast<size_t>(parent.key_index)].kind = c;
      tracked_child = true;  // the value of a counted top-level key
    } else if (depth_ == 2 && parent.object && c == '[') {
      tracked_child = true;  // an array value inside a counted object (sum_array_lengths)
    }
  }
  ++depth_;
  kinds_[depth_] = c;
  if (depth_ <= 3) {
    Frame& child = frames_[depth_];
    child.tracked = tracked_child;
    if (tracked_child) {
      child.object = c == '{';
      child.expect = k_key;
      child.content = false;
      child.commas = 0;
      child.sum = 0;
      child.key_index = -1;
      child.has_prev_key = false;
    }
  }
}

void CountScanner::close(char c, int bit) {
  if (depth_ == 0 || kinds_[depth_] != (c == '}' ? '{' : '[')) return give_up();
  if (depth_ <= 3 && frames_[depth_].tracked) {
    Frame& f = frames_[depth_];
    if (f.object && f.expect != k_after_value && f.expect != k_value && (f.expect != k_key || f.content)) {
      return give_up();  // "{"a"}", "{"a":}" or a trailing comma
    }
    uint64_t length = f.commas > 0 ? f.commas + 1 : ((f.content || scalar_before(bit)) ? 1 : 0);
    if (depth_ == 3) {
      frames_[2].sum += length;
    } else if (depth_ == 2) {
      KeyStats& s = stats_[static_cast<size_t>(frames_[1].key_index)];
      s.length = length;
      s.sum = f.sum;
    } else {
      root_done_ = true;
    }
  }
  --depth_;
}

void CountScanner::quote(bool opening, const char* block, int bit) {
  Frame& f = frames_[depth_];
  if (opening) {
    if (f.object && f.expect == k_key) {
      capturing_ = true;
      capture_from_ = bit + 1;
      key_.clear();
    } else if (f.object) {
      if (f.expect != k_value) return give_up();
      f.expect = k_after_value;
    }
    f.content = true;
    return;
  }
  if (!capturing_) return;  // the end of a string value
  capturing_ = false;
  key_.append(block + capture_from_, static_cast<size_t>(bit - capture_from_));
  // Keys are compared as bytes; an escape would need decoding first.
  if (key_.find('\\') != std::string::npos) return give_up();
  // Strictly increasing keys: no duplicates for the parser to fold.
  if (f.has_prev_key && !(f.prev_key < key_)) return give_up();
  f.has_prev_key = true;
  f.prev_key.swap(key_);
  f.expect = k_colon;
  if (depth_ == 1) {
    f.key_index = -1;
    for (size_t i = 0; i < stats_.size(); ++i) {
      if (stats_[i].key == f.prev_key) f.key_index = static_cast<int>(i);
    }
  }
}

}  // namespace cutover::verify
