#include "cutover/manifest/manifest_file.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include <unistd.h>

#include "cutover/hash/sha256.h"

namespace cutover::manifest {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_plain_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

std::string run_id_from_file_name(std::string name) {
  for (std::string_view suffix : {".json.in-progress", ".json.failed", ".json"}) {
    if (ends_with(name, suffix)) return name.substr(0, name.size() - suffix.size());
  }
  return name;
}

// A plain path's problem in words, or "".
std::string plain_path_problem(const std::string& path) {
  if (path.empty() || path.front() != '/') return "is not an absolute path";
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + start, end - start);
    if (part == "..") return "contains a '..' component";
    if (part == "." || (part.empty() && path.size() > 1))
      return "is not a normalised path ('.' or '//' or a trailing '/')";
    start = end + 1;
  }
  return "";
}

std::string octal_mode(uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

// Why `path` (a folder of the work folder, or the manifest) lets someone
// other than this user or root change it; "" when it does not.
std::string ownership_problem(const std::string& path, const base::FileInfo& info) {
  auto uid = static_cast<uint32_t>(::geteuid());
  std::string why;
  if ((info.mode & 022) != 0) {
    why = (info.mode & 022) == 022 ? "group- and world-writable"
          : (info.mode & 020) != 0 ? "group-writable"
                                   : "world-writable";
    why += " (mode " + octal_mode(info.mode) + ")";
  }
  if (info.uid != uid && info.uid != 0) {
    why += std::string(why.empty() ? "" : " and ") + "owned by uid " + std::to_string(info.uid) +
           ", another user than this one (uid " + std::to_string(uid) + ") and not root";
  }
  if (why.empty()) return "";
  return path + " is " + why +
         ": someone else could plant a manifest or a backup there. Make it yours and writable "
         "only by you (chown, chmod go-w), after checking that nothing in it was changed";
}

}  // namespace

std::vector<std::string> trust_problems(base::FileSystem& fs, const ManifestFile& file) {
  std::vector<std::string> problems;
  auto real_manifest = fs.real_path(file.path);
  if (!real_manifest) return {"manifest " + file.path + " cannot be resolved: " + real_manifest.error().message()};
  std::string holder = base::parent_directory(*real_manifest);
  auto real_work = fs.real_path(file.work_dir);
  if (!real_work) {
    problems.push_back("work_dir " + file.work_dir + " cannot be resolved: " + real_work.error().message());
  } else if (base::file_name(holder) != "manifests" || base::parent_directory(holder) != *real_work) {
    problems.push_back("work_dir " + file.work_dir +
                       (*real_work != file.work_dir ? " (resolved: " + *real_work + ")" : "") +
                       " is not the folder that holds this manifest's folder " + holder +
                       ": a manifest is trusted only in WORK/manifests/ of the work folder it names (a copy "
                       "elsewhere could point a restore at backups it does not own). Use the manifest in " +
                       base::join_path(file.work_dir, "manifests") + "/");
  }
  std::vector<std::string> paths;
  if (real_work) {
    paths = {*real_work, base::join_path(*real_work, "manifests"), base::join_path(*real_work, "backups")};
  }
  if (holder != base::join_path(real_work ? *real_work : "", "manifests")) paths.push_back(holder);
  paths.push_back(*real_manifest);
  for (const auto& path : paths) {
    auto info = fs.stat(path);
    if (!info) {
      problems.push_back(info.error().message());
    } else if (info->exists) {
      if (std::string p = ownership_problem(path, *info); !p.empty()) problems.push_back(p);
    }
  }
  return problems;
}

Status check_trusted(base::FileSystem& fs, const ManifestFile& file, const std::string& refusal) {
  std::vector<std::string> problems = trust_problems(fs, file);
  if (problems.empty()) return {};
  std::string message = refusal + ": manifest " + file.path + " is not trusted:";
  for (const auto& p : problems) message += "\n  " + p;
  return make_error(ErrorCode::conflict, message);
}

bool is_plain_absolute_path(const std::string& path) { return plain_path_problem(path).empty(); }

Result<ManifestFile> load_manifest_file(base::FileSystem& fs, const std::string& path) {
  ManifestFile out;
  out.path = base::absolute_path(path);
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(out.path), "manifest");
  out.sha256 = hash::sha256_hex(bytes.view());
  auto parsed = parse_manifest(bytes.view(), out.path);
  if (!parsed) return make_error(ErrorCode::invalid_argument, parsed.error().message());
  out.manifest = std::move(*parsed);

  std::vector<std::string> problems;
  out.work_dir = out.manifest.work_dir;
  if (out.work_dir.empty()) {
    out.work_dir = base::parent_directory(base::parent_directory(out.path));
  } else if (std::string p = plain_path_problem(out.work_dir); !p.empty()) {
    problems.push_back("work_dir " + out.work_dir + " " + p);
  }
  out.run_id = out.manifest.run_id.empty() ? run_id_from_file_name(base::file_name(out.path)) : out.manifest.run_id;
  if (!is_plain_name(out.run_id)) {
    problems.push_back("run_id '" + out.run_id + "' is not a plain name (letters, digits, '_', '-', '.')");
  }
  for (size_t i = 0; i < out.manifest.stores.size(); ++i) {
    const auto& s = out.manifest.stores[i];
    if (!is_plain_name(s.store)) {
      problems.push_back("stores[" + std::to_string(i) + "].store '" + s.store + "' is not a plain name");
    }
  }
  if (!problems.empty()) {
    std::string message = "manifest " + out.path + " is not usable: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return make_error(ErrorCode::invalid_argument, message);
  }
  return out;
}

std::vector<std::string> store_path_problems(base::FileSystem& fs, const StoreRecord& store) {
  std::vector<std::string> problems;
  if (std::string p = plain_path_problem(store.path); !p.empty()) {
    problems.push_back("store path " + store.path + " " + p + "; refusing to write there");
    return problems;
  }
  auto info = fs.stat(store.path);
  if (!info) {
    problems.push_back(info.error().message());
  } else if (info->is_symlink) {
    problems.push_back("store path " + store.path +
                       " is a symbolic link; rollback does not write through links (backfill never records one). "
                       "Check who replaced the store with a link");
  } else if (info->exists && !info->is_regular) {
    problems.push_back("store path " + store.path + " is not a regular file");
  }
  return problems;
}

std::vector<std::string> backup_path_problems(base::FileSystem& fs, const ManifestFile& file,
                                              const StoreRecord& store) {
  std::vector<std::string> problems;
  if (!store.backup_path) return problems;
  const std::string& backup = *store.backup_path;
  std::string root = base::join_path(file.work_dir, "backups");
  if (std::string p = plain_path_problem(backup); !p.empty()) {
    problems.push_back("backup path " + backup + " " + p);
    return problems;
  }
  if (backup.compare(0, root.size() + 1, root + "/") != 0) {
    problems.push_back("backup path " + backup + " is outside " + root + "/, the backups of this work folder");
    return problems;
  }
  auto info = fs.stat(backup);
  if (!info) {
    problems.push_back(info.error().message());
  } else if (info->is_symlink) {
    problems.push_back("backup path " + backup + " is a symbolic link; backups are plain files");
  } else if (info->exists && !info->is_regular) {
    problems.push_back("backup path " + backup +
                       " is not a regular file (a FIFO, socket, device or folder); "
                       "backups are plain files");
  } else if (info->exists) {
    // Resolve symlinked folders: the backup must still be inside the backups folder.
    auto real_backup = fs.real_path(backup);
    auto real_root = fs.real_path(root);
    if (real_backup && real_root && real_backup->compare(0, real_root->size() + 1, *real_root + "/") != 0) {
      problems.push_back("backup path " + backup + " resolves to " + *real_backup + ", outside " + *real_root);
    }
  }
  return problems;
}

std::string run_backup_dir(const ManifestFile& file) {
  return base::join_path(base::join_path(file.work_dir, "backups"), file.run_id);
}

}  // namespace cutover::manifest
