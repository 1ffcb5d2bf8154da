// The tool's name and version, as manifests, ledgers and --version print it.
#pragma once

#include <string_view>

namespace cutover::base {

inline constexpr std::string_view k_tool_version = "cutover 0.1.0";

}  // namespace cutover::base
