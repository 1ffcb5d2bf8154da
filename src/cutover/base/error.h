// Errors travel as values: Result<T> is either a T or an Error. No exceptions
// cross a module boundary. The CLI turns an Error into a message and an exit
// code in one place (cli/exit_codes.h); the server will map codes to HTTP.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace cutover {

enum class ErrorCode {
  invalid_argument,   // bad input from the operator: flags, specs, JSON
  not_found,          // a file or entry that must exist does not
  corruption,         // data on disk does not match what it claims to be
  conflict,           // another run holds the lock, or state has drifted
  io_error,           // the operating system refused a read or write
  permission_denied,  // the operating system refused access
};

std::string_view error_code_name(ErrorCode code);

// An error: a code and a lower-case message that names the file or field.
class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns this error with "context: " put in front of the message.
  Error with_context(std::string_view context) const&;
  Error with_context(std::string_view context) &&;

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> make_error(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error(code, std::move(message)));
}
inline Status ok_status() { return {}; }

}  // namespace cutover

#define CUTOVER_CONCAT_INNER(a, b) a##b
#define CUTOVER_CONCAT(a, b) CUTOVER_CONCAT_INNER(a, b)

// TRY(expr): evaluates a Status; returns its error from the calling function.
#define TRY(expr)                                                                              \
  do {                                                                                         \
    auto&& try_result_ = (expr);                                                               \
    if (!try_result_) return tl::unexpected<::cutover::Error>(std::move(try_result_).error()); \
  } while (false)

// TRY_ASSIGN(lhs, expr): evaluates a Result<T>; on success moves the value
// into lhs (a declaration like `auto x` or an existing variable).
#define TRY_ASSIGN(lhs, expr) TRY_ASSIGN_IMPL(CUTOVER_CONCAT(try_result_, __LINE__), lhs, expr)
#define TRY_ASSIGN_IMPL(tmp, lhs, expr)                                      \
  auto tmp = (expr);                                                         \
  if (!tmp) return tl::unexpected<::cutover::Error>(std::move(tmp).error()); \
  lhs = std::move(*tmp)

// TRY_CTX(expr, context): like TRY, but puts "context: " in front of the
// error's message. context (anything convertible to std::string_view, e.g. a
// std::string built with +) is evaluated only when expr failed.
#define TRY_CTX(expr, context)                                                                                       \
  do {                                                                                                               \
    auto&& try_result_ = (expr);                                                                                     \
    if (!try_result_) return tl::unexpected<::cutover::Error>(std::move(try_result_).error().with_context(context)); \
  } while (false)

// TRY_ASSIGN_CTX(lhs, expr, context): TRY_ASSIGN with TRY_CTX's context.
#define TRY_ASSIGN_CTX(lhs, expr, context) \
  TRY_ASSIGN_CTX_IMPL(CUTOVER_CONCAT(try_result_, __LINE__), lhs, expr, context)
#define TRY_ASSIGN_CTX_IMPL(tmp, lhs, expr, context)                                               \
  auto tmp = (expr);                                                                               \
  if (!tmp) return tl::unexpected<::cutover::Error>(std::move(tmp).error().with_context(context)); \
  lhs = std::move(*tmp)
