#include "sandbox_fs/protocol.hpp"

#include "agent/fd_passing.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace hutch::subcontainer::fs_wire {

Encoder& Encoder::u8(std::uint8_t value) {
  bytes_.push_back(static_cast<char>(value));
  return *this;
}

Encoder& Encoder::u32(std::uint32_t value) {
  bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
  return *this;
}

Encoder& Encoder::u64(std::uint64_t value) {
  bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
  return *this;
}

Encoder& Encoder::str(std::string_view value) {
  u32(static_cast<std::uint32_t>(value.size()));
  bytes_.append(value);
  return *this;
}

Encoder& Encoder::stat(const FileStat& value) {
  const auto mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(value.mtime.time_since_epoch()).count();
  return u8(static_cast<std::uint8_t>(value.type))
      .u64(value.size)
      .u32(value.mode)
      .u32(value.uid)
      .u32(value.gid)
      .u64(static_cast<std::uint64_t>(mtime_ns))
      .str(value.link_target);
}

std::string_view Decoder::take(std::size_t size) {
  if (rest_.size() < size) throw ProtocolError("sandbox fs: a message of the fs helper ends early");
  std::string_view taken = rest_.substr(0, size);
  rest_.remove_prefix(size);
  return taken;
}

std::uint8_t Decoder::u8() { return static_cast<std::uint8_t>(take(1)[0]); }

std::uint32_t Decoder::u32() {
  std::uint32_t value;
  std::memcpy(&value, take(sizeof value).data(), sizeof value);
  return value;
}

std::uint64_t Decoder::u64() {
  std::uint64_t value;
  std::memcpy(&value, take(sizeof value).data(), sizeof value);
  return value;
}

std::string Decoder::str() {
  const std::uint32_t size = u32();
  return std::string(take(size));
}

FileStat Decoder::stat() {
  FileStat value;
  const std::uint8_t type = u8();
  if (type > static_cast<std::uint8_t>(FileType::other)) throw ProtocolError("sandbox fs: unknown file type from the fs helper");
  value.type = static_cast<FileType>(type);
  value.size = u64();
  value.mode = u32();
  value.uid = u32();
  value.gid = u32();
  value.mtime = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds(static_cast<std::int64_t>(u64()))));
  value.link_target = str();
  return value;
}

void Decoder::finish() const {
  if (!rest_.empty()) throw ProtocolError("sandbox fs: a message of the fs helper has trailing bytes");
}

int send_frame(int socket, std::string_view body, int passed_fd) noexcept {
  const auto length = static_cast<std::uint32_t>(body.size());
  iovec parts[2] = {{const_cast<std::uint32_t*>(&length), sizeof length},
                    {const_cast<char*>(body.data()), body.size()}};
  agent::OneFdControl control;
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  // The descriptor rides with the frame's first bytes, so the receiver gets it with them.
  if (passed_fd >= 0) agent::attach_fd(message, control, passed_fd);
  std::size_t total = sizeof length + body.size();
  while (total > 0) {
    const ssize_t sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    total -= static_cast<std::size_t>(sent);
    // A short send: the rest goes without the descriptor, which went with the first part.
    message.msg_control = nullptr;
    message.msg_controllen = 0;
    auto done = static_cast<std::size_t>(sent);
    while (done > 0 && message.msg_iovlen > 0) {
      const std::size_t step = std::min(done, message.msg_iov->iov_len);
      message.msg_iov->iov_base = static_cast<char*>(message.msg_iov->iov_base) + step;
      message.msg_iov->iov_len -= step;
      done -= step;
      if (message.msg_iov->iov_len == 0) {
        ++message.msg_iov;
        --message.msg_iovlen;
      }
    }
  }
  return 0;
}

namespace {

// Reads exactly `size` bytes into `into`, keeping a descriptor that comes along. 0, -1 at EOF
// before the first byte, or an errno value.
int receive_exactly(int socket, char* into, std::size_t size, agent::UniqueFd& passed) {
  std::size_t got = 0;
  while (got < size) {
    iovec part{into + got, size - got};
    agent::ReceivedFdsControl control;
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control.data;
    message.msg_controllen = sizeof control.data;
    const ssize_t n = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    // One descriptor per frame: another one is a protocol error (and is closed).
    int error = agent::keep_first_fd(message, passed) != 0 ? EPROTO : 0;
    if (error == 0 && (message.msg_flags & MSG_CTRUNC) != 0) error = EMFILE;
    if (error != 0) return error;
    if (n == 0) return got == 0 ? -1 : EPROTO;
    got += static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace

int receive_frame(int socket, std::string& body, agent::UniqueFd& passed) {
  passed.reset();
  std::uint32_t length = 0;
  if (int rc = receive_exactly(socket, reinterpret_cast<char*>(&length), sizeof length, passed); rc != 0) return rc;
  if (length > kMaxFrame) return EPROTO;
  body.resize(length);
  if (length == 0) return 0;
  const int rc = receive_exactly(socket, body.data(), length, passed);
  return rc == -1 ? EPROTO : rc;
}

}  // namespace hutch::subcontainer::fs_wire
