#include "cli/sources.h"

#include "cli/settings.h"

#include <cstdlib>

#include "cutover/base/file_system.h"
#include "cutover/state/pg.h"
#include "cutover/state/pg_ledger.h"

namespace cutover::cli {

bool is_pg_ledger(const std::string& ledger) {
  return ledger.starts_with("postgresql://") || ledger.starts_with("postgres://");
}

Status check_pg_ledger_url(const std::string& url) {
  TRY(state::check_url(url));
  if (state::redact_url(url) != url) {
    return make_error(ErrorCode::invalid_argument,
                      "--ledger " + state::redact_url(url) +
                          " holds a password, which would be printed with the ledger's name: put it in ~/.pgpass "
                          "or PGPASSWORD");
  }
  return {};
}

Result<gates::Ledger> read_ledger_at(const std::string& ledger) {
  if (!is_pg_ledger(ledger)) return gates::read_existing_ledger(base::real_file_system(), ledger);
  TRY(check_pg_ledger_url(ledger));
  TRY_ASSIGN(auto conn, state::Connection::connect(ledger));
  TRY_ASSIGN(gates::Ledger read, state::read_pg_ledger(*conn));
  if (!read.exists) {
    return make_error(ErrorCode::not_found, "ledger " + ledger +
                                                " has no record yet: start it with `gate advance GROUP expand "
                                                "--new-ledger`");
  }
  return read;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t start = s.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : s.substr(start);
}

Result<http::ControlEndpoint> operator_endpoint(const std::string& server, const std::string& token_file,
                                                int64_t timeout_ms) {
  http::ControlEndpoint endpoint;
  endpoint.timeout_ms = timeout_ms;
  TRY_ASSIGN(endpoint.base_url, setting_value("CUTOVER_SERVER", server));
  if (endpoint.base_url.empty()) {
    return tl::unexpected(missing_setting("CUTOVER_SERVER", "server", "URL (e.g. http://127.0.0.1:8787)"));
  }
  if (!token_file.empty()) {
    TRY_ASSIGN_CTX(auto bytes, base::real_file_system().read_file(token_file),
                   "cannot read --token-file " + token_file);
    endpoint.token = trim(std::string(bytes.view()));
    if (endpoint.token.empty()) {
      return make_error(ErrorCode::invalid_argument, "--token-file " + token_file + " holds no token");
    }
  } else {
    TRY_ASSIGN(std::string token, setting_value("CUTOVER_TOKEN", ""));
    endpoint.token = trim(token);
    if (endpoint.token.empty()) {
      return tl::unexpected(missing_setting("CUTOVER_TOKEN", "token", "F (a file holding it)"));
    }
  }
  return endpoint;
}

}  // namespace cutover::cli
