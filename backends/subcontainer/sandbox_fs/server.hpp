// The fs helper: `hutch-subcontainer-helper fs`, exec'd by the host (client.hpp) for one
// sandbox, serves the host's file operations on that sandbox (protocol.hpp) as the sandbox's
// own root. It joins the sandbox's user namespace and becomes root there — the host ids that
// are root inside — keeping of the capabilities it has there only DAC_OVERRIDE,
// DAC_READ_SEARCH, FOWNER and FSETID: files of any sandbox user stay reachable, while the
// host's own files (global /proc and /sys entries, a host file bound in under an owner the
// sandbox does not map) are as closed to it as to the sandbox. It stays
// in the host's other namespaces and cgroup: no sandbox process can see, signal or trace it,
// and it keeps serving while the sandbox is frozen.
#pragma once

namespace hutch::subcontainer {

// Where `hutch-subcontainer-helper fs` finds what it serves; the host places them there
// (helper_process.cpp). Its fd 1 is /dev/null, fd 2 the host's stderr.
inline constexpr int kFsHelperSocketFd = 0;
inline constexpr int kFsHelperUserNamespaceFd = 3;
inline constexpr int kFsHelperRootFd = 4;
inline constexpr int kFsHelperNetNamespaceFd = 5;

// Serves requests on `socket` until the host closes it (returns 0), or until the socket
// fails (returns 1). `user_namespace`: the sandbox leader's /proc/<pid>/ns/user; one naming this
// process's own namespace (tests) keeps this process's ids. `root`: the leader's
// /proc/<pid>/root. The process must be single-threaded (setns of a user namespace needs it).
// `net_namespace`: the leader's /proc/<pid>/ns/net, joined (while the helper still has the
// capabilities setns gave) so that connect_tcp connects from inside the sandbox's network; -1,
// or this process's own network namespace, stays where it is.
// A failure to take the sandbox's credentials is sent as the hello's error, then it returns 1.
int serve_sandbox_fs(int socket, int user_namespace, int root, int net_namespace = -1) noexcept;

}  // namespace hutch::subcontainer
