// The reference fixtures (SPEC §8), compiled into the binary so the drill
// runs anywhere: one small store per built-in kind.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cutover::store {

// (store kind, file bytes) for auth, codex_threads and domain.
std::vector<std::pair<std::string, std::string_view>> builtin_fixtures();

// A baseline file (docs/formats/baseline.md, environment "fixtures") holding
// the counts SPEC §8 says the fixtures give, exactly.
std::string_view builtin_fixtures_baseline();

}  // namespace cutover::store
