// Value types of the SDK: what a sandbox is asked to be (SandboxSpec), what a command is
// asked to do (ExecRequest) and what came of it (ExecResult), what a backend can do
// (Capabilities), and what a caller can read back (SandboxInfo, Stats).
//
// These are plain data. Validation of their contents happens in the core
// (hutch::validate(...) in <hutch/spec.hpp>) and in the backend that receives them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <hutch/export.hpp>

namespace hutch {

using Duration = std::chrono::milliseconds;
using Env = std::map<std::string, std::string>;
using Labels = std::map<std::string, std::string>;

// Labels hutch sets on everything it creates, so `prune` finds leaks again.
inline constexpr const char* kLabelManaged = "hutch.managed";  // always "true"
inline constexpr const char* kLabelId = "hutch.id";            // the sandbox id
inline constexpr const char* kLabelOwner = "hutch.owner";      // "<host>:<pid>:<start-time>" of the creator

enum class NetworkMode { none, host, bridge };

// SandboxSpec::egress: what a rule does with the outgoing connections it matches.
enum class EgressAction { allow, deny };
// One rule of a sandbox's egress policy. Rules are ordered: the first whose destination
// matches an outgoing connection decides it; one that no rule matches gets the backend's
// default (on a bridge network: the public internet allowed; private, shared, loopback,
// link-local (cloud metadata), multicast and reserved ranges and the host's own addresses
// denied). `--deny-net all` after allow rules makes an allowlist.
struct EgressRule {
  EgressAction action = EgressAction::deny;
  // "all", an IPv4 or IPv6 address or network without host bits: "203.0.113.7",
  // "10.0.0.0/8", "2001:db8::/32", or a domain: "example.com" (that name), "*.example.com"
  // (every name below it, not example.com itself), enforced through the sandbox's resolver.
  std::string destination;
  bool operator==(const EgressRule&) const = default;
};

// SandboxSpec::ports: the transport of a published port.
enum class PortProtocol { tcp, udp };
// One published port (`--publish [HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|udp]`, as docker -p):
// connections to host_ip:host_port on the host reach sandbox_port of the sandbox.
struct PortMapping {
  // An IPv4 or IPv6 address of the host ("0.0.0.0" or "::": all of them). Loopback unless the
  // user says otherwise, so that nothing but this host reaches the sandbox.
  std::string host_ip = "127.0.0.1";
  std::uint16_t host_port = 0;     // 0: a free port the backend picks (Handle::ports says which)
  std::uint16_t sandbox_port = 0;  // 1..65535
  PortProtocol protocol = PortProtocol::tcp;
  bool operator==(const PortMapping&) const = default;
};

enum class MountType {
  volume,  // named, persistent, owned by the backend; survives the sandbox
  bind,    // a host path; refused unless configuration allows its prefix
  tmpfs,   // memory-backed, gone with the sandbox
  assets,  // read-only content shipped with the sandbox (always read-only)
  pointer, // another sandbox's (or a named) volume, by name
  backup,  // a backup target directory managed by the backend
};

// What the mount source is expected to be; `infer` looks at it.
enum class MountKind { infer, directory, file };

struct IdMap {
  std::uint32_t from = 0;   // first id as seen inside the sandbox
  std::uint32_t to = 0;     // first id on the other side
  std::uint32_t range = 1;  // how many ids
  bool operator==(const IdMap&) const = default;
};

struct Mount {
  MountType type = MountType::volume;
  std::string source;  // volume name, host path, or empty for tmpfs
  std::string target;  // absolute path inside the sandbox
  bool read_only = false;
  MountKind kind = MountKind::infer;
  std::string subpath;  // mount only this path within the source
  std::optional<IdMap> idmap;
  std::optional<std::uint64_t> tmpfs_size_bytes;
  bool operator==(const Mount&) const = default;
};

// Memory and pids are each unset, a value, or explicitly unlimited. Unset, a default applies
// when the sandbox is created: the config's [defaults], else the safe default
// (kDefaultMemoryBytes, kDefaultPids; apply_safe_defaults in <hutch/spec.hpp>, which every
// create and restore through a loaded plugin goes through). Unlimited ("unlimited" in TOML, CLI
// and JSON) keeps any default away. What reaches a backend: a value to enforce, or none.
struct Limits {
  std::optional<std::uint64_t> memory_bytes;
  std::optional<double> cpus;  // e.g. 1.5 cores; no default
  std::optional<std::uint32_t> pids;
  bool memory_unlimited = false;  // no memory limit, whatever the defaults (memory_bytes unset)
  bool pids_unlimited = false;    // no pids limit, whatever the defaults (pids unset)
  // The value is the safe default, not asked for: a backend that cannot enforce it (no writable
  // cgroup, rootless without delegation) creates the sandbox without it and says so in
  // SandboxBackend::warnings(); a limit that was asked for and cannot be enforced is an error.
  bool memory_defaulted = false;
  bool pids_defaulted = false;
  bool operator==(const Limits&) const = default;
};

// One file of SandboxSpec::files: written into the sandbox, missing parent directories
// created, before create returns (anvia's manifest). Exactly one of `content` and `source`
// carries the bytes: `source` is a host file read by the process that calls create.
struct SandboxFile {
  std::string path;     // absolute, inside the sandbox
  std::string content;  // the bytes, when source is empty
  // A host path, read at create time (instead of content) by the process that calls create.
  // Host-only: a host serving untrusted clients refuses it (refuse_host_only_fields in
  // <hutch/untrusted_spec.hpp>).
  std::string source;
  std::uint32_t mode = 0644;
  std::string owner;    // "uid" or "uid:gid" inside the sandbox; empty: the backend's default
  bool operator==(const SandboxFile&) const = default;
};

// The /workspace of a sandbox (SandboxSpec::workspace): an empty directory that lives and dies
// with the sandbox (the default), none, or a named persistent volume that outlives it.
inline constexpr const char* kWorkspaceEphemeral = "ephemeral";
inline constexpr const char* kWorkspaceNone = "none";
inline constexpr const char* kWorkspaceTarget = "/workspace";

// What an image asks of the commands run from it (its Docker/OCI config: Entrypoint, Cmd,
// Env, WorkingDir, User). SandboxInfo::defaults holds it resolved under the sandbox's spec.
struct ImageDefaults {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;  // the entrypoint's default arguments, or the command itself
  Env env;
  std::string workdir;  // empty: none given
  std::string user;     // empty: none given (root)
  bool operator==(const ImageDefaults&) const = default;
};

inline constexpr std::uint64_t kDefaultMemoryBytes = std::uint64_t{2} << 30;  // "2g"
inline constexpr std::uint32_t kDefaultPids = 1024;

struct SandboxSpec {
  std::string image;  // backend-specific reference: "host", a path, "busybox:latest", ...
  Env env;
  std::string workdir;  // empty: the image default
  std::string user;     // "name", "uid" or "uid:gid"; empty: the image default
  std::vector<Mount> mounts;
  Limits limits;
  NetworkMode network = NetworkMode::none;
  Labels labels;  // user labels; the hutch.* labels are added by the backend
  std::optional<Duration> ttl;           // destroyed by `prune` once this old
  std::optional<Duration> idle_timeout;  // destroyed by `prune` once idle this long
  // Destroy and stop send SIGTERM to every process of the sandbox, wait this long for them to
  // end, then SIGKILL what is left. 0: SIGKILL at once. Unset: the backend's default (10s).
  std::optional<Duration> stop_grace;
  bool read_only_root = false;
  // Ports published on the host (PortMapping), network "bridge" only; checked by
  // hutch::validate_ports (<hutch/ports.hpp>). A backend without Capabilities::ports refuses
  // a spec with any (Errc::unsupported).
  std::vector<PortMapping> ports;
  // Egress policy (EgressRule), network "bridge" only; empty: the backend's default. A
  // backend that cannot enforce rules refuses a spec with any (Errc::unsupported).
  std::vector<EgressRule> egress;
  // Owned by no process (`hutch create`, `hutch run --keep`): prune removes it only once its ttl or
  // idle timeout has passed, or with --all. Otherwise the creating process owns it and prune
  // removes it once that process is gone.
  bool detached = false;
  // Destroyed by its creator once one job is done (`hutch run`), its files never read back: a
  // backend may keep its writable layer in memory (the subcontainer backend: on a tmpfs, see
  // ephemeral_dir in hutch.toml), so what it writes costs RAM, not disk.
  bool ephemeral = false;
  // Staged before create returns (see SandboxFile). A backend keeps paths, modes and owners
  // in the spec it records, not the contents.
  std::vector<SandboxFile> files;
  // Largest file a command may write (RLIMIT_FSIZE: a write beyond it fails with EFBIG, the
  // writer is not killed) and Fs may write (Errc::invalid_argument). Unset: no limit.
  std::optional<std::uint64_t> max_file_bytes;
  // kWorkspaceEphemeral, kWorkspaceNone, or the name of a persistent volume mounted at
  // kWorkspaceTarget. Empty: ephemeral. A mount of its own on /workspace replaces it.
  std::string workspace;
  // Replaces the image's Entrypoint, and then its Cmd is not used (`docker run --entrypoint`).
  // Unset: the image's. An empty vector: no entrypoint.
  std::optional<std::vector<std::string>> entrypoint;
  bool operator==(const SandboxSpec&) const = default;
};

inline constexpr Duration kDefaultStartTimeout{10000};
// SandboxSpec::stop_grace when neither the spec nor the backend's configuration sets one, and
// the longest one accepted (the agents count it in 32-bit milliseconds).
inline constexpr Duration kDefaultStopGrace{10000};
inline constexpr std::int64_t kMaxStopGraceMs = 0xFFFFFFFFLL;

struct ExecRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH inside the sandbox
  Env env;                        // added to (and overriding) the sandbox env
  std::string cwd;                // empty: the sandbox workdir
  std::string user;               // empty: the sandbox user
  std::optional<std::string> stdin_data;  // buffered exec: bytes written then stdin closed
  std::optional<Duration> timeout;        // whole command, including its children
  // How long the sandbox may take to start the command (a shepherd to take it, on the agent
  // paths); past it, Errc::timeout naming the sandbox. Unset: kDefaultStartTimeout. A sandbox
  // whose processes stop its agent's helpers cannot hold the caller longer than this.
  std::optional<Duration> start_timeout;
  std::uint64_t output_limit = 16u << 20;  // bytes kept per stream; the rest is counted, dropped
  // A terminal: the command's stdin, stdout and stderr are one pseudo-terminal in the sandbox,
  // its controlling terminal (it runs in a session of its own); its output comes as
  // stdout_stream only. tty_cols/tty_rows: its first size (0: the backend's default, 80x24);
  // Process::resize changes it.
  bool tty = false;
  std::uint16_t tty_cols = 0;
  std::uint16_t tty_rows = 0;
  // As `docker run` runs its arguments: the sandbox's entrypoint (SandboxInfo::defaults) goes
  // first, then argv, or the image's Cmd when argv is empty. Unset: argv as it is (`docker exec`).
  bool use_entrypoint = false;
};

struct ExecResult {
  int exit_code = -1;   // valid when !signal && !timed_out
  int signal = 0;       // signal that ended the command, 0 if it exited
  // Where the backend sees only a shell-style status, a death by signal N and `exit 128+N`
  // look the same, and a status 129..192 is reported as signal N (exit_code stays -1): the
  // docker backend's exec-API path (agent off) does so, so `exit 137` reads as
  // signal 9 there. shell_status() is exact on every path; the agent paths report the real
  // wait status.
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  bool timed_out = false;
  Duration duration{0};

  // The shell convention: exit code, 124 on timeout, 128+N when killed by signal N.
  int shell_status() const {
    if (timed_out) return 124;
    if (signal != 0) return 128 + signal;
    return exit_code;
  }
};

struct Capabilities {
  bool fork = false;
  bool snapshot = false;
  bool pause = false;
  bool stdin = false;
  bool ports = false;
  bool tty = false;
  bool stats = false;
  bool persistent = false;  // sandboxes outlive the creating process (resume by id)
  bool launch = false;      // Handle::launch and Handle::logs: a main command per sandbox
  bool set_env = false;     // Handle::set_env
  bool volumes = false;     // SandboxBackend::volumes and remove_volume
  bool stop = false;        // Handle::stop, Handle::start, Handle::set_lifetime
  // The sandbox ends by itself once its ttl or idle timeout has passed (its PID 1 holds them);
  // without it, only prune applies them.
  bool lifetimes = false;
  // Handle::connect_port: a TCP connection to a port inside the sandbox, made from inside its
  // network namespace (the service's port proxy).
  bool connect_port = false;
  // Handle::set_egress: the egress rules of a running (or stopped) bridge sandbox change.
  bool set_egress = false;
  std::vector<NetworkMode> network_modes{NetworkMode::none};
  std::vector<MountType> mount_types;
};

// creating: being made (its leader or container not started yet); running; paused (frozen); stopped: no process
// runs, its files stay (Handle::stop, or every process ended); expired: its ttl or idle
// timeout passed and it stopped itself, until `prune` removes it.
enum class SandboxState { creating, running, paused, stopped, expired, unknown };

// The sandbox's main command (Handle::launch), as last recorded.
enum class MainCommandState {
  running,
  exited,  // on its own, with exit_code
  killed,  // by `signal`: replaced by a later launch, or the sandbox stopped
};

struct MainCommandInfo {
  MainCommandState state = MainCommandState::running;
  std::vector<std::string> argv;
  int pid = 0;  // in the sandbox's pid namespace
  std::chrono::system_clock::time_point started{};
  std::optional<std::chrono::system_clock::time_point> ended;  // set unless running
  int exit_code = -1;  // valid when exited
  int signal = 0;      // valid when killed
};

// Handle::set_lifetime: what changes; an unset field stays as it is.
struct LifetimeUpdate {
  std::optional<Duration> ttl;           // the sandbox ends this long from now (E2B's setTimeout)
  std::optional<Duration> idle_timeout;  // the idle limit from now on
};

struct SandboxInfo {
  std::string id;
  std::string backend;
  std::string image;
  SandboxState state = SandboxState::unknown;
  Labels labels;  // including the hutch.* ones
  std::chrono::system_clock::time_point created{};
  SandboxSpec spec;  // as created (best effort for sandboxes made by other tools)
  std::optional<MainCommandInfo> main_command;  // unset: nothing was ever launched
  // When the sandbox's ttl ends it (its creation + spec.ttl, or as Handle::set_lifetime set
  // it); unset: no ttl.
  std::optional<std::chrono::system_clock::time_point> expires_at;
  // What a command that sets nothing of its own gets: the image's defaults under the spec's
  // (hutch::resolve_defaults). Unset where the backend does not know them.
  std::optional<ImageDefaults> defaults;
};

struct Stats {
  double cpu_percent = 0;             // over the backend's sample window
  std::uint64_t cpu_usage_ns = 0;     // cumulative
  std::uint64_t memory_bytes = 0;
  std::optional<std::uint64_t> memory_limit_bytes;
  std::uint32_t pids = 0;
  std::optional<std::uint64_t> net_rx_bytes;
  std::optional<std::uint64_t> net_tx_bytes;
};

// Where a published port is bound on the host now (Handle::ports): a PortMapping with the
// port the backend picked for host_port 0.
struct PortBinding {
  std::uint16_t sandbox_port = 0;
  std::string host_address;  // as the mapping's host_ip: "127.0.0.1", "0.0.0.0", "::1"
  std::uint16_t host_port = 0;  // never 0
  PortProtocol protocol = PortProtocol::tcp;
  bool operator==(const PortBinding&) const = default;
};

// A persistent volume of a backend (a named workspace, a volume mount's source).
struct VolumeInfo {
  std::string name;
  std::string backend;
  std::vector<std::string> used_by;  // ids of the sandboxes that mount it
  std::optional<std::chrono::system_clock::time_point> created;
};

// One step of SandboxBackend::pull_image, for a progress display. Events of one layer share
// `layer`; `current`/`total` count its bytes while it downloads.
struct PullProgress {
  std::string layer;   // a short digest or the engine's layer id; empty: a step of the whole image
  std::string status;  // "manifest sha256:..", "downloading", "downloaded", "already stored", "applying 3 layers", ...
  std::uint64_t current = 0;  // bytes received so far (downloading)
  std::uint64_t total = 0;    // bytes expected (0: not known)
};

// An image in a backend's store (SandboxBackend::images, inspect_image).
struct ImageInfo {
  std::string id;                  // the backend's image id (docker: "sha256:<hex>"; subcontainer: <hex>)
  std::vector<std::string> names;  // "repo:tag" names it is known by, sorted; empty when untagged
  std::uint64_t size = 0;          // bytes on disk (0: not known)
  std::optional<std::chrono::system_clock::time_point> created;
  std::vector<std::string> used_by;  // ids of the sandboxes made from it
  // Pulled or imported by hutch: SandboxBackend::prune_images may remove it once unused.
  bool managed = false;
  // Filled by inspect_image only (images() may leave them empty):
  std::string source;               // where it came from: "<name>@<manifest digest>", an archive path, a sandbox
  std::vector<std::string> layers;  // layer digests ("sha256:<hex>"), bottom-most first, when known
  ImageDefaults config;             // Entrypoint, Cmd, Env, WorkingDir, User
};

struct SnapshotInfo {
  std::string id;
  std::string label;
  std::string source_sandbox;
  std::chrono::system_clock::time_point created{};
};

// Filter for list/prune. Empty fields match everything.
struct Filter {
  Labels labels;       // all must match
  bool all = false;    // prune: every managed sandbox, not only those whose owner is gone
};

// String forms used in config, CLI and --json output; the parse_* functions are their inverse
// and throw Error(invalid_argument) naming the bad value and the accepted ones.
HUTCH_API const char* to_string(NetworkMode) noexcept;
HUTCH_API const char* to_string(MountType) noexcept;
HUTCH_API const char* to_string(SandboxState) noexcept;
HUTCH_API const char* to_string(MainCommandState) noexcept;
HUTCH_API NetworkMode parse_network_mode(const std::string& text);
HUTCH_API const char* to_string(EgressAction) noexcept;  // "allow" | "deny"
// Errc::invalid_argument naming the accepted words.
HUTCH_API EgressAction parse_egress_action(const std::string& text);
HUTCH_API MountType parse_mount_type(const std::string& text);
HUTCH_API const char* to_string(PortProtocol) noexcept;  // "tcp" | "udp"
// Errc::invalid_argument naming the accepted words.
HUTCH_API PortProtocol parse_port_protocol(const std::string& text);
// One line for people: "fork snapshot pause ...; network: none host; mounts: volume bind".
HUTCH_API std::string describe(const Capabilities& capabilities);

}  // namespace hutch
