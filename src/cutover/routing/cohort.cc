#include "cutover/routing/cohort.h"

#include <string>

#include "cutover/hash/sha256.h"

namespace cutover::routing {

CohortBucket cohort_bucket(std::string_view salt, std::string_view key) {
  static constexpr char k_base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // One hasher per thread: Sha256 resets itself in finish(), and keeping it
  // saves an allocation per decision.
  thread_local hash::Sha256 hasher;
  thread_local std::string message;
  message.assign(salt);
  message.push_back(':');
  message.append(key);
  hasher.update(message);  // one update: the hash's per-call overhead is most of the cost
  hash::Digest d = hasher.finish();
  const unsigned sextets[4] = {
      static_cast<unsigned>(d[0] >> 2),
      static_cast<unsigned>(((d[0] & 0x03) << 4) | (d[1] >> 4)),
      static_cast<unsigned>(((d[1] & 0x0F) << 2) | (d[2] >> 6)),
      static_cast<unsigned>(d[2] & 0x3F),
  };
  uint32_t v = 0;
  for (unsigned s : sextets) v = v * 131u + static_cast<unsigned char>(k_base64url[s]);
  return static_cast<CohortBucket>(v % 100u);
}

}  // namespace cutover::routing
