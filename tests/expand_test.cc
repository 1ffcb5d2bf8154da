// Expand check (issue 17, "Readers of both shapes"): real store files in a
// temporary folder, real reader processes (sh scripts), a clock pinned to one
// second. Also the command splitting and the captured child runs of
// base/process it builds on.
#include "cutover/expand/expand.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/base/process.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/parser.h"
#include "test_util.h"

namespace cutover::expand {
namespace {

using testing::list_names;
using testing::read_text;
using testing::write_text;

class FixedClock final : public base::Clock {
 public:
  int64_t now_ns() override { return int64_t{1700000000} * 1000000000; }
};

// Rejects a store that has the key only the migrated auth shape has.
constexpr const char* k_rejects_migrated =
    "sh -c 'if grep -q personal_access_tokens \"$1\"; then echo \"line one\" >&2; "
    "echo \"unknown field personal_access_tokens\" >&2; exit 3; fi' sh {}";
// Rejects a store that lacks it: only the pre-migration shape.
constexpr const char* k_rejects_pre =
    "sh -c 'grep -q personal_access_tokens \"$1\" || { echo \"missing field personal_access_tokens\" >&2; exit 4; }' "
    "sh {}";

class ExpandTest : public ::testing::Test {
 protected:
  Result<Report> check(const std::string& reader, std::vector<backfill::StoreTarget> stores,
                       int64_t timeout_ms = 20000) {
    CheckOptions options;
    options.reader = reader;
    options.stores = std::move(stores);
    options.timeout_ms = timeout_ms;
    options.scratch_parent = scratch_.path();
    return run_check(options, specs_, base::real_file_system(), clock_);
  }
  std::string store(const std::string& name, const std::string& text) {
    std::string path = dir_.file(name);
    write_text(path, text);
    return path;
  }

  testing::TempDir dir_;
  testing::TempDir scratch_;
  store::SpecRegistry specs_ = store::SpecRegistry::with_builtins();
  FixedClock clock_;
};

TEST(SplitCommand, SplitsLikeAShellWithoutExpanding) {
  auto words = split_command("  reader --file={} 'a b' \"c \\\"d\\\" $HOME\" e\\ f ~ *  ");
  ASSERT_TRUE(words) << words.error().message();
  EXPECT_EQ(*words, (std::vector<std::string>{"reader", "--file={}", "a b", "c \"d\" $HOME", "e f", "~", "*"}));
  auto sh = split_command("sh -c 'reader \"$1\" | tee x' sh {}");
  ASSERT_TRUE(sh);
  EXPECT_EQ(*sh, (std::vector<std::string>{"sh", "-c", "reader \"$1\" | tee x", "sh", "{}"}));
  EXPECT_EQ(*split_command("''"), (std::vector<std::string>{""}));
}

TEST(SplitCommand, RefusesWhatItCannotSplit) {
  for (const char* bad : {"reader 'open", "reader \"open", "reader \\", "", "   "}) {
    auto words = split_command(bad);
    ASSERT_FALSE(words) << bad;
    EXPECT_EQ(words.error().code(), ErrorCode::invalid_argument);
    EXPECT_NE(words.error().message().find("--reader"), std::string::npos);
  }
}

TEST(ReaderArgv, ReplacesEveryBracePairOrAppendsThePath) {
  EXPECT_EQ(reader_argv({"r", "--in={}", "{}"}, "/s/a.json"),
            (std::vector<std::string>{"r", "--in=/s/a.json", "/s/a.json"}));
  EXPECT_EQ(reader_argv({"r", "--check"}, "/s/a.json"), (std::vector<std::string>{"r", "--check", "/s/a.json"}));
}

TEST(FindExecutable, LooksUpPathAndRefusesWhatIsNotThere) {
  auto sh = find_executable("sh", base::real_file_system());
  ASSERT_TRUE(sh) << sh.error().message();
  EXPECT_EQ(sh->front(), '/');
  auto missing = find_executable("no-such-reader-for-cutover", base::real_file_system());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
  EXPECT_NE(missing.error().message().find("no-such-reader-for-cutover"), std::string::npos);
}

TEST(RunCaptured, KeepsOutputAndStatusAndKillsTheGroupAtTheTimeout) {
  base::CaptureOptions options;
  options.timeout_ms = 20000;
  std::string seen;
  options.on_output = [&](int stream, std::string_view chunk) { seen += std::to_string(stream) + std::string(chunk); };
  auto run = base::run_captured({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"}, options);
  ASSERT_TRUE(run) << run.error().message();
  EXPECT_EQ(run->exit_status, 7);
  EXPECT_FALSE(run->timed_out);
  EXPECT_EQ(run->stdout_tail, "out\n");
  EXPECT_EQ(run->stderr_tail, "err\n");
  EXPECT_NE(seen.find("1out"), std::string::npos);

  options.timeout_ms = 200;
  auto hung = base::run_captured({"/bin/sh", "-c", "sleep 1000 & sleep 1000; echo never"}, options);
  ASSERT_TRUE(hung) << hung.error().message();
  EXPECT_TRUE(hung->timed_out);
  EXPECT_FALSE(hung->exit_status);
  EXPECT_EQ(hung->signal, SIGKILL);
  EXPECT_EQ(hung->stdout_tail, "");

  options.tail_bytes = 10;
  auto big = base::run_captured(
      {"/bin/sh", "-c", "printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0123456789'"}, options);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->stdout_tail, "0123456789");
  EXPECT_EQ(big->stdout_bytes, 60u);

  auto missing = base::run_captured({"/no/such/program"}, options);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("/no/such/program"), std::string::npos);
}

// Whether the process `pid` ends: its pidfd becomes readable when it does
// (ESRCH: it is gone already). The bound only keeps a broken build from
// hanging the suite; a process the group kill missed sleeps for 1000 s.
bool process_ends(int pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return errno == ESRCH;
  struct pollfd pfd {
    static_cast<int>(fd), POLLIN, 0
  };
  int ready = ::poll(&pfd, 1, 60000);
  ::close(static_cast<int>(fd));
  return ready == 1;
}

TEST(RunCaptured, KillsWhatTheProgramLeftInItsGroup) {
  testing::TempDir dir;
  base::CaptureOptions options;
  options.timeout_ms = 300;
  // Timed out, with a background process holding no pipe of ours.
  auto hung = base::run_captured(
      {"/bin/sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $! >" + dir.file("bg1") + "; sleep 1000"}, options);
  ASSERT_TRUE(hung) << hung.error().message();
  EXPECT_TRUE(hung->timed_out);
  EXPECT_TRUE(process_ends(std::stoi(read_text(dir.file("bg1")))));
  // Exited at once, leaving a background process behind.
  options.timeout_ms = 20000;
  auto left = base::run_captured(
      {"/bin/sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $! >" + dir.file("bg2") + "; exit 0"}, options);
  ASSERT_TRUE(left) << left.error().message();
  EXPECT_EQ(left->exit_status, 0);
  EXPECT_TRUE(process_ends(std::stoi(read_text(dir.file("bg2")))));
}

TEST_F(ExpandTest, AReaderOfBothShapesPasses) {
  std::string auth = store("auth.json", "{\"sessions\": {\"s1\": {}}}\n");
  std::string before = read_text(auth);
  auto report = check("sh -c 'test -s \"$1\"' sh {}", {{"auth", auth}});
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_TRUE(report->ok);
  ASSERT_EQ(report->stores.size(), 1u);
  const StoreCheck& s = report->stores[0];
  EXPECT_EQ(s.name, "auth");
  EXPECT_EQ(s.path, auth);
  EXPECT_TRUE(s.existed);
  EXPECT_EQ(s.sha256_before, hash::sha256_hex(before));
  EXPECT_EQ(s.sha256_after, s.sha256_before);
  EXPECT_EQ(s.pre_sha256, hash::sha256_hex(before));
  EXPECT_NE(s.migrated_sha256, s.pre_sha256);
  ASSERT_EQ(s.runs.size(), 2u);
  EXPECT_EQ(s.runs[0].shape, "pre");
  EXPECT_EQ(s.runs[1].shape, "migrated");
  for (const auto& r : s.runs) {
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.exit_status, 0);
    EXPECT_FALSE(r.signal);
    EXPECT_EQ(r.stderr_sha256, hash::sha256_hex(""));
  }
  EXPECT_EQ(report->created_at, "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(read_text(auth), before);
  EXPECT_TRUE(list_names(scratch_.path()).empty()) << "the scratch folder is removed";
  EXPECT_TRUE(failure_messages(*report).empty());

  auto doc = json::parse(to_json(*report));
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->root().find("format")->as_string(), "cutover.expand_report.v1");
}

TEST_F(ExpandTest, TheMigratedShapeIsWhatBackfillWrites) {
  std::string text = "{\"users_by_id\": {\"u1\": {\"id\": 1}}, \"zeta\": [1.50, 2]}";
  std::string auth = store("auth.json", text);
  std::string log = dir_.file("seen.log");
  auto report = check("sh -c 'cat \"$1\" >> \"$2\"' sh {} " + log, {{"auth", auth}});
  ASSERT_TRUE(report) << report.error().message();
  ASSERT_TRUE(report->ok);
  std::string seen = read_text(log);
  ASSERT_EQ(seen.substr(0, text.size()), text) << "the pre shape is the store's bytes";
  std::string migrated = seen.substr(text.size());
  EXPECT_EQ(hash::sha256_hex(migrated), report->stores[0].migrated_sha256);

  // Backfill itself, on the same store: the bytes it writes are the migrated shape.
  backfill::BackfillOptions options;
  options.stores = {{"auth", auth}};
  options.work_dir = dir_.file("work");
  auto result = backfill::run_backfill(options, specs_, base::real_file_system(), clock_);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(read_text(auth), migrated);
}

TEST_F(ExpandTest, AReaderThatRejectsOnlyTheMigratedShapeFailsNamingIt) {
  std::string auth = store("auth.json", "{\"sessions\": {}}");
  auto report = check(k_rejects_migrated, {{"auth", auth}});
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_FALSE(report->ok);
  const auto& runs = report->stores[0].runs;
  EXPECT_TRUE(runs[0].ok);
  EXPECT_FALSE(runs[1].ok);
  EXPECT_EQ(runs[1].exit_status, 3);
  EXPECT_EQ(runs[1].stderr_tail, "line one\nunknown field personal_access_tokens");
  auto messages = failure_messages(*report);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("store auth (" + auth + "), shape migrated"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("exited with status 3"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("unknown field personal_access_tokens"), std::string::npos) << messages[0];
}

TEST_F(ExpandTest, AReaderThatRejectsOnlyThePreShapeFailsNamingIt) {
  std::string auth = store("auth.json", "{\"sessions\": {}}");
  auto report = check(k_rejects_pre, {{"auth", auth}});
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_FALSE(report->ok);
  EXPECT_FALSE(report->stores[0].runs[0].ok);
  EXPECT_TRUE(report->stores[0].runs[1].ok);
  auto messages = failure_messages(*report);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("shape pre: the reader exited with status 4"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("missing field personal_access_tokens"), std::string::npos) << messages[0];
}

TEST_F(ExpandTest, AHangingReaderIsKilledAtTheTimeout) {
  std::string auth = store("auth.json", "{}");
  auto report = check("sh -c 'sleep 1000' sh", {{"auth", auth}}, 300);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_FALSE(report->ok);
  for (const auto& r : report->stores[0].runs) {
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.signal, "SIGKILL");
    EXPECT_FALSE(r.exit_status);
  }
  auto messages = failure_messages(*report);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_NE(messages[0].find("did not finish within the timeout (300 ms)"), std::string::npos) << messages[0];
  EXPECT_TRUE(list_names(scratch_.path()).empty());
}

TEST_F(ExpandTest, AReaderThatWritesItsInputCannotChangeTheRealStore) {
  std::string auth = store("auth.json", "{\"sessions\": {\"s\": {}}}");
  std::string before = read_text(auth);
  auto report = check("sh -c 'echo garbage > \"$1\"; rm -f \"$1.x\"' sh {}", {{"auth", auth}});
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_TRUE(report->ok);
  const StoreCheck& s = report->stores[0];
  EXPECT_EQ(s.sha256_before, hash::sha256_hex(before));
  EXPECT_EQ(s.sha256_after, hash::sha256_hex(before));
  EXPECT_TRUE(s.unchanged);
  for (const auto& r : s.runs) {
    EXPECT_TRUE(r.input_modified);
    EXPECT_EQ(r.input_sha256, hash::sha256_hex("garbage\n"));
  }
  EXPECT_EQ(read_text(auth), before);
}

TEST_F(ExpandTest, AStoreChangedDuringTheCheckFailsIt) {
  std::string auth = store("auth.json", "{}");
  // This reader knows the real path (as a misconfigured release might) and writes it.
  auto report = check("sh -c 'echo \"{\\\"x\\\":1}\" > \"$2\"' sh {} " + auth, {{"auth", auth}});
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_FALSE(report->ok);
  EXPECT_FALSE(report->stores[0].unchanged);
  EXPECT_NE(report->stores[0].sha256_after, report->stores[0].sha256_before);
  auto messages = failure_messages(*report);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("the real store changed during the check"), std::string::npos);
}

TEST_F(ExpandTest, AMissingStoreIsTestedAsAnEmptyObjectAndItsMigratedForm) {
  std::string missing = dir_.file("nowhere/auth.json");
  std::string log = dir_.file("seen.log");
  auto report = check("sh -c 'cat \"$1\" >> \"$2\"; echo >> \"$2\"' sh {} " + log, {{"auth", missing}});
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_TRUE(report->ok);
  const StoreCheck& s = report->stores[0];
  EXPECT_FALSE(s.existed);
  EXPECT_FALSE(s.sha256_before);
  EXPECT_FALSE(s.sha256_after);
  EXPECT_TRUE(s.unchanged);
  EXPECT_EQ(s.pre_sha256, hash::sha256_hex("{}"));
  auto migrated = backfill::migrated_form(std::nullopt, **specs_.find("auth"), false, "auth");
  ASSERT_TRUE(migrated);
  EXPECT_EQ(s.migrated_sha256, hash::sha256_hex(migrated->bytes));
  EXPECT_EQ(read_text(log), "{}\n" + migrated->bytes + "\n");
  EXPECT_FALSE(testing::path_exists(dir_.file("nowhere"))) << "nothing is created where the store would be";
}

TEST_F(ExpandTest, RefusesBeforeRunningAnything) {
  std::string log = dir_.file("ran.log");
  std::string reader = "sh -c 'echo ran >> \"$2\"' sh {} " + log;
  std::string bad = store("bad.json", "{not json");
  std::string good = store("auth.json", "{}");
  auto invalid = check(reader, {{"auth", good}, {"domain", bad}});
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(invalid.error().message().find("store domain (" + bad + "): not valid JSON"), std::string::npos);
  auto unknown = check(reader, {{"nosuch", good}});
  ASSERT_FALSE(unknown);
  auto no_reader = check("no-such-reader-for-cutover {}", {{"auth", good}});
  ASSERT_FALSE(no_reader);
  EXPECT_EQ(no_reader.error().code(), ErrorCode::not_found);
  auto none = check(reader, {});
  ASSERT_FALSE(none);
  EXPECT_FALSE(testing::path_exists(log)) << "no reader ran";
  EXPECT_TRUE(list_names(scratch_.path()).empty());
}

}  // namespace
}  // namespace cutover::expand
