#include "cutover/gates/ledger.h"

#include <cctype>

#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "cutover/json/writer.h"
#include "cutover/routing/paths.h"

namespace cutover::gates {
namespace {

Error broken(const std::string& path, size_t line, const std::string& why) {
  return Error(ErrorCode::corruption,
               "ledger " + path + " is broken at line " + std::to_string(line) + ": " + why +
                   "; the chain of records cannot be trusted past this point: restore the ledger from its copy "
                   "or backup, and never edit it by hand");
}

// The ledger is cutover's own file: a symbolic link is not followed, and
// only a regular file is read (a FIFO would block with the lock held).
tl::unexpected<Error> not_a_ledger_file(const std::string& path, const base::FileInfo& info) {
  if (info.is_symlink) {
    return make_error(ErrorCode::permission_denied,
                      "ledger " + path +
                          " is a symbolic link; cutover does not follow links to its ledger: give "
                          "the real path of the ledger with --ledger");
  }
  return make_error(ErrorCode::invalid_argument, "ledger " + path + " is not a regular file");
}

}  // namespace

Result<std::string> normalize_group(std::string_view name) {
  std::string out = routing::normalize_group_name(name);  // the route split's rule: Unicode white space trimmed
  bool ok = !out.empty() && out.size() <= 64;
  for (char c : out) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) {
    return make_error(ErrorCode::invalid_argument,
                      "route group '" + std::string(name) +
                          "' is not a group name: 1-64 characters of a-z, 0-9 and '_' (after trimming, "
                          "lower-casing and turning '-' into '_'), e.g. billing_l402");
  }
  return out;
}

std::string record_line(const LedgerRecord& r) {
  json::Writer w = json::Writer::document();
  w.begin_object().member("schema", k_ledger_schema).member("seq", r.seq).member("prev_sha256", r.prev_sha256);
  w.member("recorded_at", r.recorded_at).member("group", r.group).member("phase", r.phase).member("tool", r.tool);
  w.member_or_null("note", r.note).member("evidence", r.evidence.root()).end_object();
  return json::to_compact_string(w.take_document().root());
}

Result<Ledger> parse_ledger(std::string_view bytes, const std::string& path) {
  Ledger ledger;
  ledger.path = path;
  ledger.exists = true;
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < bytes.size()) {
    ++line_no;
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) {
      return tl::unexpected(broken(path, line_no,
                                   "the last line is incomplete (no newline at its end: a write that "
                                   "did not finish, or a line added by hand)"));
    }
    std::string_view line = bytes.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) return tl::unexpected(broken(path, line_no, "an empty line"));
    auto doc = json::parse(line);
    if (!doc) return tl::unexpected(broken(path, line_no, "not JSON (" + doc.error().message() + ")"));
    std::vector<std::string> problems;
    json::FieldReader f(doc->root(), "record", problems);
    LedgerRecord r;
    std::string schema = f.string("schema");
    r.seq = f.u64("seq");
    r.prev_sha256 = f.string("prev_sha256");
    r.recorded_at = f.string("recorded_at");
    r.group = f.string("group");
    r.phase = f.string("phase");
    r.tool = f.string("tool");
    r.note = f.optional_string("note").value_or("");
    const json::Node* evidence = f.object("evidence");
    if (!problems.empty()) return tl::unexpected(broken(path, line_no, json::join_problems(problems)));
    if (schema != k_ledger_schema) {
      return tl::unexpected(
          broken(path, line_no, "schema is '" + schema + "', expected '" + std::string(k_ledger_schema) + "'"));
    }
    if (r.seq != line_no) {
      return tl::unexpected(broken(path, line_no,
                                   "seq is " + std::to_string(r.seq) + ", expected " + std::to_string(line_no) +
                                       " (a line was removed, inserted or moved)"));
    }
    if (r.prev_sha256 != ledger.head_sha256) {
      return tl::unexpected(broken(path, line_no,
                                   "prev_sha256 is " + r.prev_sha256 + " but the line before it hashes to " +
                                       ledger.head_sha256 + " (a line before it was changed, removed or moved)"));
    }
    auto normalized = normalize_group(r.group);
    if (!normalized || *normalized != r.group) {
      return tl::unexpected(broken(path, line_no, "group '" + r.group + "' is not a normalised group name"));
    }
    r.evidence.set_root(r.evidence.copy(*evidence));
    r.line_sha256 = hash::sha256_hex(line);
    ledger.head_sha256 = r.line_sha256;
    ledger.records.push_back(std::move(r));
  }
  return ledger;
}

Result<Ledger> read_ledger(base::FileSystem& fs, const std::string& path) {
  TRY_ASSIGN(base::FileInfo info, fs.stat(path));
  if (!info.exists) {
    Ledger empty;
    empty.path = path;
    return empty;
  }
  if (info.is_symlink || !info.is_regular) return not_a_ledger_file(path, info);
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file_no_follow(path), "cannot read ledger " + path);
  return parse_ledger(bytes.view(), path);
}

LedgerHead head_of(const Ledger& ledger) { return LedgerHead{ledger.records.size(), ledger.head_sha256}; }

Result<LedgerHead> parse_ledger_head(std::string_view text) {
  size_t colon = text.find(':');
  std::string_view count = colon == std::string_view::npos ? text : text.substr(0, colon);
  std::string_view sha = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  bool digits = !count.empty() && count.size() <= 18 && count.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits || !hash::is_sha256_hex(sha)) {
    return make_error(ErrorCode::invalid_argument,
                      "ledger head '" + std::string(text) +
                          "' is not COUNT:SHA256 (the record count, a colon, and the last line's SHA-256 in 64 "
                          "lower-case hex characters, as `cutover gate status` prints it after \"head:\")");
  }
  LedgerHead head;
  head.records = std::stoull(std::string(count));
  head.sha256 = std::string(sha);
  if (head.records == 0 && head.sha256 != k_ledger_genesis) {
    return make_error(
        ErrorCode::invalid_argument,
        "ledger head '" + std::string(text) + "': an empty ledger's head is 0:" + std::string(k_ledger_genesis));
  }
  return head;
}

Status check_ledger_head(const Ledger& ledger, const LedgerHead& head) {
  uint64_t count = ledger.records.size();
  if (count < head.records) {
    return make_error(ErrorCode::conflict,
                      "ledger " + ledger.path + " was truncated: it holds " + std::to_string(count) +
                          " record(s), but its head was pinned at " + head.text() +
                          "; records were removed from its end: restore it from a copy that holds the pinned head");
  }
  const std::string& at =
      head.records == 0 ? std::string(k_ledger_genesis) : ledger.records[head.records - 1].line_sha256;
  if (at != head.sha256) {
    return make_error(
        ErrorCode::conflict,
        "ledger " + ledger.path + " was rewritten: record " + std::to_string(head.records) + " hashes to " + at +
            ", not the pinned head " + head.text() +
            "; this is not the ledger that was pinned: restore it from a copy that holds the pinned head");
  }
  return {};
}

Result<Ledger> read_existing_ledger(base::FileSystem& fs, const std::string& path) {
  auto info = fs.stat(path);
  if (!info) {
    return make_error(ErrorCode::invalid_argument, "ledger " + path + " cannot be read (" + info.error().message() +
                                                       "): check the path and its permissions");
  }
  if (!info->exists) {
    return make_error(ErrorCode::not_found,
                      "ledger " + path +
                          " does not exist: check the path (a ledger is never created by reading it; "
                          "a new one is started by `cutover gate advance GROUP expand --ledger " +
                          path + " --new-ledger`)");
  }
  if (info->is_symlink || !info->is_regular) return not_a_ledger_file(path, *info);
  auto bytes = fs.read_file_no_follow(path);
  if (!bytes) {
    return make_error(ErrorCode::invalid_argument,
                      "ledger " + path + " cannot be read (" + bytes.error().message() + "): check its permissions");
  }
  return parse_ledger(bytes->view(), path);
}

Result<std::unique_ptr<LedgerWriter>> LedgerWriter::open(base::FileSystem& fs, const std::string& path) {
  std::string folder = base::parent_directory(path);
  TRY_ASSIGN(base::FileInfo dir, fs.stat(folder));
  if (!dir.exists || !dir.is_directory) {
    return make_error(ErrorCode::not_found, "the ledger's folder " + folder + " does not exist; create it first");
  }
  auto lock = fs.try_lock(path + ".lock");
  if (!lock) {
    if (lock.error().code() == ErrorCode::conflict) {
      return make_error(ErrorCode::conflict, "ledger " + path + " is locked by another cutover gate command (" + path +
                                                 ".lock); wait for it to finish, then try again");
    }
    return tl::unexpected(lock.error());
  }
  TRY_ASSIGN(base::FileInfo info, fs.stat(path));
  std::string bytes;
  if (info.exists) {
    if (info.is_symlink || !info.is_regular) return not_a_ledger_file(path, info);
    TRY_ASSIGN_CTX(base::Buffer buf, fs.read_file_no_follow(path), "cannot read ledger " + path);
    bytes.assign(buf.view());
  }
  TRY_ASSIGN(Ledger ledger, info.exists ? parse_ledger(bytes, path)
                                        : Result<Ledger>(Ledger{path, false, {}, std::string(k_ledger_genesis)}));
  return std::unique_ptr<LedgerWriter>(
      new LedgerWriter(fs, path, std::move(*lock), std::move(ledger), std::move(bytes)));
}

Result<LedgerRecord> LedgerWriter::append(const std::string& group, const std::string& phase, json::Document evidence,
                                          const std::string& note, base::Clock& clock) {
  // Refuse if the file changed under us (an edit that ignored the lock).
  TRY_ASSIGN(base::FileInfo info, fs_.stat(path_));
  std::string now_bytes;
  if (info.exists) {
    TRY_ASSIGN_CTX(base::Buffer buf, fs_.read_file_no_follow(path_), "cannot read ledger " + path_);
    now_bytes.assign(buf.view());
  }
  if (info.exists != ledger_.exists || now_bytes != bytes_) {
    return make_error(ErrorCode::conflict,
                      "ledger " + path_ +
                          " changed while the gate was being checked "
                          "(written without its lock); nothing was recorded: run the command again");
  }
  LedgerRecord r;
  r.seq = ledger_.records.size() + 1;
  r.prev_sha256 = ledger_.head_sha256;
  r.recorded_at = base::rfc3339_utc(clock.now_ns());
  r.group = group;
  r.phase = phase;
  r.tool = std::string(k_tool);
  r.note = note;
  r.evidence = std::move(evidence);
  std::string line = record_line(r);
  r.line_sha256 = hash::sha256_hex(line);
  std::string next = bytes_ + line + "\n";
  TRY_CTX(base::write_file_atomic(fs_, path_, next, info.exists ? &info : nullptr),
          "ledger " + path_ + " is unchanged");
  bytes_ = std::move(next);
  ledger_.exists = true;
  ledger_.head_sha256 = r.line_sha256;
  ledger_.records.push_back(r);
  return r;
}

}  // namespace cutover::gates
