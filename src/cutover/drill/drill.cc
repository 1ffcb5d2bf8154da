#include "cutover/drill/drill.h"

#include <algorithm>

#include "cutover/base/version.h"
#include "cutover/gates/ledger.h"
#include "cutover/hash/file_hash.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest_file.h"

namespace cutover::drill {
namespace {

constexpr size_t k_copy_chunk = size_t{1} << 20;

// Copies `from` to the new file `to` (created exclusively, with `from`'s
// permission bits from the first byte: a backup of a secret store stays
// secret), fsynced.
Status copy_file(base::FileSystem& fs, const std::string& from, const std::string& to) {
  TRY_ASSIGN(auto in, fs.open_file(from));
  TRY_ASSIGN(base::FileInfo from_info, fs.stat(from));
  TRY_ASSIGN(auto out, fs.create_new_file(to, from_info.mode & 0777));
  std::string buf(k_copy_chunk, '\0');
  for (;;) {
    auto n = in->read(buf.data(), buf.size());
    if (!n) {
      (void)out->close();
      return tl::unexpected(n.error());
    }
    if (*n == 0) break;
    if (auto st = out->append(std::string_view(buf.data(), *n)); !st) {
      (void)out->close();
      return st;
    }
  }
  TRY(out->sync());
  return out->close();
}

Status prepare_scratch(base::FileSystem& fs, const std::string& dir) {
  return base::prepare_empty_folder(fs, dir, "scratch folder " + dir,
                                    "the drill restores only into an empty or new folder (so it can never overwrite "
                                    "anything): give a new --scratch folder",
                                    /*allow_symlink=*/false);
}

// The group's override in a status `data` object, or nullopt for none.
std::optional<std::string> group_override(const json::Node& status, const std::string& group) {
  const json::Node* overrides = status.find("domain_overrides");
  if (overrides == nullptr) return std::nullopt;
  const json::Node* v = overrides->find(group);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::string show(const std::optional<std::string>& v) { return v ? *v : "none"; }

void restore_stores(const manifest::ManifestFile& file, const DrillOptions& options, base::FileSystem& fs,
                    DrillReport& report) {
  size_t restored = 0;
  size_t failed = 0;
  size_t index = 0;
  for (const auto& rec : file.manifest.stores) {
    ++index;
    RestoredStore r;
    r.store = rec.store;
    r.store_path = rec.path;
    r.existed = rec.existed;
    r.backup_path = rec.backup_path;
    r.before_sha256 = rec.before_sha256;
    if (!rec.existed) {
      r.ok = true;
      r.detail = "created by the migration: rolling back removes it, no backup needed";
      report.stores.push_back(std::move(r));
      continue;
    }
    auto fail = [&](std::string why) {
      r.ok = false;
      r.detail = std::move(why);
      ++failed;
      report.stores.push_back(r);
    };
    if (!rec.backup_path || !rec.before_sha256) {
      fail("the manifest names no backup or before_sha256 for a store that existed");
      continue;
    }
    if (auto problems = manifest::backup_path_problems(fs, file, rec); !problems.empty()) {
      fail("backup " + *rec.backup_path + " is not usable: " + json::join_problems(problems));
      continue;
    }
    std::string name = std::to_string(index) + "-" + rec.store + ".restored.json";
    std::string target = base::join_path(options.scratch_dir, name);
    if (base::absolute_path(target) == base::absolute_path(rec.path)) {
      fail("the scratch copy would be the live store " + rec.path + " (refused)");
      continue;
    }
    if (auto st = copy_file(fs, *rec.backup_path, target); !st) {
      fail("cannot restore backup " + *rec.backup_path + " into " + target + ": " + st.error().message());
      continue;
    }
    r.restored_path = target;
    auto digest = hash::hash_file(fs, target);
    if (!digest) {
      fail("cannot read the restored copy " + target + " back: " + digest.error().message());
      if (!options.keep_restored) (void)fs.remove(target);
      continue;
    }
    r.restored_sha256 = digest->sha256;
    r.restored_size = digest->size;
    if (digest->sha256 != *rec.before_sha256) {
      fail("the restored copy hashes to " + digest->sha256 + ", not before_sha256 " + *rec.before_sha256 +
           " (the backup is not the before-state)");
    } else {
      r.ok = true;
      r.detail = "restored from " + *rec.backup_path + " and hashes to before_sha256";
      ++restored;
      report.stores.push_back(r);
    }
    if (!options.keep_restored) (void)fs.remove(target);
  }
  DrillStep step{"store_restore", failed == 0, ""};
  step.detail = failed == 0 ? std::to_string(restored) + " backup(s) restored into " + options.scratch_dir +
                                  " hash to before_sha256" + (options.keep_restored ? "" : " (copies removed)")
                            : std::to_string(failed) + " of " + std::to_string(file.manifest.stores.size()) +
                                  " store(s) could not be restored from their backups";
  report.steps.push_back(std::move(step));
}

void drill_route(const std::string& group, const DrillOptions& options, RouteControl& control, DrillReport& report) {
  auto status = control.status();
  if (!status) {
    report.steps.push_back(
        {"route_status", false, "cannot read the control server's status: " + status.error().message()});
    return;
  }
  const json::Node* groups = status->root().find("route_groups");
  const json::Node* entry = nullptr;
  std::string known;
  if (groups != nullptr && groups->is_array()) {
    for (size_t i = 0; i < groups->size(); ++i) {
      const json::Node& g = groups->elements()[i];
      known += (known.empty() ? "" : ", ") + std::string(json::string_at(g, "domain"));
      if (json::string_at(g, "domain") == group) entry = &g;
    }
  }
  if (entry == nullptr) {
    report.steps.push_back(
        {"route_status", false, "the control server has no route group '" + group + "' (its groups: " + known + ")"});
    return;
  }
  report.rollback_target = json::string_at(*entry, "rollback_target");
  report.previous_override = group_override(status->root(), group);
  if (!options.path.empty()) {
    report.evaluated_path = options.path;
  } else if (const json::Node* prefixes = entry->find("route_prefixes"); prefixes != nullptr && prefixes->is_array() &&
                                                                         prefixes->size() > 0 &&
                                                                         prefixes->elements()[0].is_string()) {
    report.evaluated_path = prefixes->elements()[0].as_string();
  }
  if (report.rollback_target.empty() || report.evaluated_path.empty()) {
    report.steps.push_back(
        {"route_status", false, "the server's entry for group '" + group + "' has no rollback_target or route prefix"});
    return;
  }
  report.steps.push_back({"route_status", true,
                          "group " + group + ": rollback target " + report.rollback_target +
                              ", override before the drill: " + show(report.previous_override)});

  // Apply the rollback, check a decision, and always put the previous state back.
  auto applied = control.set_group_override(group, "rollback");
  if (!applied) {
    report.steps.push_back({"route_rollback", false, "the server refused the rollback: " + applied.error().message()});
  } else {
    auto now = group_override(applied->root(), group);
    bool ok = now == report.rollback_target;
    report.steps.push_back(
        {"route_rollback", ok,
         ok ? "override of " + group + " set to its rollback target " + report.rollback_target
            : "after the rollback the server shows the override " + show(now) + ", not " + report.rollback_target});
    auto decision = control.evaluate(report.evaluated_path);
    if (!decision) {
      report.steps.push_back(
          {"route_decision", false, "cannot evaluate " + report.evaluated_path + ": " + decision.error().message()});
    } else {
      report.decision = std::move(*decision);
      std::string target(json::string_at(report.decision.root(), "target"));
      std::string domain(json::string_at(report.decision.root(), "route_domain"));
      std::string reason(json::string_at(report.decision.root(), "reason"));
      bool good = target == report.rollback_target && domain == group && reason == "domain_override";
      report.steps.push_back({"route_decision", good,
                              good ? report.evaluated_path + " -> " + target + " (" + reason + ")"
                                   : report.evaluated_path + " -> " + target + " (reason " + reason + ", group " +
                                         domain + "), expected " + report.rollback_target +
                                         " by domain_override in group " + group});
    }
  }
  std::string back = report.previous_override ? *report.previous_override : "clear";
  auto restored = control.set_group_override(group, back);
  auto after = restored ? control.status() : restored;
  if (!after) {
    report.steps.push_back({"route_restore", false,
                            "could not put the override of " + group + " back to " + show(report.previous_override) +
                                ": " + after.error().message() + "; set it by hand now (POST .../override)"});
    return;
  }
  report.override_after = group_override(after->root(), group);
  bool ok = report.override_after == report.previous_override;
  report.steps.push_back({"route_restore", ok,
                          ok ? "override of " + group + " is back to " + show(report.previous_override)
                             : "the override of " + group + " is " + show(report.override_after) + ", not " +
                                   show(report.previous_override) + " as before the drill; set it by hand now"});
}

}  // namespace

bool DrillReport::ok() const {
  if (steps.empty()) return false;
  return std::all_of(steps.begin(), steps.end(), [](const DrillStep& s) { return s.ok; });
}

Result<DrillReport> run_drill(const DrillOptions& options, RouteControl& control, base::FileSystem& fs,
                              base::Clock& clock) {
  TRY_ASSIGN(std::string group, gates::normalize_group(options.group));
  TRY_ASSIGN(manifest::ManifestFile file, manifest::load_manifest_file(fs, options.manifest_path));
  TRY(prepare_scratch(fs, options.scratch_dir));

  DrillReport report;
  report.started_at = base::rfc3339_utc(clock.now_ns());
  report.tool = std::string(base::k_tool_version);
  report.group = group;
  report.release_train = options.release_train.empty() ? file.run_id : options.release_train;
  report.server = control.describe();
  report.manifest_path = file.path;
  report.manifest_sha256 = file.sha256;
  report.run_id = file.run_id;
  report.scratch_dir = base::absolute_path(options.scratch_dir);

  restore_stores(file, options, fs, report);
  drill_route(group, options, control, report);
  report.finished_at = base::rfc3339_utc(clock.now_ns());
  return report;
}

void DrillReport::write_json(json::Writer& w) const {
  w.begin_object().member("schema", schema).member("ok", ok()).member("started_at", started_at);
  w.member("finished_at", finished_at).member("tool", tool).member("group", group);
  w.member("release_train", release_train).member("server", server);
  w.key("manifest").begin_object().member("path", manifest_path).member("sha256", manifest_sha256);
  w.member("run_id", run_id).end_object();
  w.key("store_restore").begin_object().member("scratch_dir", scratch_dir).key("stores").begin_array();
  for (const auto& s : stores) {
    w.begin_object().member("store", s.store).member("store_path", s.store_path).member("existed", s.existed);
    w.member_optional("backup_path", s.backup_path).member_optional("before_sha256", s.before_sha256);
    w.member_optional("restored_path", s.restored_path).member_optional("restored_sha256", s.restored_sha256);
    w.member_optional("restored_size", s.restored_size).member("ok", s.ok).member("detail", s.detail);
    w.end_object();
  }
  w.end_array().end_object();
  w.key("route_rollback").begin_object().member("path", evaluated_path).member("rollback_target", rollback_target);
  w.member_optional("previous_override", previous_override).member("decision", decision.root());
  w.member_optional("override_after", override_after).end_object();
  w.key("steps").begin_array();
  for (const auto& s : steps)
    w.begin_object().member("name", s.name).member("ok", s.ok).member("detail", s.detail).end_object();
  w.end_array().end_object();
}

std::vector<std::string> human_lines(const DrillReport& report) {
  std::vector<std::string> lines;
  for (const auto& s : report.stores) {
    lines.push_back(std::string(s.ok ? "ok" : "error") + ": [" + s.store + "] " + s.detail);
  }
  for (const auto& s : report.steps)
    lines.push_back(std::string(s.ok ? "ok" : "error") + ": " + s.name + ": " + s.detail);
  lines.push_back(std::string("drill: ") + (report.ok() ? "PASSED" : "FAILED") + " (group " + report.group +
                  ", release train " + report.release_train + ", manifest " + report.manifest_path + ")");
  return lines;
}

}  // namespace cutover::drill
