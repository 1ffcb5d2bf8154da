#include "cli/durations.h"

namespace cutover::cli {

Result<int64_t> parse_duration(const std::string& text, const std::string& flag) {
  std::string digits = text;
  int64_t scale = 1000;
  if (digits.size() > 2 && digits.compare(digits.size() - 2, 2, "ms") == 0) {
    digits.resize(digits.size() - 2);
    scale = 1;
  } else if (!digits.empty() && digits.back() == 's') {
    digits.pop_back();
  }
  // At most 9 digits: the milliseconds stay far inside int64_t.
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos ||
      std::stoll(digits) * scale < 1) {
    return make_error(ErrorCode::invalid_argument,
                      flag + " '" + text + "' is not a duration (e.g. 2s, 500ms, or whole seconds)");
  }
  return std::stoll(digits) * scale;
}

}  // namespace cutover::cli
