// Count baselines (SPEC §4; docs/formats/baseline.md): what an environment
// expects of each store's counts after a migration. Per environment, per store
// kind and count key, a bound: an exact value, a min, a max (min and max may
// be combined), or an allowed change against a previous manifest, absolute
// (max_change) and/or in percent (max_change_percent).
//
//   {"schema": "cutover.baseline.v1",
//    "environments": {
//      "production": {
//        "previous_manifest": "prod/manifests/20261120T000000Z.json",
//        "stores": {"auth": {"users": {"min": 1000}, "sessions": {"max_change_percent": 10}}}}}}
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/manifest/manifest.h"
#include "cutover/store/store_spec.h"

namespace cutover::verify {

inline constexpr std::string_view k_baseline_schema = "cutover.baseline.v1";

struct Bound {
  std::optional<uint64_t> exact;
  std::optional<uint64_t> min;
  std::optional<uint64_t> max;
  std::optional<uint64_t> max_change;        // |value - previous| <= max_change
  std::optional<double> max_change_percent;  // |value - previous| <= previous * p / 100

  bool needs_previous() const { return max_change.has_value() || max_change_percent.has_value(); }
};

// The bound in words, e.g. "min 5, max 10" or "max_change 3 (of previous 40)".
std::string describe(const Bound& bound);

// One bound that a value breaks, e.g. {"min 5", "3 is below min 5"}.
struct BoundViolation {
  std::string bound;    // "exact 5", "min 5", "max 5", "max_change 3", "max_change_percent 10"
  std::string message;  // the value and the bound in words
};

// Every part of `bound` that `value` breaks. REQUIRES: `previous` is set when
// bound.needs_previous(). A change in percent from a previous value of 0 is
// allowed only when there is no change.
std::vector<BoundViolation> check_bound(const Bound& bound, uint64_t value, std::optional<uint64_t> previous);

struct EnvironmentBaseline {
  std::string name;
  // The manifest a change is measured against, resolved against the
  // baseline file's folder; --previous overrides it.
  std::optional<std::string> previous_manifest;
  // store kind -> count key -> bound
  std::map<std::string, std::map<std::string, Bound>> stores;

  bool needs_previous() const;
};

struct Baseline {
  std::string source;  // the file, for messages
  std::map<std::string, EnvironmentBaseline> environments;
};

// Parses and checks a baseline document. Errors are invalid_argument naming
// `source` and the field, listing every problem.
Result<Baseline> parse_baseline(std::string_view text, const std::string& source);

// The environment called `name`, or the only one when `name` is empty.
// Errors: invalid_argument naming the environments there are.
Result<const EnvironmentBaseline*> select_environment(const Baseline& baseline, std::string_view name);

// A baseline (canonical JSON, one environment called `environment`) that the
// manifest's own counts meet exactly: per store kind and count name the
// manifest uses, {"exact": n}, or {"min": lowest, "max": highest} when the
// manifest holds several stores of one kind whose counts differ (verify
// checks every store of a kind against the kind's bounds). `description`
// says where it came from. REQUIRES: is_valid_environment_name(environment).
std::string baseline_from_manifest(const manifest::Manifest& manifest, std::string_view environment,
                                   std::string_view description);

// A starter baseline for `cutover init`: one environment, every count of
// every kind in `specs` bounded by {"min": 0} (holds for any counts), to be
// replaced with `cutover baseline --from MANIFEST` after a verified run.
std::string starter_baseline(const store::SpecRegistry& specs, std::string_view environment);

// 1-128 bytes: what parse_baseline accepts as an environment's name.
bool is_valid_environment_name(std::string_view name);

}  // namespace cutover::verify
