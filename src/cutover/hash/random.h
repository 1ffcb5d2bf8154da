// Random bytes from OpenSSL's CSPRNG, for secrets such as bearer tokens
// (OpenSSL stays inside this module).
#pragma once

#include <cstddef>
#include <string>

#include "cutover/base/error.h"

namespace cutover::hash {

// `bytes` random bytes as lower-case hex (2 × bytes characters). Error
// (io_error) when OpenSSL cannot seed its generator: never a weaker secret.
Result<std::string> random_hex(std::size_t bytes);

}  // namespace cutover::hash
