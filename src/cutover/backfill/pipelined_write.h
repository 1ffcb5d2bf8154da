// Writing a store's new bytes while they are produced: backfill's step 3b.
#pragma once

#include <functional>
#include <string>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/base/progress.h"

namespace cutover::json {
class ChunkSink;
}  // namespace cutover::json

namespace cutover::backfill {

// Runs `produce` with a sink that hands each chunk to a second thread,
// which hashes it and appends it to `file`, so producing (this thread)
// overlaps hashing and the copy into the file. `share` is spent by half of
// each chunk written (BackfillOptions::progress), and the rest of it once
// everything is written. Returns the SHA-256 (hex)
// of everything written, or the first append error (after which the sink
// refuses more chunks). Does not sync or close `file`.
Result<std::string> write_pipelined(base::WritableFile& file, base::ProgressShare share,
                                    const std::function<void(json::ChunkSink&)>& produce);

}  // namespace cutover::backfill
