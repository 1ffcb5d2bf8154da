// Where several commands find the same inputs, in one place: the phase
// ledger (a file or PostgreSQL) and the control server with its operator
// token (flags first, then the environment).
#pragma once

#include <cstdint>
#include <string>

#include "cutover/base/error.h"
#include "cutover/gates/ledger.h"
#include "cutover/http/control_client.h"

namespace cutover::cli {

// --ledger is a file, or postgresql://... for the ledger in PostgreSQL
// (state/pg_ledger.h: the same lines and chain, one row a line).
bool is_pg_ledger(const std::string& ledger);

// Messages and reports print --ledger: a password must not be in it.
// Errors: invalid_argument for a URL that is not usable or holds a password.
Status check_pg_ledger_url(const std::string& url);

// Reads an existing ledger (gates::read_existing_ledger for a file); a
// PostgreSQL ledger without a record is not_found, saying how to start one.
Result<gates::Ledger> read_ledger_at(const std::string& ledger);

// The value of an environment variable, "" when unset.
std::string env(const char* name);
// `s` without leading and trailing white space (newlines included).
std::string trim(std::string s);

// The control server and bearer token: `server`, else the CUTOVER_SERVER
// setting (cli/settings.h: environment, then cutover.conf); the token from
// `token_file`, else the CUTOVER_TOKEN setting (the token itself). Errors:
// invalid_argument naming the flag or variable to set, or the token file
// that cannot be read or holds no token.
Result<http::ControlEndpoint> operator_endpoint(const std::string& server, const std::string& token_file,
                                                int64_t timeout_ms);

}  // namespace cutover::cli
