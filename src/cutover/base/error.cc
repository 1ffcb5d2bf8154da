#include "cutover/base/error.h"

namespace cutover {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::corruption:
      return "corruption";
    case ErrorCode::conflict:
      return "conflict";
    case ErrorCode::io_error:
      return "io_error";
    case ErrorCode::permission_denied:
      return "permission_denied";
  }
  return "unknown";
}

Error Error::with_context(std::string_view context) const& {
  return Error(code_, std::string(context) + ": " + message_);
}

Error Error::with_context(std::string_view context) && {
  message_.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

}  // namespace cutover
