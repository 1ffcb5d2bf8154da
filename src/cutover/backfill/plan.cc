#include "cutover/backfill/plan.h"

#include <optional>
#include <utility>

#include "cutover/json/parser.h"

namespace cutover::backfill {
namespace {

Result<StorePlan> plan_store(const StoreTarget& target, const store::SpecRegistry& specs, base::FileSystem& fs,
                             bool allow_destructive_reset) {
  std::string label = "[" + target.kind + "] " + target.path;
  TRY_ASSIGN_CTX(const store::StoreSpec* spec, specs.find(target.kind), label);
  StorePlan plan;
  plan.kind = target.kind;
  plan.path = base::absolute_path(target.path);
  TRY_ASSIGN_CTX(base::FileInfo info, fs.stat(plan.path), label);
  plan.exists = info.exists;
  std::optional<base::Buffer> bytes;
  if (info.exists) {
    TRY_ASSIGN_CTX(bytes, fs.read_file(plan.path), label);
    plan.bytes_before = bytes->size();
  }
  std::optional<std::string_view> current;
  if (bytes) current = bytes->view();
  TRY_ASSIGN(MigratedForm form, migrated_form(current, *spec, allow_destructive_reset, label));
  plan.changed = form.changed;
  plan.bytes_after = form.bytes.size();
  plan.counts_after = std::move(form.counts);
  plan.destructive_resets = std::move(form.destructive_resets);
  // Before: the store's own counts (migrated_form accepted it, so it parses).
  auto doc = json::parse(current.value_or("{}"));
  if (doc && doc->root().is_object()) plan.counts_before = store::count_all(doc->root(), *spec);
  for (const auto& [name, value] : plan.counts_after) plan.counts_before.try_emplace(name, 0);
  return plan;
}

}  // namespace

Result<std::vector<StorePlan>> plan_backfill(const BackfillOptions& options, const store::SpecRegistry& specs,
                                             base::FileSystem& fs) {
  if (options.stores.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "no store to plan: pass --store NAME=PATH, or set AUTH_STORE_PATH, CODEX_THREAD_STORE_PATH or "
                      "DOMAIN_STORE_PATH");
  }
  std::vector<StorePlan> plans;
  std::string refusals;
  std::optional<ErrorCode> code;
  for (const auto& target : options.stores) {
    auto plan = plan_store(target, specs, fs, options.allow_destructive_reset);
    if (plan) {
      plans.push_back(std::move(*plan));
      continue;
    }
    // The operating system's refusal wins over invalid input: it is not the operator's to fix in the store.
    if (!code || plan.error().code() != ErrorCode::invalid_argument) code = plan.error().code();
    refusals += "\n  " + plan.error().message();
  }
  if (code) return make_error(*code, "backfill would refuse, nothing was planned:" + refusals);
  return plans;
}

}  // namespace cutover::backfill
