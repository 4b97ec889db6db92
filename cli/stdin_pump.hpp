// Forwards our stdin to a running command (`hutch run -i`, `hutch exec -i`) on its own thread,
// so the main thread can keep copying the command's output. At EOF the command's stdin is
// closed; destroying the pump stops it even while our stdin is idle.
#pragma once

#include <hutch/process.hpp>

#include <thread>

namespace hutch::cli {

class StdinPump {
 public:
  explicit StdinPump(Process& process);
  ~StdinPump();
  StdinPump(const StdinPump&) = delete;
  StdinPump& operator=(const StdinPump&) = delete;

 private:
  void pump();

  Process& process_;
  int stop_read_ = -1;
  int stop_write_ = -1;
  std::thread thread_;
};

}  // namespace hutch::cli
