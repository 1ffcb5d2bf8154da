// The migration manifest (SPEC §3; docs/formats/manifest.md): what a backfill
// did to each store, with the checksums and counts that verify and rollback
// check against. Written in canonical JSON; schema
// `openagents.rust_store_migration.v1`, with extra fields of ours.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/json/document.h"

namespace cutover::manifest {

inline constexpr std::string_view k_schema = "openagents.rust_store_migration.v1";

// A manifest's status: complete manifests live at manifests/<run>.json; an
// in-progress one (<run>.json.in-progress) is on disk while stores are being
// replaced, so a crash leaves enough to roll back.
inline constexpr std::string_view k_status_complete = "complete";
inline constexpr std::string_view k_status_in_progress = "in_progress";
inline constexpr std::string_view k_status_failed_restored = "failed_restored";

struct StoreRecord {
  std::string store;  // store kind, e.g. "auth"
  std::string path;   // absolute path of the store file
  bool existed = false;
  std::optional<std::string> backup_path;    // null when the store did not exist
  std::optional<std::string> before_sha256;  // null likewise
  std::string after_sha256;
  bool changed = false;
  std::map<std::string, uint64_t> counts;
  std::vector<std::string> destructive_resets;  // what --allow-destructive-reset replaced
  std::string spec_source;                      // "built-in" or the spec file
};

struct Manifest {
  std::string schema = std::string(k_schema);
  std::string generated_at;  // RFC 3339 UTC
  std::string run_id;        // the timestamp that names the manifest and backup folder
  std::string status = std::string(k_status_complete);
  std::string canonical_form;  // version of the canonical JSON rules
  std::string tool;            // "cutover <version>"
  std::string work_dir;        // absolute
  std::vector<StoreRecord> stores;
};

// Canonical JSON of the manifest.
std::string to_json(const Manifest& manifest);
// The same document as a node of `doc` (to embed it in another document).
json::Node to_node(json::Document& doc, const Manifest& manifest);

// Parses and checks a manifest. Every problem is listed in the error (not
// just the first), each naming the field, e.g. "stores[1].after_sha256 is
// not 64 lower-case hex characters". Errors are corruption (the file is
// not a usable manifest) naming `source`. A string field or count name over
// 4096 bytes is refused by its length, without quoting it.
Result<Manifest> parse_manifest(std::string_view text, const std::string& source);

// Beside each store a backfill is about to replace:
// `.<store file name>.cutover-run`, holding the absolute path of the run's
// in-progress manifest and a newline. It is written before the in-progress
// manifest and removed when the run completes, is undone by backfill
// itself, or is rolled back, so a backfill from another work folder sees
// that a store is in a run that did not finish (docs/formats/manifest.md).
std::string unfinished_run_marker_path(const std::string& store_path);

}  // namespace cutover::manifest
