// The JSON document model: a compact tree of 16-byte nodes in an arena.
//
// A Document owns the text it was parsed from, and unescaped strings point
// straight into that text; strings with escapes are decoded into the arena.
// Objects keep their members sorted by key bytes with duplicate keys removed
// (the last one wins), exactly as serde_json's BTreeMap-backed Value does, so
// the canonical writer only walks the tree. Containers' children live in one
// contiguous arena range each. Nodes are plain values: copying a container
// node copies a reference to its children, which stay owned by the Document.
//
// Thread safety: a Document may be read from several threads at once; it must
// not be changed while anybody reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"

namespace cutover::json {

enum class Kind : uint8_t { null, boolean, u64, i64, f64, string, array, object };

std::string_view kind_name(Kind kind);  // "null", "boolean", "integer", ..., "object"

struct Member;

class Node {
 public:
  Node() : kind_(Kind::null), flag_(false), size_(0), u64_(0) {}

  static Node null() { return Node(); }
  static Node boolean(bool b) {
    Node n;
    n.kind_ = Kind::boolean;
    n.flag_ = b;
    return n;
  }
  static Node u64(uint64_t v) {
    Node n;
    n.kind_ = Kind::u64;
    n.u64_ = v;
    return n;
  }
  static Node i64(int64_t v) {
    Node n;
    n.kind_ = Kind::i64;
    n.i64_ = v;
    return n;
  }
  static Node f64(double v) {
    Node n;
    n.kind_ = Kind::f64;
    n.f64_ = v;
    return n;
  }
  // The bytes must outlive the node (they belong to a Document).
  static Node string_ref(const char* data, uint32_t size) {
    Node n;
    n.kind_ = Kind::string;
    n.size_ = size;
    n.str_ = data;
    return n;
  }
  static Node array_ref(const Node* elements, uint32_t size) {
    Node n;
    n.kind_ = Kind::array;
    n.size_ = size;
    n.elements_ = elements;
    return n;
  }
  static Node object_ref(const Member* members, uint32_t size) {
    Node n;
    n.kind_ = Kind::object;
    n.size_ = size;
    n.members_ = members;
    return n;
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_array() const { return kind_ == Kind::array; }
  bool is_object() const { return kind_ == Kind::object; }
  bool is_number() const { return kind_ == Kind::u64 || kind_ == Kind::i64 || kind_ == Kind::f64; }

  // REQUIRES: the matching kind.
  bool as_bool() const { return flag_; }
  uint64_t as_u64() const { return u64_; }
  int64_t as_i64() const { return i64_; }
  double as_f64() const { return f64_; }
  std::string_view as_string() const { return {str_, size_}; }

  // Elements of an array or members of an object; 0 for scalars.
  size_t size() const { return (kind_ == Kind::array || kind_ == Kind::object) ? size_ : 0; }
  const Node* elements() const { return elements_; }  // REQUIRES: is_array()
  const Member* members() const { return members_; }  // REQUIRES: is_object()

  // The value of `key` in an object (binary search), or nullptr.
  const Node* find(std::string_view key) const;

 private:
  Kind kind_;
  bool flag_;
  uint32_t size_;
  union {
    uint64_t u64_;
    int64_t i64_;
    double f64_;
    const char* str_;
    const Node* elements_;
    const Member* members_;
  };
};
static_assert(sizeof(Node) == 16, "nodes are meant to stay small: stores are gigabytes");

struct Member {
  Node key;  // always a string
  Node value;
};

// Where the bytes of a document's nodes live. Allocations never move.
class Arena {
 public:
  Arena() = default;
  Arena(Arena&&) = default;
  Arena& operator=(Arena&&) = default;
  // Uninitialised, 8-byte aligned storage.
  void* allocate(size_t bytes);
  size_t bytes_allocated() const { return total_; }
  // Takes over `other`'s blocks (their addresses do not change), so nodes
  // built in another arena, e.g. on another thread, can join this document.
  void absorb(Arena&& other);

 private:
  std::vector<std::unique_ptr<std::byte[]>> blocks_;
  size_t next_block_bytes_ = 64 << 10;  // doubles up to 32 MiB: small documents stay small
  std::byte* next_ = nullptr;
  size_t left_ = 0;
  size_t total_ = 0;
};

class Document {
 public:
  Document() = default;
  Document(Document&&) = default;
  Document& operator=(Document&&) = default;
  // A deep copy: the root and everything under it, in an arena of its own
  // (the parsed text is not kept: strings are copied). For the small
  // documents that records and reports carry; a store's document is moved,
  // never copied.
  Document(const Document& other);
  Document& operator=(const Document& other);

  // A document whose root is an empty object, to merge() members into.
  static Document empty_object();

  const Node& root() const { return root_; }
  void set_root(Node root) { root_ = root; }

  // Builders: the new nodes' storage belongs to this document.
  Node make_string(std::string_view s);
  Node make_array(const std::vector<Node>& elements);
  // Sorts by key; for duplicate keys the last one wins.
  Node make_object(std::vector<Member> members);
  // Returns `object` with `key` set to `value` (added or replaced).
  // REQUIRES: object.is_object().
  Node with_member(const Node& object, std::string_view key, Node value);
  // `value`, which may belong to another document, copied into this one.
  Node copy(const Node& value);
  // Sets every member of `object` (of any document) in the root object,
  // replacing a member of the same key.
  // REQUIRES: root().is_object() and object.is_object().
  void merge(const Node& object);

  Arena& arena() { return arena_; }
  // Takes ownership of the text that parsed strings point into.
  void adopt_text(base::Buffer text) { text_ = std::move(text); }
  const base::Buffer& text() const { return text_; }

 private:
  base::Buffer text_;
  Arena arena_;
  Node root_;
};

// The string value of `key` in `object`, or "" when `object` is not an
// object, has no such key, or holds something else there.
std::string_view string_at(const Node& object, std::string_view key);

// Sorts members by key bytes, keeps the last of equal keys; returns the new size.
size_t sort_and_dedupe_members(Member* members, size_t size);

}  // namespace cutover::json
