#include "cli/output.h"

#include "cutover/json/writer.h"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include <unistd.h>

namespace cutover::cli {

namespace {

bool g_json_errors = false;
uint64_t g_stdout_bytes = 0;

// Passes text on to another stream buffer, C0 control characters other than
// newline and tab written as \xNN.
class ControlEscapingBuffer final : public std::streambuf {
 public:
  ControlEscapingBuffer(std::streambuf* target, uint64_t* written) : target_(target), written_(written) {}

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    char c = traits_type::to_char_type(ch);
    return xsputn(&c, 1) == 1 ? ch : traits_type::eof();
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (written_ != nullptr) *written_ += static_cast<uint64_t>(n);
    std::streamsize start = 0;
    for (std::streamsize i = 0; i < n; ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 || c == '\n' || c == '\t') continue;
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      if (target_->sputn(s + start, i - start) != i - start || target_->sputn(escaped, 4) != 4) return start;
      start = i + 1;
    }
    if (target_->sputn(s + start, n - start) != n - start) return start;
    return n;
  }

  int sync() override { return target_->pubsync(); }

 private:
  std::streambuf* target_;
  uint64_t* written_;  // counts what passes, or null
};

}  // namespace

ControlCharacterGuard::ControlCharacterGuard()
    : out_(new ControlEscapingBuffer(std::cout.rdbuf(), &g_stdout_bytes)),
      err_(new ControlEscapingBuffer(std::cerr.rdbuf(), nullptr)),
      original_out_(std::cout.rdbuf(out_.get())),
      original_err_(std::cerr.rdbuf(err_.get())) {}

ControlCharacterGuard::~ControlCharacterGuard() {
  std::cout.flush();
  std::cerr.flush();
  std::cout.rdbuf(original_out_);
  std::cerr.rdbuf(original_err_);
}

void write_terminal_control(std::string_view control) {
  std::cerr.flush();
  std::fwrite(control.data(), 1, control.size(), stderr);
  std::fflush(stderr);
}

int exit_code_for(const Error& error) {
  switch (error.code()) {
    case ErrorCode::invalid_argument:
    case ErrorCode::not_found:
      return k_exit_usage;
    case ErrorCode::corruption:
    case ErrorCode::conflict:
      return k_exit_failed;
    case ErrorCode::io_error:
    case ErrorCode::permission_denied:
      return k_exit_io;
  }
  return k_exit_failed;
}

uint64_t stdout_bytes_written() { return g_stdout_bytes; }

void set_json_errors(bool on) { g_json_errors = on; }
bool json_errors() { return g_json_errors; }

bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--json") return true;
  }
  return false;
}

void report_error_json(std::string_view code, std::string_view message) {
  if (!g_json_errors || g_stdout_bytes != 0) return;
  json::Writer w;
  w.begin_object().key("ok").boolean(false).key("error").begin_object();
  w.member("code", code).member("message", message);
  w.end_object().end_object();
  std::cout << w.take() << "\n";
  std::cout.flush();
}

int report_error(std::string_view command, const Error& error) {
  std::cerr << "cutover " << command << ": error: " << error.message() << "\n";
  report_error_json(error_code_name(error.code()), error.message());
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

void print_json(const std::function<void(json::Writer&)>& write_value) {
  json::Writer w = json::Writer::canonical();
  write_value(w);
  std::cout << w.take() << "\n";
}

}  // namespace cutover::cli
