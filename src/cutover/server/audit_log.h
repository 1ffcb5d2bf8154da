// The audit log: JSON lines appended to DIR/audit.jsonl. Each line goes out
// in one write(2) on a file opened with O_APPEND, so lines from several
// threads, or from several servers sharing the folder, never interleave.
// Override events are synced before the API answers; decision events are
// synced in batches (sync() from a background thread, and at shutdown).
//
// This talks to the operating system directly rather than through
// base::FileSystem, which has no append mode.
#pragma once

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>

#include "cutover/base/error.h"
#include "cutover/server/state_backend.h"

namespace cutover::server {

class AuditLog final : public AuditSink {
 public:
  // Opens (creating, mode 0640) the log at `path` for appending.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& path);
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `line` and a newline. With `sync`, the line is on disk when this
  // returns. Thread-safe.
  Status append(std::string_view line, bool sync) override;
  // Makes every appended line durable (fdatasync), if any is not yet.
  Status sync();
  // Syncs and closes the file and opens `path` again (for log rotation: the
  // operator renames the file, then asks for a reopen). On failure the old
  // file stays in use.
  Status reopen();

  const std::string& path() const { return path_; }

 private:
  AuditLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  mutable std::shared_mutex fd_mutex_;  // shared: append and sync; unique: reopen
  int fd_;
  std::string path_;
  std::atomic<bool> dirty_{false};
};

}  // namespace cutover::server
