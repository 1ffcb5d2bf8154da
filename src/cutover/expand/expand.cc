#include "cutover/expand/expand.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

#include "cutover/base/process.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/document.h"

namespace cutover::expand {
namespace {

std::string store_label(const std::string& kind, const std::string& path) {
  return "store " + kind + " (" + path + ")";
}

// The scratch folder: made private by mkdtemp (0700), removed with
// everything the readers left in it when the check ends, however it ends.
class ScratchFolder {
 public:
  static Result<ScratchFolder> make(const std::string& parent) {
    std::string pattern = base::join_path(base::absolute_path(parent), "cutover-expand-XXXXXX");
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      return make_error(ErrorCode::io_error, "cannot make a scratch folder in " + parent + ": " + std::strerror(errno) +
                                                 "; set TMPDIR to a writable folder");
    }
    return ScratchFolder(buf.data());
  }
  ScratchFolder(ScratchFolder&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  ScratchFolder& operator=(ScratchFolder&&) = delete;
  ~ScratchFolder() {
    if (path_.empty()) return;
    std::error_code ec;
    // A reader may have taken the write bit off a folder it was given: give it back first.
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchFolder(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// A store as read before the runs, with both shapes in memory.
struct Prepared {
  StoreCheck check;
  std::string pre_bytes;
  std::string migrated_bytes;
};

// Reads the real store (only reads it) and computes its migrated shape.
Result<Prepared> prepare(const backfill::StoreTarget& target, const store::SpecRegistry& specs, base::FileSystem& fs,
                         bool allow_destructive_reset) {
  Prepared p;
  p.check.name = target.kind;
  p.check.path = base::absolute_path(target.path);
  std::string label = store_label(target.kind, p.check.path);
  TRY_ASSIGN_CTX(const store::StoreSpec* spec, specs.find(target.kind), label);
  TRY_ASSIGN_CTX(base::FileInfo info, fs.stat(p.check.path), label);
  if (info.is_symlink) {
    return make_error(ErrorCode::invalid_argument,
                      label + ": the path is a symbolic link, which backfill refuses. Pass the real path of the store");
  }
  if (info.exists && !info.is_regular) return make_error(ErrorCode::invalid_argument, label + ": not a regular file");
  p.check.existed = info.exists;
  std::optional<std::string_view> current;
  base::Buffer raw;
  if (info.exists) {
    TRY_ASSIGN_CTX(raw, fs.read_file(p.check.path), label);
    current = raw.view();
    p.pre_bytes = std::string(raw.view());
    p.check.sha256_before = hash::sha256_hex(raw.view());
  } else {
    p.pre_bytes = "{}";  // a missing store reads as an empty one
  }
  TRY_ASSIGN(backfill::MigratedForm form, backfill::migrated_form(current, *spec, allow_destructive_reset, label));
  p.migrated_bytes = std::move(form.bytes);
  p.check.destructive_resets = std::move(form.destructive_resets);
  p.check.pre_sha256 = hash::sha256_hex(p.pre_bytes);
  p.check.migrated_sha256 = hash::sha256_hex(p.migrated_bytes);
  p.check.migration_changes = p.pre_bytes != p.migrated_bytes;
  return p;
}

Status write_private_file(base::FileSystem& fs, const std::string& path, std::string_view bytes) {
  TRY_ASSIGN(auto file, fs.create_new_file(path, 0600));
  TRY(file->append(bytes));
  return file->close();
}

// The last k_stderr_tail_lines lines of `text`, at most 4 KiB (its end).
std::string last_lines(std::string_view text) {
  constexpr size_t k_max_bytes = 4096;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  size_t start = text.size();
  for (size_t lines = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++lines == k_stderr_tail_lines) break;
  }
  std::string_view tail = text.substr(start);
  if (tail.size() > k_max_bytes) tail = tail.substr(tail.size() - k_max_bytes);
  return std::string(tail);
}

Result<ReaderRun> run_reader(const std::vector<std::string>& words, const std::string& executable,
                             const std::string& input, std::string_view shape, int64_t timeout_ms,
                             base::FileSystem& fs) {
  std::vector<std::string> argv = reader_argv(words, input);
  argv[0] = executable;
  hash::Sha256 out_hash;
  hash::Sha256 err_hash;
  base::CaptureOptions capture;
  capture.timeout_ms = timeout_ms;
  capture.on_output = [&](int stream, std::string_view chunk) { (stream == 1 ? out_hash : err_hash).update(chunk); };
  TRY_ASSIGN(base::CapturedRun captured, base::run_captured(argv, capture));
  ReaderRun run;
  run.shape = std::string(shape);
  run.exit_status = captured.exit_status;
  if (captured.signal) run.signal = base::signal_name(*captured.signal);
  run.timed_out = captured.timed_out;
  run.ok = !captured.timed_out && captured.exit_status == 0;
  run.duration_ms = captured.duration_ms;
  run.stdout_sha256 = hash::to_hex(out_hash.finish());
  run.stderr_sha256 = hash::to_hex(err_hash.finish());
  run.stdout_bytes = captured.stdout_bytes;
  run.stderr_bytes = captured.stderr_bytes;
  run.stderr_tail = last_lines(captured.stderr_tail);
  auto after = hash::sha256_file_hex(fs, input);
  run.input_sha256 = after ? *after : "";
  return run;
}

// Step 3 for one store (the `index`-th): each shape written into a folder of
// its own in the scratch folder, under the store's file name, and the reader
// run on it. Errors: the copy cannot be written, the reader cannot be started.
Status run_shapes(Prepared& p, size_t index, const std::vector<std::string>& words, const std::string& executable,
                  const std::string& scratch, int64_t timeout_ms, base::FileSystem& fs) {
  std::string file = base::file_name(p.check.path);
  for (std::string_view shape : {std::string_view("pre"), std::string_view("migrated")}) {
    std::string dir =
        base::join_path(scratch, std::to_string(index + 1) + "-" + p.check.name + "-" + std::string(shape));
    if (::mkdir(dir.c_str(), 0700) != 0) {
      return make_error(ErrorCode::io_error, "cannot make scratch folder " + dir + ": " + std::strerror(errno));
    }
    std::string input = base::join_path(dir, file);
    bool pre = shape == "pre";
    TRY_CTX(write_private_file(fs, input, pre ? p.pre_bytes : p.migrated_bytes),
            "scratch copy of " + store_label(p.check.name, p.check.path));
    TRY_ASSIGN_CTX(ReaderRun run, run_reader(words, executable, input, shape, timeout_ms, fs), "--reader");
    run.input_modified = run.input_sha256 != (pre ? p.check.pre_sha256 : p.check.migrated_sha256);
    p.check.runs.push_back(std::move(run));
  }
  return {};
}

// Step 4: the real store after the runs, which must not have changed it.
Status check_unchanged(StoreCheck& check, base::FileSystem& fs) {
  std::string label = store_label(check.name, check.path);
  TRY_ASSIGN_CTX(base::FileInfo info, fs.stat(check.path), label);
  if (info.exists && info.is_regular) {
    TRY_ASSIGN_CTX(check.sha256_after, hash::sha256_file_hex(fs, check.path), label);
  } else if (info.exists) {
    check.sha256_after = "";  // no longer a regular file: never equal to a hash
  }
  check.unchanged = check.sha256_after == check.sha256_before;
  return {};
}

json::Node optional_string(json::Document& doc, const std::optional<std::string>& value) {
  return value ? doc.make_string(*value) : json::Node::null();
}

std::string describe_end(const ReaderRun& run, int64_t timeout_ms) {
  if (run.timed_out) return "did not finish within the timeout (" + std::to_string(timeout_ms) + " ms) and was killed";
  if (run.signal) return "was killed by " + *run.signal;
  if (run.exit_status) return "exited with status " + std::to_string(*run.exit_status);
  return "ended in an unknown way";
}

}  // namespace

Result<std::vector<std::string>> split_command(std::string_view cmd) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < cmd.size(); ++i) {
    char c = cmd[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 == cmd.size()) {
        return make_error(ErrorCode::invalid_argument, "--reader: the command ends with a lone backslash");
      }
      word += cmd[++i];
    } else if (c == '\'') {
      size_t end = cmd.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return make_error(ErrorCode::invalid_argument, "--reader: a single quote is not closed");
      }
      word.append(cmd.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (;; ++j) {
        if (j >= cmd.size()) return make_error(ErrorCode::invalid_argument, "--reader: a double quote is not closed");
        if (cmd[j] == '"') break;
        if (cmd[j] == '\\' && j + 1 < cmd.size() && std::strchr("\"\\$`", cmd[j + 1]) != nullptr) ++j;
        word += cmd[j];
      }
      i = j;
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) {
    return make_error(
        ErrorCode::invalid_argument,
        "--reader: the command is empty; pass the new release's reader, e.g. --reader 'myapp check-store {}'");
  }
  return words;
}

std::vector<std::string> reader_argv(const std::vector<std::string>& words, const std::string& path) {
  std::vector<std::string> argv;
  bool replaced = false;
  for (const auto& w : words) {
    std::string out;
    for (size_t pos = 0;;) {
      size_t at = w.find("{}", pos);
      if (at == std::string::npos) {
        out.append(w, pos);
        break;
      }
      out.append(w, pos, at - pos);
      out += path;
      pos = at + 2;
      replaced = true;
    }
    argv.push_back(std::move(out));
  }
  if (!replaced) argv.push_back(path);
  return argv;
}

Result<std::string> find_executable(const std::string& program, base::FileSystem& fs) {
  auto usable = [&](const std::string& path) -> bool {
    auto info = fs.stat(path);
    if (!info || !info->exists) return false;
    if (info->is_symlink) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) return false;
    } else if (!info->is_regular) {
      return false;
    }
    return ::access(path.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    std::string path = base::absolute_path(program);
    if (!usable(path)) {
      return make_error(ErrorCode::not_found,
                        "--reader: " + path + " is not an executable file; pass the new release's reader program");
    }
    return path;
  }
  const char* env = std::getenv("PATH");
  std::string_view dirs = env != nullptr && *env != '\0' ? env : "/usr/local/bin:/usr/bin:/bin";
  for (size_t pos = 0; pos <= dirs.size();) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string_view::npos) colon = dirs.size();
    std::string dir(dirs.substr(pos, colon - pos));
    if (dir.empty()) dir = ".";
    std::string path = base::absolute_path(base::join_path(dir, program));
    if (usable(path)) return path;
    pos = colon + 1;
  }
  return make_error(ErrorCode::not_found,
                    "--reader: program '" + program + "' is not on PATH; pass its path (e.g. ./bin/" + program + ")");
}

Result<Report> run_check(const CheckOptions& options, const store::SpecRegistry& specs, base::FileSystem& fs,
                         base::Clock& clock) {
  if (options.timeout_ms <= 0) return make_error(ErrorCode::invalid_argument, "--timeout must be more than 0 seconds");
  TRY_ASSIGN(std::vector<std::string> words, split_command(options.reader));
  if (options.stores.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "no store to check: pass --store NAME=PATH, or set AUTH_STORE_PATH, "
                      "CODEX_THREAD_STORE_PATH or DOMAIN_STORE_PATH");
  }
  Report report;
  report.command = words;
  report.timeout_ms = options.timeout_ms;
  TRY_ASSIGN(report.executable, find_executable(words[0], fs));
  TRY_ASSIGN_CTX(report.executable_sha256, hash::sha256_file_hex(fs, report.executable),
                 "--reader " + report.executable);

  // 1. Every store read and migrated in memory first: a store backfill would
  // refuse stops the check before any reader runs.
  std::vector<Prepared> prepared;
  std::set<std::string> seen;
  std::string refusals;
  ErrorCode refusal_code = ErrorCode::invalid_argument;
  for (const auto& target : options.stores) {
    if (!seen.insert(base::absolute_path(target.path)).second) {
      return make_error(ErrorCode::invalid_argument,
                        "store path " + base::absolute_path(target.path) + " is given twice");
    }
    auto p = prepare(target, specs, fs, options.allow_destructive_reset);
    if (!p) {
      refusals += (refusals.empty() ? "" : "\n") + p.error().message();
      refusal_code = p.error().code();
      continue;
    }
    prepared.push_back(std::move(*p));
  }
  if (!refusals.empty()) return make_error(refusal_code, refusals + "\nno reader was run");

  // 2. The private scratch folder.
  std::string parent = options.scratch_parent;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  TRY_ASSIGN(ScratchFolder scratch, ScratchFolder::make(parent));

  // 3. The reader on each shape of each store, then 4. the real store again.
  for (size_t i = 0; i < prepared.size(); ++i) {
    TRY(run_shapes(prepared[i], i, words, report.executable, scratch.path(), options.timeout_ms, fs));
    TRY(check_unchanged(prepared[i].check, fs));
  }
  report.ok = true;
  for (const auto& p : prepared) {
    report.ok = report.ok && p.check.unchanged;
    for (const auto& run : p.check.runs) report.ok = report.ok && run.ok;
  }
  report.created_at = base::rfc3339_utc(clock.now_ns());
  for (auto& p : prepared) report.stores.push_back(std::move(p.check));
  return report;
}

std::string to_json(const Report& report) {
  json::Document doc;
  auto str = [&](std::string_view s) { return doc.make_string(s); };
  std::vector<json::Node> stores;
  for (const StoreCheck& s : report.stores) {
    std::vector<json::Node> runs;
    for (const ReaderRun& r : s.runs) {
      runs.push_back(doc.make_object({
          {str("shape"), str(r.shape)},
          {str("ok"), json::Node::boolean(r.ok)},
          {str("exit_status"), r.exit_status ? json::Node::i64(*r.exit_status) : json::Node::null()},
          {str("signal"), optional_string(doc, r.signal)},
          {str("timed_out"), json::Node::boolean(r.timed_out)},
          {str("duration_ms"), json::Node::i64(r.duration_ms)},
          {str("stdout_sha256"), str(r.stdout_sha256)},
          {str("stderr_sha256"), str(r.stderr_sha256)},
          {str("stdout_bytes"), json::Node::u64(r.stdout_bytes)},
          {str("stderr_bytes"), json::Node::u64(r.stderr_bytes)},
          {str("stderr_tail"), str(r.stderr_tail)},
          {str("input_sha256_after"), str(r.input_sha256)},
          {str("input_modified"), json::Node::boolean(r.input_modified)},
      }));
    }
    std::vector<json::Node> resets;
    for (const auto& reset : s.destructive_resets) resets.push_back(str(reset));
    stores.push_back(doc.make_object({
        {str("name"), str(s.name)},
        {str("path"), str(s.path)},
        {str("existed"), json::Node::boolean(s.existed)},
        {str("sha256_before"), optional_string(doc, s.sha256_before)},
        {str("sha256_after"), optional_string(doc, s.sha256_after)},
        {str("unchanged"), json::Node::boolean(s.unchanged)},
        {str("pre_sha256"), str(s.pre_sha256)},
        {str("migrated_sha256"), str(s.migrated_sha256)},
        {str("migration_changes"), json::Node::boolean(s.migration_changes)},
        {str("destructive_resets"), doc.make_array(resets)},
        {str("runs"), doc.make_array(runs)},
    }));
  }
  std::vector<json::Node> command;
  for (const auto& w : report.command) command.push_back(str(w));
  json::Node root = doc.make_object({
      {str("format"), str(k_report_format)},
      {str("ok"), json::Node::boolean(report.ok)},
      {str("created_at"), str(report.created_at)},
      {str("reader"), doc.make_object({
                          {str("command"), doc.make_array(command)},
                          {str("executable"), str(report.executable)},
                          {str("sha256"), str(report.executable_sha256)},
                      })},
      {str("timeout_ms"), json::Node::i64(report.timeout_ms)},
      {str("stores"), doc.make_array(stores)},
  });
  return json::to_canonical_string(root);
}

std::vector<std::string> failure_messages(const Report& report) {
  std::vector<std::string> out;
  for (const StoreCheck& s : report.stores) {
    for (const ReaderRun& r : s.runs) {
      if (r.ok) continue;
      std::string msg =
          store_label(s.name, s.path) + ", shape " + r.shape + ": the reader " + describe_end(r, report.timeout_ms);
      if (r.stderr_tail.empty()) {
        msg += "; its stderr was empty";
      } else {
        msg += "; the last lines of its stderr:";
        size_t pos = 0;
        while (pos <= r.stderr_tail.size()) {
          size_t nl = r.stderr_tail.find('\n', pos);
          if (nl == std::string::npos) nl = r.stderr_tail.size();
          msg += "\n    " + r.stderr_tail.substr(pos, nl - pos);
          pos = nl + 1;
        }
      }
      out.push_back(std::move(msg));
    }
    if (!s.unchanged) {
      out.push_back(store_label(s.name, s.path) + ": the real store changed during the check (sha256 " +
                    s.sha256_before.value_or("null (missing)") + " before, " +
                    s.sha256_after.value_or("null (missing)") +
                    " after): something is writing it; stop it and run the check again");
    }
  }
  return out;
}

}  // namespace cutover::expand
