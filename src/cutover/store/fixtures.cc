#include "cutover/store/fixtures.h"

#include "cutover_store_embedded.h"

namespace cutover::store {

std::vector<std::pair<std::string, std::string_view>> builtin_fixtures() {
  return {
      {"auth", embedded::k_auth_fixture},
      {"codex_threads", embedded::k_codex_threads_fixture},
      {"domain", embedded::k_domain_fixture},
  };
}

std::string_view builtin_fixtures_baseline() { return embedded::k_fixtures_baseline; }

}  // namespace cutover::store
