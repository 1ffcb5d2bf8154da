#include "cutover/json/document.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace cutover::json {
namespace {

constexpr size_t k_max_block_bytes = size_t{32} << 20;

// Byte-wise comparison, 8 bytes at a time: keys are short, and a memcmp call
// per comparison was a tenth of the time spent on a large store.
inline bool bytes_less(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y);
  }
  for (; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

inline bool key_less(const Member& a, const Member& b) { return bytes_less(a.key.as_string(), b.key.as_string()); }

}  // namespace

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::null:
      return "null";
    case Kind::boolean:
      return "boolean";
    case Kind::u64:
    case Kind::i64:
      return "integer";
    case Kind::f64:
      return "number";
    case Kind::string:
      return "string";
    case Kind::array:
      return "array";
    case Kind::object:
      return "object";
  }
  return "unknown";
}

const Node* Node::find(std::string_view key) const {
  if (kind_ != Kind::object) return nullptr;
  const Member* begin = members_;
  const Member* end = members_ + size_;
  const Member* it = std::lower_bound(
      begin, end, key, [](const Member& m, std::string_view k) { return bytes_less(m.key.as_string(), k); });
  if (it != end && it->key.as_string() == key) return &it->value;
  return nullptr;
}

void* Arena::allocate(size_t bytes) {
  bytes = (bytes + 7) & ~size_t{7};
  total_ += bytes;
  if (bytes > next_block_bytes_ / 4) {  // big ranges get a block of their own
    blocks_.push_back(std::make_unique_for_overwrite<std::byte[]>(bytes));
    return blocks_.back().get();
  }
  if (bytes > left_) {
    blocks_.push_back(std::make_unique_for_overwrite<std::byte[]>(next_block_bytes_));
    next_ = blocks_.back().get();
    left_ = next_block_bytes_;
    next_block_bytes_ = std::min(next_block_bytes_ * 2, k_max_block_bytes);
  }
  void* p = next_;
  next_ += bytes;
  left_ -= bytes;
  return p;
}

void Arena::absorb(Arena&& other) {
  for (auto& block : other.blocks_) blocks_.push_back(std::move(block));
  total_ += other.total_;
  other.blocks_.clear();
  other.next_ = nullptr;
  other.left_ = 0;
  other.total_ = 0;
}

size_t sort_and_dedupe_members(Member* members, size_t size) {
  bool sorted_unique = true;
  for (size_t i = 1; i < size; ++i) {
    if (!key_less(members[i - 1], members[i])) {
      sorted_unique = false;
      break;
    }
  }
  if (sorted_unique) return size;
  if (size <= 16) {  // insertion sort: stable, and no buffer to allocate
    for (size_t i = 1; i < size; ++i) {
      Member m = members[i];
      size_t j = i;
      for (; j > 0 && key_less(m, members[j - 1]); --j) members[j] = members[j - 1];
      members[j] = m;
    }
  } else {
    std::stable_sort(members, members + size, key_less);
  }
  // Keep the last of each run of equal keys.
  size_t out = 0;
  for (size_t i = 0; i < size; ++i) {
    if (i + 1 < size && !key_less(members[i], members[i + 1])) continue;  // sorted: not less means equal
    members[out++] = members[i];
  }
  return out;
}

Node Document::make_string(std::string_view s) {
  char* p = static_cast<char*>(arena_.allocate(s.size() + 1));
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return Node::string_ref(p, static_cast<uint32_t>(s.size()));
}

Node Document::make_array(const std::vector<Node>& elements) {
  Node* p = static_cast<Node*>(arena_.allocate(sizeof(Node) * elements.size()));
  std::copy(elements.begin(), elements.end(), p);
  return Node::array_ref(p, static_cast<uint32_t>(elements.size()));
}

Node Document::make_object(std::vector<Member> members) {
  size_t n = sort_and_dedupe_members(members.data(), members.size());
  Member* p = static_cast<Member*>(arena_.allocate(sizeof(Member) * n));
  std::copy(members.begin(), members.begin() + static_cast<ptrdiff_t>(n), p);
  return Node::object_ref(p, static_cast<uint32_t>(n));
}

Document::Document(const Document& other) { root_ = copy(other.root_); }

Document& Document::operator=(const Document& other) {
  if (this != &other) *this = Document(other);
  return *this;
}

Document Document::empty_object() {
  Document doc;
  doc.root_ = Node::object_ref(nullptr, 0);
  return doc;
}

Node Document::copy(const Node& value) {
  if (value.is_string()) return make_string(value.as_string());
  if (value.is_array()) {
    std::vector<Node> elements;
    elements.reserve(value.size());
    for (size_t i = 0; i < value.size(); ++i) elements.push_back(copy(value.elements()[i]));
    return make_array(elements);
  }
  if (value.is_object()) {
    std::vector<Member> members;
    members.reserve(value.size());
    for (size_t i = 0; i < value.size(); ++i) {
      const Member& m = value.members()[i];
      members.push_back(Member{make_string(m.key.as_string()), copy(m.value)});
    }
    return make_object(std::move(members));
  }
  return value;  // a scalar holds no reference into its document
}

void Document::merge(const Node& object) {
  assert(root_.is_object() && object.is_object());
  std::vector<Member> members(root_.members(), root_.members() + root_.size());
  for (size_t i = 0; i < object.size(); ++i) {
    const Member& m = object.members()[i];
    members.push_back(Member{make_string(m.key.as_string()), copy(m.value)});
  }
  root_ = make_object(std::move(members));
}

std::string_view string_at(const Node& object, std::string_view key) {
  const Node* v = object.find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string_view();
}

Node Document::with_member(const Node& object, std::string_view key, Node value) {
  std::vector<Member> members(object.members(), object.members() + object.size());
  members.push_back(Member{make_string(key), value});
  return make_object(std::move(members));
}

}  // namespace cutover::json
