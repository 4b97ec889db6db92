// libFuzzer target: a streamed command's client messages (server/STREAMS.md), as the service
// decodes them. The input is the client's messages (fake_exchange.hpp's split_messages): the
// first is read as the request (read_stream_request), the rest are applied by read_client to a
// real command (`cat` in the fake backend's sandbox), as routes_streams.cpp and an attachment
// (routes_processes.cpp) do; the command's output goes out through write_output.
#include "fake_exchange.hpp"
#include "fuzz_service.hpp"
#include "stream_protocol.hpp"

#include <hutch/error.hpp>
#include <hutch/handle.hpp>

#include <cstddef>
#include <cstdint>
#include <thread>

using namespace hutch;

// The service and its sandbox are made before the first input, outside the fuzzer's leak checks.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::sandbox_id();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input = fuzz::prepare_input(std::string(reinterpret_cast<const char*>(data), size));
  fuzz::FakeWebSocket socket(fuzz::split_messages(input));
  try {
    (void)server::read_stream_request(socket);
  } catch (const Error&) {
    // A bad request is answered with an error message; the rest still goes to a command.
  }
  const server::Caller operator_caller{"local", std::nullopt};
  std::shared_ptr<Handle> sandbox = fuzz::service().find(operator_caller, fuzz::sandbox_id()).handle;
  ExecRequest cat;
  cat.argv = {"cat"};
  cat.timeout = std::chrono::seconds(2);
  std::unique_ptr<Process> process = sandbox->spawn(cat);
  // The output is read as the stream's pump reads it, into a client that stays.
  fuzz::FakeWebSocket output({{false, ""}});
  std::thread pump([&] {
    while (auto chunk = process->read_output()) server::write_output(output, *chunk);
  });
  server::read_client(socket, *process);
  process->kill(9);
  (void)server::stream_exit_message(process->wait());
  pump.join();
  return 0;
}
