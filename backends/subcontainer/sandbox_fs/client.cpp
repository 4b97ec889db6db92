#include "sandbox_fs/client.hpp"

#include "sandbox_fs/kernel_filesystems.hpp"
#include "sandbox_fs/protocol.hpp"

#include <hutch/error.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace hutch::subcontainer {

using agent::UniqueFd;
using fs_wire::Decoder;
using fs_wire::Encoder;
using fs_wire::Op;

namespace {

Encoder request(Op op) {
  Encoder out;
  out.u8(static_cast<std::uint8_t>(op));
  return out;
}

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw Error(Errc::io, "sandbox fs: cannot " + what + " '" + path + "': " + std::strerror(err));
}

}  // namespace

SandboxFs::SandboxFs(std::filesystem::path helper, std::string id, std::function<LeaderFiles()> open_leader)
    : helper_(std::move(helper)), id_(std::move(id)), open_leader_(std::move(open_leader)) {}

SandboxFs::~SandboxFs() = default;

void SandboxFs::without_helper(const std::function<void()>& body) {
  std::lock_guard lock(mutex_);
  process_.reset();
  body();
}

SandboxFs::Reply SandboxFs::call(const std::string& body) {
  std::string answer;
  Reply reply;
  {
    std::lock_guard lock(mutex_);
    for (bool retried = false;; retried = true) {
      if (!process_) process_ = std::make_unique<FsHelperProcess>(helper_, id_, open_leader_());
      int rc = fs_wire::send_frame(process_->socket(), body);
      if (rc == EPIPE && !retried) {
        // The helper died while idle (its end of the socket is closed): nothing of this request
        // ran, so a new helper may take it.
        process_.reset();
        continue;
      }
      if (rc == 0) rc = fs_wire::receive_frame(process_->socket(), answer, reply.passed);
      if (rc != 0) {
        // Whether the request was done is unknown; the next call starts a new helper.
        const pid_t pid = process_->pid();
        process_.reset();
        throw Error(Errc::backend, "sandbox " + id_ + ": the fs helper (pid " + std::to_string(pid) + ") " +
                                       (rc == -1 ? std::string("ended") : std::string("failed: ") + std::strerror(rc)));
      }
      break;
    }
  }
  try {
    Decoder in(answer);
    if (static_cast<fs_wire::Status>(in.u8()) == fs_wire::Status::ok) {
      reply.result = answer.substr(1);
      return reply;
    }
    const std::uint8_t code = in.u8();
    std::string message = in.str();
    const auto errc = code <= static_cast<std::uint8_t>(Errc::state) ? static_cast<Errc>(code) : Errc::backend;
    throw Error(errc, message);
  } catch (const fs_wire::ProtocolError& e) {
    throw Error(Errc::backend, "sandbox " + id_ + ": " + e.what());
  }
}

UniqueFd SandboxFs::received_file(Reply reply, const char* what, const std::string& path) const {
  if (!reply.passed) throw Error(Errc::backend, "sandbox " + id_ + ": the fs helper sent no file for '" + path + "'");
  // The helper checked this already; a host that reads what it is handed checks it too.
  struct stat st {};
  int error = 0;
  const char* filesystem = kernel_filesystem_of(reply.passed.get(), error);
  if (error == 0 && ::fstat(reply.passed.get(), &st) != 0) error = errno;
  if (error != 0) fail("check", path, error);
  if (filesystem != nullptr || !S_ISREG(st.st_mode))
    throw Error(Errc::permission_denied, "sandbox fs: refusing to " + std::string(what) + " '" + path +
                                             "': the fs helper handed over something that is not a regular file on an "
                                             "ordinary filesystem");
  return std::move(reply.passed);
}

UniqueFd SandboxFs::connect_port(std::uint16_t port) {
  Reply reply = call(request(Op::connect_tcp).u32(port).bytes());
  if (!reply.passed) throw Error(Errc::backend, "sandbox fs: the helper answered connect_tcp without a socket");
  return std::move(reply.passed);
}

void SandboxFs::read_stream(const std::string& path, const ChunkSink& sink) {
  const std::string clean = normalize_sandbox_path(path);
  const UniqueFd file = received_file(call(request(Op::open_read).str(clean).bytes()), "read", clean);
  std::vector<char> buffer(kChunkSize);
  for (;;) {
    const ssize_t got = ::read(file.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      fail("read", clean, errno);
    }
    if (got == 0 || !sink(std::string_view(buffer.data(), static_cast<std::size_t>(got)))) return;
  }
}

void SandboxFs::write_stream(const std::string& path, const ChunkSource& source, std::uint32_t mode) {
  const std::string clean = normalize_sandbox_path(path);
  const UniqueFd file =
      received_file(call(request(Op::open_write).str(clean).u32(mode & 07777).bytes()), "write", clean);
  // Written by this process: `source` may read host files, which the helper could not.
  const ChunkSource limited = limit_file_size(source, max_file_bytes_, "write '" + clean + "' in sandbox " + id_);
  for (std::string_view chunk = limited(); !chunk.empty(); chunk = limited()) {
    while (!chunk.empty()) {
      const ssize_t put = ::write(file.get(), chunk.data(), chunk.size());
      if (put < 0) {
        if (errno == EINTR) continue;
        fail("write", clean, errno);
      }
      chunk.remove_prefix(static_cast<std::size_t>(put));
    }
  }
}

void SandboxFs::mkdir(const std::string& path, bool parents, std::uint32_t mode) {
  call(request(Op::mkdir).str(normalize_sandbox_path(path)).u8(parents ? 1 : 0).u32(mode & 07777).bytes());
}

std::vector<DirEntry> SandboxFs::list(const std::string& path) {
  const Reply reply = call(request(Op::list).str(normalize_sandbox_path(path)).bytes());
  try {
    Decoder in(reply.result);
    std::vector<DirEntry> entries(in.u32());
    for (auto& entry : entries) {
      entry.name = in.str();
      entry.stat = in.stat();
    }
    in.finish();
    return entries;
  } catch (const fs_wire::ProtocolError& e) {
    throw Error(Errc::backend, "sandbox " + id_ + ": " + e.what());
  }
}

FileStat SandboxFs::stat(const std::string& path) {
  const Reply reply = call(request(Op::stat).str(normalize_sandbox_path(path)).bytes());
  try {
    Decoder in(reply.result);
    FileStat stat = in.stat();
    in.finish();
    return stat;
  } catch (const fs_wire::ProtocolError& e) {
    throw Error(Errc::backend, "sandbox " + id_ + ": " + e.what());
  }
}

void SandboxFs::remove(const std::string& path, bool recursive) {
  call(request(Op::remove).str(normalize_sandbox_path(path)).u8(recursive ? 1 : 0).bytes());
}

void SandboxFs::rename(const std::string& from, const std::string& to) {
  call(request(Op::rename).str(normalize_sandbox_path(from)).str(normalize_sandbox_path(to)).bytes());
}

void SandboxFs::symlink(const std::string& target, const std::string& path) {
  // The helper refuses an empty target or one with a NUL byte.
  call(request(Op::symlink).str(target).str(normalize_sandbox_path(path)).bytes());
}

}  // namespace hutch::subcontainer
