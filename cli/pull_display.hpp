// How `hutch pull` shows a pull on stderr: on a terminal, one line per layer (its status, the
// bytes so far of its size and the rate) redrawn in place; otherwise one plain line each time
// a layer's status changes, never a line per chunk, so logs stay short.
#pragma once

#include <hutch/types.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace hutch::cli {

class PullDisplay {
 public:
  PullDisplay(std::string image, std::FILE* out, bool terminal);
  void operator()(const PullProgress& event);

 private:
  struct Row {
    std::string layer;
    std::string status;
    std::uint64_t current = 0;
    std::uint64_t total = 0;
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point updated;  // the last event: a finished layer's rate stays put
  };
  std::string format(const Row& row) const;
  void redraw();

  std::string image_;
  std::FILE* out_;
  bool terminal_;
  std::vector<Row> rows_;
  std::size_t drawn_ = 0;  // lines drawn last time (terminal), to move the cursor back over
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace hutch::cli
