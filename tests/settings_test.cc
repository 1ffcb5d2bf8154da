// The cutover.conf parser and the flag > environment > file > default rule
// (base/settings.h; docs/formats/cutover-conf.md).
#include "cutover/base/settings.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::base {
namespace {

TEST(SettingsFile, ReadsKeysValuesCommentsAndQuotes) {
  auto file = parse_settings_file(
      "# defaults\n"
      "\n"
      "  CUTOVER_LEDGER = /srv/ledger.jsonl  \n"
      "CUTOVER_SERVER=\"http://127.0.0.1:8787\"\n"
      "\t# indented comment\n"
      "CUTOVER_TRUST='a.pub, b.pub'\n"
      "CUTOVER_WORK_DIR=/srv/work#not a comment\r\n"
      "CUTOVER_THRESHOLD=",
      "/w/cutover.conf");
  ASSERT_TRUE(file) << file.error().message();
  EXPECT_EQ("/w/cutover.conf", file->path);
  ASSERT_EQ(5u, file->entries.size());
  EXPECT_EQ("/srv/ledger.jsonl", file->entries.at("CUTOVER_LEDGER").value);
  EXPECT_EQ(3u, file->entries.at("CUTOVER_LEDGER").line);
  EXPECT_EQ("http://127.0.0.1:8787", file->entries.at("CUTOVER_SERVER").value);
  EXPECT_EQ("a.pub, b.pub", file->entries.at("CUTOVER_TRUST").value);
  EXPECT_EQ("/srv/work#not a comment", file->entries.at("CUTOVER_WORK_DIR").value);
  EXPECT_EQ("", file->entries.at("CUTOVER_THRESHOLD").value);
  EXPECT_EQ(8u, file->entries.at("CUTOVER_THRESHOLD").line);
}

TEST(SettingsFile, EmptyTextIsNoSettings) {
  auto file = parse_settings_file("", "c.conf");
  ASSERT_TRUE(file);
  EXPECT_TRUE(file->entries.empty());
}

TEST(SettingsFile, RefusesEveryBadLineNamingFileLineAndKey) {
  struct Case {
    const char* text;
    const char* message;  // a part of the error
  };
  const Case cases[] = {
      {"CUTOVER_LEGDER=x\n", "c.conf:1: unknown key 'CUTOVER_LEGDER'; did you mean CUTOVER_LEDGER?"},
      {"\nledger=x\n", "c.conf:2: unknown key 'ledger'; did you mean CUTOVER_LEDGER?"},
      {"work-dir=x\n", "c.conf:1: unknown key 'work-dir'; did you mean CUTOVER_WORK_DIR?"},
      {"PATH=/bin\n", "c.conf:1: unknown key 'PATH' (the keys are CUTOVER_WORK_DIR, CUTOVER_LEDGER"},
      {"just words\n", "c.conf:1: expected KEY=VALUE"},
      {"CUTOVER_SERVER=a\nCUTOVER_SERVER=b\n", "c.conf:2: CUTOVER_SERVER is set again (first on line 1)"},
      {"cutover_ledger=x\n", "did you mean CUTOVER_LEDGER?"},  // keys are exact: upper case
  };
  for (const Case& c : cases) {
    auto file = parse_settings_file(c.text, "c.conf");
    ASSERT_FALSE(file) << c.text;
    EXPECT_EQ(ErrorCode::invalid_argument, file.error().code());
    EXPECT_NE(std::string::npos, file.error().message().find(c.message)) << file.error().message();
    EXPECT_EQ(0u, file.error().message().find("settings file c.conf is not usable: ")) << file.error().message();
  }
  // Every problem at once.
  auto file = parse_settings_file("a\nCUTOVER_LEGDER=1\n", "c.conf");
  ASSERT_FALSE(file);
  EXPECT_NE(std::string::npos, file.error().message().find("c.conf:1:"));
  EXPECT_NE(std::string::npos, file.error().message().find("c.conf:2:"));
}

TEST(SettingsResolve, FlagWinsOverEnvironmentOverFileOverDefault) {
  auto file = parse_settings_file("CUTOVER_THRESHOLD=2\n", "/w/cutover.conf");
  ASSERT_TRUE(file);
  Setting s = resolve_setting("CUTOVER_THRESHOLD", "--threshold", "4", "CUTOVER_THRESHOLD", "3", *file, "1");
  EXPECT_EQ("4", s.value);
  EXPECT_EQ(SettingSource::flag, s.source);
  EXPECT_EQ("--threshold", s.origin);
  s = resolve_setting("CUTOVER_THRESHOLD", "--threshold", "", "CUTOVER_THRESHOLD", "3", *file, "1");
  EXPECT_EQ("3", s.value);
  EXPECT_EQ("env", setting_source_name(s.source));
  EXPECT_EQ("CUTOVER_THRESHOLD", s.origin);
  s = resolve_setting("CUTOVER_THRESHOLD", "--threshold", "", "CUTOVER_THRESHOLD", "", *file, "1");
  EXPECT_EQ("2", s.value) << "an empty variable is not set";
  EXPECT_EQ("file", setting_source_name(s.source));
  EXPECT_EQ("/w/cutover.conf:1", s.origin);
  SettingsFile none;
  s = resolve_setting("CUTOVER_THRESHOLD", "--threshold", "", "CUTOVER_THRESHOLD", nullptr, none, "1");
  EXPECT_EQ("1", s.value);
  EXPECT_EQ(SettingSource::default_value, s.source);
  EXPECT_TRUE(s.is_set());
  s = resolve_setting("CUTOVER_LEDGER", "--ledger", "", "CUTOVER_LEDGER", nullptr, none);
  EXPECT_FALSE(s.is_set());
  EXPECT_EQ("", s.value);
  EXPECT_EQ("unset", setting_source_name(s.source));
}

TEST(SettingsResolve, AnEmptyFileValueIsNotSet) {
  auto file = parse_settings_file("CUTOVER_LEDGER=\n", "c.conf");
  ASSERT_TRUE(file);
  EXPECT_FALSE(resolve_setting("CUTOVER_LEDGER", "--ledger", "", "CUTOVER_LEDGER", nullptr, *file).is_set());
}

TEST(SettingsDefs, EveryNameIsFoundAndOnlyTheTokenIsSecret) {
  for (const SettingDef& d : k_settings) {
    EXPECT_EQ(d.name, setting_def(d.name).name);
    EXPECT_EQ(d.name == "CUTOVER_TOKEN", d.secret) << d.name;
  }
}

}  // namespace
}  // namespace cutover::base
