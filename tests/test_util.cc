#include "test_util.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cutover/hash/sha256.h"
#include "cutover/json/writer.h"
#include "cutover/store/fixtures.h"

namespace cutover::testing {

json::Document object_of(std::initializer_list<std::pair<std::string_view, std::string_view>> members) {
  json::Writer w = json::Writer::document();
  w.begin_object();
  for (const auto& [k, v] : members) w.member(k, v);
  w.end_object();
  return w.take_document();
}

// The tests must not depend on the caller's umask: verify and rollback
// refuse a manifest in a group- or world-writable folder, which a test's
// own files would be under umask 002.
[[maybe_unused]] const mode_t k_previous_umask = ::umask(022);

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/cutover-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> list_names(const std::string& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

FileStamp file_stamp(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  return FileStamp{static_cast<uint64_t>(st.st_ino),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void write_expand_evidence(const std::string& dir, const std::string& created_at, gates::GateInputs& in) {
  ::mkdir(dir.c_str(), 0755);
  std::string routes = dir + "/routes.json";
  std::string config = "{\"legacy_base_url\": \"http://127.0.0.1:9\", \"rust_base_url\": \"http://127.0.0.1:9\"}\n";
  write_text(routes, config);
  std::string groups;
  for (const char* g : {"auth_entry", "account_settings_admin", "billing_l402", "chat_pilot"}) {
    if (!groups.empty()) groups += ", ";
    groups += std::string("{\"group\": \"") + g + "\", \"ok\": true, \"checks\": []}";
  }
  write_text(dir + "/routes-report.json",
             "{\"format\": \"cutover.routes_report.v1\", \"ok\": true, \"created_at\": \"" + created_at +
                 "\", \"config\": {\"path\": \"" + routes + "\", \"sha256\": \"" + hash::sha256_hex(config) +
                 "\"}, \"health_path\": \"/healthz\", \"timeout_ms\": 2000, \"groups\": [" + groups +
                 "], \"pins\": []}\n");
  std::string run = "\"ok\": true, \"exit_status\": 0, \"signal\": null, \"timed_out\": false, \"duration_ms\": 1";
  write_text(dir + "/expand-report.json",
             "{\"format\": \"cutover.expand_report.v1\", \"ok\": true, \"created_at\": \"" + created_at +
                 "\", \"timeout_ms\": 60000, \"stores\": [{\"name\": \"auth\", \"path\": \"" + dir +
                 "/none.json\", \"existed\": false, \"sha256_before\": null, \"sha256_after\": null, \"runs\": ["
                 "{\"shape\": \"pre\", " +
                 run + "}, {\"shape\": \"migrated\", " + run + "}]}]}\n");
  in.routes_path = routes;
  in.routes_report_path = dir + "/routes-report.json";
  in.expand_report_path = dir + "/expand-report.json";
}

backfill::BackfillOptions FixtureStoresTest::options() const {
  backfill::BackfillOptions o;
  for (const auto& kind : kinds_) o.stores.push_back(backfill::StoreTarget{kind, store_path(kind)});
  o.work_dir = work_dir_;
  return o;
}

void FixtureStoresTest::SetUp() {
  stores_dir_ = tmp_.file("stores");
  work_dir_ = tmp_.file("work");
  ASSERT_EQ(::mkdir(stores_dir_.c_str(), 0755), 0);
  for (const auto& [kind, bytes] : store::builtin_fixtures()) {
    fixture_[std::string(kind)] = std::string(bytes);
    kinds_.push_back(std::string(kind));
    write_text(store_path(std::string(kind)), std::string(bytes));
  }
}

std::string token_line(const char* role, const char* name, const char* token) {
  return std::string(role) + " " + name + " sha256:" + hash::sha256_hex(token) + "\n";
}

}  // namespace cutover::testing
