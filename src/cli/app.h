// The command line: a thin front end over the library. Each command lives in
// its own file and returns an exit code; errors become messages and exit codes
// in one place (output.h).
#pragma once

namespace cutover::cli {

int run(int argc, char** argv);

}  // namespace cutover::cli
