// RemoteProcess: a command streamed over the service's WebSocket (server/STREAMS.md), as a
// hutch::Process. Binary frames are its output, the `exit` message its result; stdin, signals
// and resizes go the other way as frames and messages. What the Process contract makes a
// state error (stdin after close, resize without a terminal) is refused here, without asking.
#pragma once

#include "service_client.hpp"

#include <hutch/process.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

namespace hutch::remote {

class RemoteProcess final : public Process {
 public:
  // Sends the request and waits for the service to say the command started; the service's
  // error (sandbox stopped, unsupported tty, ...) is thrown as its Errc.
  RemoteProcess(std::unique_ptr<CommandSocket> socket, const ExecRequest& request);
  ~RemoteProcess() override;

  std::optional<OutputChunk> read_output() override;
  void write_stdin(std::string_view data) override;
  void close_stdin() override;
  ExecResult wait() override;
  void kill(int signal) override;
  void resize(std::uint16_t cols, std::uint16_t rows) override;

 private:
  // Writes a control message; an ended stream is not an error for these.
  void send_control(const std::string& message, bool ignore_gone);

  std::unique_ptr<CommandSocket> socket_;
  std::uint64_t output_limit_;
  bool tty_;
  bool stdin_open_;
  std::mutex stdin_mutex_;
  std::atomic<bool> ended_{false};
  std::optional<ExecResult> result_;
};

}  // namespace hutch::remote
