#include "cli/store_args.h"

#include <cstdlib>
#include <utility>

namespace cutover::cli {
namespace {

// The reference wrapper's environment variables, used when no --store is given.
const std::pair<const char*, const char*> k_store_env[] = {
    {"auth", "AUTH_STORE_PATH"},
    {"codex_threads", "CODEX_THREAD_STORE_PATH"},
    {"domain", "DOMAIN_STORE_PATH"},
};

}  // namespace

Result<std::vector<backfill::StoreTarget>> store_targets(const std::vector<std::string>& flags) {
  std::vector<backfill::StoreTarget> stores;
  for (const auto& s : flags) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) {
      return make_error(ErrorCode::invalid_argument,
                        "--store '" + s + "' must be NAME=PATH, e.g. --store auth=/data/auth.json");
    }
    stores.push_back({s.substr(0, eq), s.substr(eq + 1)});
  }
  if (stores.empty()) {
    for (const auto& [kind, var] : k_store_env) {
      const char* value = std::getenv(var);
      if (value != nullptr && *value != '\0') stores.push_back({kind, value});
    }
  }
  return stores;
}

}  // namespace cutover::cli
