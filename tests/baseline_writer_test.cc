// The baselines cutover writes (`cutover baseline --from`, `cutover init`)
// read back with the baseline parser, and hold for the counts they came from.
#include <gtest/gtest.h>

#include <string>

#include "cutover/manifest/manifest.h"
#include "cutover/store/store_spec.h"
#include "cutover/verify/baseline.h"

namespace cutover::verify {
namespace {

manifest::StoreRecord store(const std::string& kind, const std::string& path, std::map<std::string, uint64_t> counts) {
  manifest::StoreRecord r;
  r.store = kind;
  r.path = path;
  r.counts = std::move(counts);
  return r;
}

TEST(BaselineWriter, ExactCountsReadBackAndHold) {
  manifest::Manifest m;
  m.stores.push_back(store("auth", "/s/auth.json", {{"users", 3}, {"sessions", 0}}));
  m.stores.push_back(store("domain", "/s/domain.json", {{"shouts", 7}}));
  auto parsed = parse_baseline(baseline_from_manifest(m, "staging", "from a test"), "generated");
  ASSERT_TRUE(parsed) << parsed.error().message();
  auto env = select_environment(*parsed, "");
  ASSERT_TRUE(env);
  EXPECT_EQ("staging", (*env)->name);
  ASSERT_EQ(2u, (*env)->stores.size());
  const Bound& users = (*env)->stores.at("auth").at("users");
  EXPECT_EQ(uint64_t{3}, users.exact.value_or(99));
  EXPECT_FALSE(users.min || users.max || users.needs_previous());
  EXPECT_EQ(uint64_t{0}, (*env)->stores.at("auth").at("sessions").exact.value_or(99));
  EXPECT_EQ(uint64_t{7}, (*env)->stores.at("domain").at("shouts").exact.value_or(99));
  for (const auto& s : m.stores) {
    for (const auto& [name, value] : s.counts) {
      EXPECT_TRUE(check_bound((*env)->stores.at(s.store).at(name), value, std::nullopt).empty()) << name;
      EXPECT_FALSE(check_bound((*env)->stores.at(s.store).at(name), value + 1, std::nullopt).empty()) << name;
    }
  }
}

TEST(BaselineWriter, StoresOfOneKindWithDifferentCountsGetARange) {
  manifest::Manifest m;
  m.stores.push_back(store("auth", "/a/auth.json", {{"users", 3}, {"sessions", 2}}));
  m.stores.push_back(store("auth", "/b/auth.json", {{"users", 9}, {"sessions", 2}}));
  auto parsed = parse_baseline(baseline_from_manifest(m, "prod", ""), "generated");
  ASSERT_TRUE(parsed) << parsed.error().message();
  const auto& auth = parsed->environments.at("prod").stores.at("auth");
  EXPECT_EQ(uint64_t{3}, auth.at("users").min.value_or(99));
  EXPECT_EQ(uint64_t{9}, auth.at("users").max.value_or(99));
  EXPECT_FALSE(auth.at("users").exact);
  EXPECT_EQ(uint64_t{2}, auth.at("sessions").exact.value_or(99));
}

TEST(BaselineWriter, StarterNamesEveryBuiltInCountWithMinZero) {
  auto specs = store::SpecRegistry::with_builtins();
  auto parsed = parse_baseline(starter_baseline(specs, "production"), "starter");
  ASSERT_TRUE(parsed) << parsed.error().message();
  const auto& stores = parsed->environments.at("production").stores;
  for (const std::string& kind : specs.names()) {
    auto spec = specs.find(kind);
    ASSERT_TRUE(spec);
    ASSERT_EQ((*spec)->counts.size(), stores.at(kind).size()) << kind;
    for (const auto& rule : (*spec)->counts) {
      EXPECT_EQ(uint64_t{0}, stores.at(kind).at(rule.name).min.value_or(99)) << kind << "." << rule.name;
    }
  }
}

}  // namespace
}  // namespace cutover::verify
