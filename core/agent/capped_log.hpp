// The main command's log, bounded by rotation (agent side). Output is appended to the log;
// once the log holds half the limit, its content is copied over the rotated log (log.1) and
// the log starts again empty. The two together never hold more than the limit plus one write,
// and the newest output is always kept. Readers print log.1, then the log; a follower that
// sees log.1 change reads on there from its offset, then from the start of the log.
#pragma once

#include "unique_fd.hpp"

#include <cstddef>
#include <cstdint>

namespace hutch::agent {

class CappedLog {
 public:
  // `log` must be open for reading and appending, `rotated` for reading and writing (not
  // O_APPEND: copy_file_range refuses that). Output already in `log` counts.
  CappedLog(UniqueFd log, UniqueFd rotated, std::uint64_t limit);

  // Appends everything (a failed write drops the rest: the command must not block on a full
  // disk).
  void append(const char* data, std::size_t size);

 private:
  void rotate();

  UniqueFd log_, rotated_;
  std::uint64_t half_limit_;
  std::uint64_t size_ = 0;
};

}  // namespace hutch::agent
