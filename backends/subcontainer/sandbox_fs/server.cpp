#include "sandbox_fs/server.hpp"

#include "agent/capabilities.hpp"
#include "agent/loopback_connect.hpp"
#include "sandbox_fs/protocol.hpp"
#include "sandbox_fs/root_tree.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace hutch::subcontainer {
namespace {

using agent::UniqueFd;
using fs_wire::Decoder;
using fs_wire::Encoder;
using fs_wire::Op;
using fs_wire::Status;

// Joins `net_namespace` unless it is this process's own; an error message, or empty.
std::string join_network(int net_namespace) {
  if (net_namespace < 0) return {};
  struct stat theirs {}, mine {};
  if (::fstat(net_namespace, &theirs) != 0 || ::stat("/proc/self/ns/net", &mine) != 0)
    return std::string("look at the sandbox's network namespace: ") + std::strerror(errno);
  if (theirs.st_dev == mine.st_dev && theirs.st_ino == mine.st_ino) return {};
  if (::setns(net_namespace, CLONE_NEWNET) != 0) return std::string("join the sandbox's network namespace: ") + std::strerror(errno);
  return {};
}

// Joins the user namespace (and the network namespace, which needs the capabilities the user
// namespace gives) and becomes its root; an error message, or empty.
std::string become_sandbox_root(int user_namespace, int net_namespace) {
  struct stat theirs {}, mine {};
  if (::fstat(user_namespace, &theirs) != 0 || ::stat("/proc/self/ns/user", &mine) != 0)
    return std::string("look at the sandbox's user namespace: ") + std::strerror(errno);
  if (theirs.st_dev == mine.st_dev && theirs.st_ino == mine.st_ino) return join_network(net_namespace);
  if (::setns(user_namespace, CLONE_NEWUSER) != 0)
    return std::string("join the sandbox's user namespace: ") + std::strerror(errno);
  // With every capability in the namespace now, EPERM means only that the namespace denies
  // setgroups (rootless): the caller's groups stay, as they do for the sandbox's processes.
  if (::setgroups(0, nullptr) != 0 && errno != EPERM)
    return std::string("drop supplementary groups: ") + std::strerror(errno);
  if (::setresgid(0, 0, 0) != 0) return std::string("become gid 0 in the sandbox: ") + std::strerror(errno);
  if (::setresuid(0, 0, 0) != 0) return std::string("become uid 0 in the sandbox: ") + std::strerror(errno);
  if (std::string failed = join_network(net_namespace); !failed.empty()) return failed;
  // Of the capabilities setns gave (all, in the sandbox's namespace), only those that let root
  // reach the files of every sandbox user stay: read, write, search, chmod, keep set-id bits.
  const std::vector<int> keep = {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID};
  if (agent::drop_bounding_set(keep) != 0 || agent::limit_capabilities(keep) != 0)
    return std::string("drop capabilities: ") + std::strerror(errno);
  return {};
}

std::string error_reply(Errc code, const std::string& message) {
  return Encoder().u8(static_cast<std::uint8_t>(Status::error)).u8(static_cast<std::uint8_t>(code)).str(message).bytes();
}

// One request: the reply's body, and the file it passes (open_read, open_write).
struct Answer {
  std::string body;
  UniqueFd passed;
};

Answer answer(const RootTree& tree, std::string_view request) {
  Decoder in(request);
  Encoder ok;
  ok.u8(static_cast<std::uint8_t>(Status::ok));
  Answer out;
  const auto op = static_cast<Op>(in.u8());
  switch (op) {
    case Op::open_read: {
      const std::string path = in.str();
      in.finish();
      out.passed = tree.open_for_reading(path);
      break;
    }
    case Op::open_write: {
      const std::string path = in.str();
      const auto mode = static_cast<mode_t>(in.u32() & 07777);
      in.finish();
      out.passed = tree.open_for_writing(path, mode);
      break;
    }
    case Op::mkdir: {
      const std::string path = in.str();
      const bool parents = in.u8() != 0;
      const auto mode = static_cast<mode_t>(in.u32() & 07777);
      in.finish();
      tree.mkdir(path, parents, mode);
      break;
    }
    case Op::list: {
      const std::string path = in.str();
      in.finish();
      const auto entries = tree.list(path);
      ok.u32(static_cast<std::uint32_t>(entries.size()));
      for (const auto& entry : entries) ok.str(entry.name).stat(entry.stat);
      if (ok.bytes().size() > fs_wire::kMaxFrame)
        throw TreeError(Errc::io, "sandbox fs: cannot list '" + path + "': its " + std::to_string(entries.size()) +
                                      " entries are more than one reply holds");
      break;
    }
    case Op::stat: {
      const std::string path = in.str();
      in.finish();
      ok.stat(tree.stat(path));
      break;
    }
    case Op::remove: {
      const std::string path = in.str();
      const bool recursive = in.u8() != 0;
      in.finish();
      tree.remove(path, recursive);
      break;
    }
    case Op::rename: {
      const std::string from = in.str();
      const std::string to = in.str();
      in.finish();
      tree.rename(from, to);
      break;
    }
    case Op::symlink: {
      const std::string target = in.str();
      const std::string path = in.str();
      in.finish();
      tree.symlink(target, path);
      break;
    }
    case Op::connect_tcp: {
      const std::uint32_t port = in.u32();
      in.finish();
      auto connection = agent::connect_loopback(port);
      if (!connection.socket)
        throw TreeError(connection.bad_port ? Errc::invalid_argument : Errc::io, connection.error);
      out.passed = std::move(connection.socket);
      break;
    }
    default:
      throw fs_wire::ProtocolError("sandbox fs: unknown request " + std::to_string(static_cast<int>(op)));
  }
  out.body = ok.bytes();
  return out;
}

}  // namespace

int serve_sandbox_fs(int socket, int user_namespace, int root, int net_namespace) noexcept {
  // A host that goes away mid-reply is an EPIPE, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<RootTree> tree;
  std::string setup_error = become_sandbox_root(user_namespace, net_namespace);
  ::close(user_namespace);
  if (net_namespace >= 0) ::close(net_namespace);
  if (setup_error.empty()) {
    // Nothing of the sandbox may read this process's memory or attach to it (its credentials
    // are the sandbox root's now; the kernel already made it non-dumpable, this keeps it so).
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // No parent-death signal: it fires when the host *thread* that started this one ends, and
    // any host thread may use the Fs. A host that dies closes the socket, which ends this.
    if (::chdir("/") != 0) setup_error = std::string("chdir /: ") + std::strerror(errno);
  }
  if (setup_error.empty()) {
    try {
      tree = std::make_unique<RootTree>(UniqueFd(root));
    } catch (const std::exception& e) {
      setup_error = e.what();
    }
  } else {
    ::close(root);
  }
  const std::string hello = setup_error.empty() ? Encoder().u8(static_cast<std::uint8_t>(Status::ok)).bytes()
                                                : error_reply(Errc::backend, "sandbox fs helper: " + setup_error);
  if (fs_wire::send_frame(socket, hello) != 0 || !tree) return 1;

  std::string request;
  UniqueFd unexpected;
  for (;;) {
    const int rc = fs_wire::receive_frame(socket, request, unexpected);
    if (rc == -1) return 0;
    if (rc != 0) return 1;
    Answer reply;
    try {
      reply = answer(*tree, request);
    } catch (const TreeError& e) {
      reply.body = error_reply(e.code(), e.what());
    } catch (const fs_wire::ProtocolError& e) {
      reply.body = error_reply(Errc::backend, e.what());
    } catch (const std::exception& e) {
      reply.body = error_reply(Errc::io, std::string("sandbox fs helper: ") + e.what());
    }
    if (fs_wire::send_frame(socket, reply.body, reply.passed.get()) != 0) return 1;
  }
}

}  // namespace hutch::subcontainer
