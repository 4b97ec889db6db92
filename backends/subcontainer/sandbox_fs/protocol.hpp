// The wire between the host (client.hpp) and the fs helper (server.hpp), over a Unix stream
// socketpair. Both ends are built from this tree and run on one machine: integers travel in
// host byte order.
//
// A frame is a u32 body length and the body. The helper first sends a hello reply (ok, or the
// error that kept it from serving), then answers each request with exactly one reply:
//   request: u8 Op, then the op's arguments (below)
//   reply:   u8 0 (ok) and the op's result, or u8 1 (error), u8 hutch::Errc, string message
// Strings are a u32 length and the bytes. For open_read and open_write the opened file comes
// with the reply as an SCM_RIGHTS file descriptor, and the host moves the data itself; so does
// the socket of connect_tcp, made in the sandbox's network namespace (server.hpp).
#pragma once

#include "agent/unique_fd.hpp"

#include <hutch/error.hpp>
#include <hutch/fs.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hutch::subcontainer::fs_wire {

enum class Op : std::uint8_t {
  open_read = 1,  // path                          -> (fd)
  open_write,     // path, u32 mode                -> (fd)
  mkdir,          // path, u8 parents, u32 mode    -> nothing
  list,           // path                          -> u32 count, count x (name, stat)
  stat,           // path                          -> stat
  remove,         // path, u8 recursive            -> nothing
  rename,         // from, to                      -> nothing
  symlink,        // target, path                  -> nothing
  connect_tcp,    // u32 port                      -> (fd: a socket connected to the sandbox's loopback)
};

enum class Status : std::uint8_t { ok = 0, error = 1 };

// Bodies larger than this are refused by the receiver (a listing of a few hundred thousand
// entries still fits).
inline constexpr std::uint32_t kMaxFrame = 64u << 20;

// A body that does not parse, or a frame that breaks the rules above.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Encoder {
 public:
  Encoder& u8(std::uint8_t value);
  Encoder& u32(std::uint32_t value);
  Encoder& u64(std::uint64_t value);
  Encoder& str(std::string_view value);
  Encoder& stat(const FileStat& value);
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// Reads what an Encoder wrote; ProtocolError when the body ends early.
class Decoder {
 public:
  explicit Decoder(std::string_view body) : rest_(body) {}
  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  std::string str();
  FileStat stat();
  // ProtocolError unless the whole body was read.
  void finish() const;

 private:
  std::string_view take(std::size_t size);
  std::string_view rest_;
};

// Sends one frame, with `passed_fd` attached when it is not -1. 0, or the errno of the failure.
int send_frame(int socket, std::string_view body, int passed_fd = -1) noexcept;

// Receives one frame into `body`; a file descriptor that came with it goes to `passed` (opened
// close-on-exec). 0; -1 at a clean end of the stream before a frame; or an errno value
// (EPROTO: a frame larger than kMaxFrame, more than one descriptor, or a stream that ends
// inside a frame; EMFILE: a descriptor came but this process had no room for it).
int receive_frame(int socket, std::string& body, agent::UniqueFd& passed);

}  // namespace hutch::subcontainer::fs_wire
