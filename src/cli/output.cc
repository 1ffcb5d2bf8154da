#include "cli/output.h"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include <unistd.h>

namespace cutover::cli {

int exit_code_for(const Error& error) {
  switch (error.code()) {
    case ErrorCode::invalid_argument:
    case ErrorCode::not_found: return k_exit_usage;
    case ErrorCode::corruption:
    case ErrorCode::conflict: return k_exit_failed;
    case ErrorCode::io_error:
    case ErrorCode::permission_denied: return k_exit_io;
  }
  return k_exit_failed;
}

int report_error(std::string_view command, const Error& error) {
  std::cerr << "cutover " << command << ": error: " << error.message() << "\n";
  return exit_code_for(error);
}

Result<base::Buffer> read_input(const std::string& path) {
  if (!path.empty() && path != "-") return base::real_file_system().read_file(path);
  std::string data;
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorCode::io_error, std::string("cannot read standard input: ") + std::strerror(errno));
    }
    if (n == 0) break;
    data.append(chunk, static_cast<size_t>(n));
  }
  base::Buffer buffer(data.size());
  if (!data.empty()) std::memcpy(buffer.data(), data.data(), data.size());
  return buffer;
}

}  // namespace cutover::cli
