#include "lifecycle.hpp"

#include "cgroup.hpp"
#include "egress_names.hpp"
#include "file_lock.hpp"
#include "ephemeral_dir.hpp"
#include "helper_launch.hpp"
#include "network/port_forwarder_process.hpp"
#include "network/published_ports.hpp"
#include "plan_format.hpp"
#include "plan_writer.hpp"
#include "sandbox_record.hpp"
#include "unique_fd.hpp"
#include "volumes.hpp"

#include <hutch/error.hpp>
#include <hutch/owner.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/spec.hpp>
#include <hutch/workspace.hpp>

#include <spdlog/spdlog.h>

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

// How long after the grace the host waits for a stopping leader to exit by itself: it sends
// SIGKILL at the end of the grace, and exits once the last process is reaped.
constexpr Duration kLeaderExitMargin{1000};

// Undoes a half-made sandbox in reverse order unless dismissed.
class CreateRollback {
 public:
  CreateRollback(const Runtime& runtime, std::string id) : runtime_(runtime), id_(std::move(id)) {}
  ~CreateRollback() {
    if (dismissed_) return;
    try {
      destroy_sandbox(runtime_, id_);
    } catch (const std::exception& e) {
      runtime_.log->warn("sandbox {}: cleanup after a failed create: {}", id_, e.what());
    }
  }
  void dismiss() { dismissed_ = true; }

 private:
  const Runtime& runtime_;
  std::string id_;
  bool dismissed_ = false;
};

void make_dir(const fs::path& dir, mode_t mode, const std::string& id) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) throw_system_error("sandbox " + id + ": mkdir " + dir.string(), errno);
  ::chmod(dir.c_str(), mode);
}

// The sandbox's directory: in the state dir, or for an ephemeral sandbox in `ephemeral`
// with a symlink to it in the state dir (ephemeral_dir.hpp). Returns where it really is.
// Mode 0700: no other host user reaches anything in it, above all not a setuid file the
// sandbox made in its upper layer. As root it is given to the sandbox's host root once the
// sandbox has its ids (the helper enters it as that uid to mount the overlay).
fs::path make_sandbox_dir(const fs::path& dir, const std::optional<fs::path>& ephemeral, const std::string& id) {
  if (!ephemeral) {
    make_dir(dir, 0700, id);
    return dir;
  }
  fs::path target = *ephemeral / id;
  if (::mkdir(target.c_str(), 0700) != 0) throw_system_error("sandbox " + id + ": mkdir " + target.string(), errno);
  ::chmod(target.c_str(), 0700);
  if (::symlink(target.c_str(), dir.c_str()) != 0) {
    int error = errno;
    ::rmdir(target.c_str());
    throw_system_error("sandbox " + id + ": symlink " + dir.string() + " -> " + target.string(), error);
  }
  return target;
}

void give_to_sandbox_root(const fs::path& path, const Runtime& runtime, const IdRange& ids, const std::string& id) {
  if (runtime.rootless) return;
  if (::chown(path.c_str(), ids.first, ids.first) != 0) throw_system_error("sandbox " + id + ": chown " + path.string(), errno);
}

void set_mode(const fs::path& dir, mode_t mode) {
  if (::chmod(dir.c_str(), mode) != 0) throw_system_error("chmod " + dir.string(), errno);
}

// The sandbox's root (a host uid of its own) walks down to its own directory when it mounts
// its overlay: the state dir and the sandboxes dir let it pass (o+x), the sandboxes dir
// without listing (0711). Volumes and backups are reached only by the helper as host root
// (idmapped, like image layers): 0700, so a setuid file a sandbox leaves there is out of
// reach too. Rootless, everything is the caller's alone.
void ensure_state_dirs(const Runtime& runtime) {
  const auto& config = runtime.config;
  fs::create_directories(config.sandboxes_dir);
  for (const auto& dir : {config.volumes_dir, config.backups_dir}) {
    fs::create_directories(dir);
    set_mode(dir, 0700);
  }
  if (runtime.rootless) {
    set_mode(config.sandboxes_dir, 0700);
    return;
  }
  set_mode(config.sandboxes_dir, 0711);
  for (fs::path dir = config.sandboxes_dir.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) == 0 && (info.st_mode & S_IXOTH) == 0) ::chmod(dir.c_str(), info.st_mode | S_IXOTH);
    if (dir == config.state_root.parent_path()) break;
  }
}

// The host ids of a new sandbox: a range of its own as root, the caller's one id rootless.
IdRange sandbox_ids(const Runtime& runtime, const fs::path& sandbox_dir) {
  if (runtime.rootless) return {runtime.caller_uid, 1};
  return runtime.id_ranges->allocate(sandbox_dir);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void add_mounts(SetupPlan& plan, const std::vector<Mount>& mounts, const Runtime& runtime) {
  MountPolicy policy;
  policy.bind_allow = runtime.config.bind_allow;
  policy.volumes_dir = runtime.config.volumes_dir;
  policy.backups_dir = runtime.config.backups_dir;
  std::optional<IdMap> store_map;
  if (!runtime.rootless) {
    // Volumes and backups outlive sandboxes and are shared by them, so, like images, they
    // belong to the store range, which each sandbox sees as its own ids.
    const IdRange store = runtime.id_ranges->store_range();
    policy.owner_uid = policy.owner_gid = store.first;
    store_map = IdMap{0, store.first, store.count};
  }
  for (const auto& mount : mounts) {
    ResolvedMount resolved = resolve_mount(mount, policy);
    const bool managed = mount.type == MountType::volume || mount.type == MountType::pointer ||
                         mount.type == MountType::backup;
    if (managed && !resolved.idmap) resolved.idmap = store_map;
    if (resolved.idmap && runtime.rootless)
      throw Error(Errc::unsupported, "subcontainer: mount on " + mount.target +
                                         ": idmapped mounts need root (privilege over the source filesystem)");
    if (resolved.tmpfs) {
      plan.tmpfs.push_back({resolved.target, resolved.tmpfs_size, resolved.read_only});
    } else {
      plan.binds.push_back(
          {resolved.host_source.string(), resolved.target, resolved.read_only, resolved.is_file, resolved.idmap});
    }
  }
}

// /workspace (workspace.hpp). Ephemeral: a directory of the upper layer, so it goes with the
// sandbox and fork and snapshot carry it like any path; with a read-only root, a directory of
// the sandbox's own bound there instead. Named: the persistent volume of that name.
void add_workspace(SetupPlan& plan, const SandboxSpec& spec, const Runtime& runtime, const SandboxPaths& paths,
                   const SandboxPaths& real, const IdRange& ids, const std::string& id) {
  const Workspace workspace = workspace_of(spec);
  if (workspace.kind == WorkspaceKind::none) return;
  if (workspace.kind == WorkspaceKind::named) {
    Mount volume;
    volume.type = MountType::volume;
    volume.source = workspace.volume;
    volume.target = kWorkspaceTarget;
    add_mounts(plan, {volume}, runtime);
    return;
  }
  if (!spec.read_only_root) {
    make_dir(paths.upper / "workspace", 0755, id);
    give_to_sandbox_root(paths.upper / "workspace", runtime, ids, id);
    return;
  }
  make_dir(paths.dir / "workspace", 0755, id);
  give_to_sandbox_root(paths.dir / "workspace", runtime, ids, id);
  plan.binds.push_back({(real.dir / "workspace").string(), kWorkspaceTarget, false, false, std::nullopt});
}

// Rootless, the overlay takes the layers' directories as they are. As root the sandbox cannot
// reach the image store (0700), and stored layers belong to the store range: the helper
// parent copies each layer (idmapped onto the sandbox's range when it is the store's) and the
// sandbox attaches the copies on <sandbox dir>/lower/<n> for its overlay.
void add_lower_layers(SetupPlan& plan, const ResolvedImage& image, const Runtime& runtime, const SandboxPaths& paths,
                      const SandboxPaths& real, const std::string& id) {
  if (runtime.rootless) {
    for (const auto& lower : image.lower_dirs) plan.lower.push_back({lower.string(), {}, {}});
    return;
  }
  const IdRange store = runtime.id_ranges->store_range();
  make_dir(paths.dir / "lower", 0700, id);
  give_to_sandbox_root(paths.dir / "lower", runtime, {plan.outside_uid, plan.id_count}, id);
  for (std::size_t i = 0; i < image.lower_dirs.size(); ++i) {
    const std::string name = std::to_string(i);
    make_dir(paths.dir / "lower" / name, 0700, id);
    PlanLower lower{image.lower_dirs[i].string(), (real.dir / "lower" / name).string(), {}};
    if (runtime.images->holds(image.lower_dirs[i])) lower.idmap = IdMap{0, store.first, store.count};
    plan.lower.push_back(std::move(lower));
  }
}

// The sandbox's cgroup, with its limits. A safe default limit (Limits::*_defaulted) this host
// cannot enforce is dropped from `limits` — the sandbox is made without it, the record says
// so, and warnings() told the operator — while a limit that was asked for stays an error.
std::optional<SandboxCgroup> make_cgroup(const Runtime& runtime, const std::string& id, Limits& limits) {
  auto create = [&] {
    // Unprivileged, only a delegated cgroup v2 subtree can hold the sandbox's cgroup.
    const BackendConfig& config = runtime.config;
    return runtime.rootless ? SandboxCgroup::create_delegated(config.cgroup_root, config.cpu_weight, id, limits)
                            : SandboxCgroup::create(config.cgroup_root, config.cpu_weight, id, limits);
  };
  try {
    return create();
  } catch (const Error& error) {
    const Limits asked = asked_limits(limits);
    if (error.code() != Errc::unsupported || asked == limits) throw;
    runtime.log->info("sandbox {}: the default limits are not enforced: {}", id, error.what());
    limits = asked;
    return create();
  }
}

// Hands the written plan to the helper; the helper process, which exits by itself.
ExitingChild start_leader(PendingHelper& helper, SandboxRecord& record, const SandboxPaths& paths) {
  StartedSandbox started = helper.start([&](pid_t leader) {
    // Recorded while the leader sets the sandbox up: from here on, whatever happens to this
    // process, the record names the leader to kill.
    record.leader_pid = leader;
    record.leader_start = process_start_time(leader);
    save_record(paths.record, record);
  });
  return std::move(started.helper);
}

// A bridge sandbox's leader runs: its network namespace gets its interface before anything
// else runs there (commands come only once create or start has returned); then its published
// ports are bound on the host and held by a forwarder (rootless: its pasta holds both), which
// the returned object owns until the caller has saved the record (which names it) and
// releases it. `previous`: the bindings of its last start, whose picked ports it gets again
// where they are free.
network::OwnedProcess connect_network(const Runtime& runtime, SandboxRecord& record,
                                      const std::vector<PortBinding>& previous = {}) {
  record.published.clear();
  record.forwarder_pid = 0;
  record.forwarder_start = 0;
  record.pasta_pid = 0;
  record.pasta_start = 0;
  if (record.spec.network != NetworkMode::bridge) return {};
  if (runtime.pasta) {
    const auto paths = sandbox_paths(runtime.config.sandboxes_dir, record.id);
    auto attached = runtime.pasta->attach(record.id, record.leader_pid, paths.dir / "pasta.pid", record.spec.egress,
                                          record.spec.ports, previous);
    runtime.log->debug("sandbox {}: pasta pid {}", record.id, attached.pasta.pid());
    record.published = std::move(attached.published);
    record.pasta_pid = attached.pasta.pid();
    record.pasta_start = attached.pasta.start_time();
    return std::move(attached.pasta);
  }
  const auto address = runtime.network->attach(record.id, record.leader_pid, record.spec.egress);
  runtime.log->debug("sandbox {}: bridge {} address {}", record.id, runtime.network->settings().bridge,
                     network::format_ipv4(address));
  if (record.spec.ports.empty()) return {};
  network::HostPorts host = network::bind_host_ports(record.spec.ports, previous, record.id);
  auto forwarder = network::start_port_forwarder(runtime.config.port_forwarder, record.id, record.leader_pid, address,
                                                 record.spec.ports, host.sockets);
  record.published = std::move(host.bindings);
  record.forwarder_pid = forwarder.pid();
  record.forwarder_start = forwarder.start_time();
  return forwarder;
}

// Ends the forwarder and the pasta the record names, if they still run; its host ports are
// free on return.
void end_network_processes(SandboxRecord& record) {
  network::OwnedProcess::adopt(record.forwarder_pid, record.forwarder_start);
  network::OwnedProcess::adopt(record.pasta_pid, record.pasta_start);
  record.forwarder_pid = 0;
  record.forwarder_start = 0;
  record.pasta_pid = 0;
  record.pasta_start = 0;
}

}  // namespace

void write_plan_lifetime(const std::filesystem::path& plan, const SandboxRecord& record) {
  replace_plan_lines(plan, plan_key::kLifetime,
                     {{std::to_string(record.ttl_deadline_ms), std::to_string(record.idle_timeout_ms)}}, record.id);
}

Duration stop_grace(const Runtime& runtime, const SandboxSpec& spec) {
  return spec.stop_grace.value_or(runtime.config.stop_grace);
}

void stop_leader(const SandboxRecord& record, Duration grace) {
  if (leader_alive(record)) {
    UniqueFd leader(static_cast<int>(::syscall(SYS_pidfd_open, record.leader_pid, 0)));
    // Checked after opening the pidfd, so the fd cannot refer to a reused pid.
    if (leader && leader_alive(record)) {
      pollfd exited{leader.get(), POLLIN, 0};
      if (grace.count() > 0) {
        // The leader sends SIGTERM on to every process, SIGKILL after the grace (it has the
        // same one, from the plan), and exits once they are gone (agent/sandbox_stop.hpp).
        // The wait allows it that and a moment more; SIGKILL below is the backstop.
        ::syscall(SYS_pidfd_send_signal, leader.get(), SIGTERM, nullptr, 0);
        const auto give_up = std::chrono::steady_clock::now() + grace + kLeaderExitMargin;
        while (::poll(&exited, 1, 0) == 0 && std::chrono::steady_clock::now() < give_up) {
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
          ::poll(&exited, 1, static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(left.count(), 1 << 30))));
        }
      }
      // PID 1 dying takes every process of its pid namespace with it.
      if (::poll(&exited, 1, 0) == 0) {
        ::syscall(SYS_pidfd_send_signal, leader.get(), SIGKILL, nullptr, 0);
        ::poll(&exited, 1, 2000);
      }
    }
  }
  for (int i = 0; i < 400 && leader_alive(record); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void stop_sandbox(const Runtime& runtime, SandboxRecord& record) {
  const auto paths = sandbox_paths(runtime.config.sandboxes_dir, record.id);
  std::optional<SandboxCgroup> cgroup;
  if (record.cgroup_version != 0) cgroup.emplace(record.cgroup_version, record.cgroup_dirs, record.id);
  // A frozen leader cannot act on SIGTERM, nor die.
  if (cgroup && cgroup->can_freeze() && cgroup->frozen()) cgroup->thaw();
  // Recorded first: a stop cut short (this process killed) still reads as a stop, not a crash.
  record.stopped = true;
  save_record(paths.record, record);
  stop_leader(record, stop_grace(runtime, record.spec));
  // Its bindings stay in the record, for the next start to bind the same ports again.
  end_network_processes(record);
  // Its address stays for the next start; the host end of its veth goes.
  if (runtime.network && record.spec.network == NetworkMode::bridge)
    if (auto failure = runtime.network->detach(record.id); !failure.empty())
      runtime.log->warn("sandbox {}: stop: {}", record.id, failure);
  // Gone with its processes: a stopped sandbox holds no memory of its own. start() makes it anew.
  if (cgroup) cgroup->remove();
  record.cgroup_version = 0;
  record.cgroup_dirs.clear();
  save_record(paths.record, record);
}

void release_cgroup_of_ended(const Runtime& runtime, const std::string& id) {
  const auto paths = sandbox_paths(runtime.config.sandboxes_dir, id);
  const FileLock lock(paths.record_lock);
  SandboxRecord record = load_record(paths.record, id);
  if (record.cgroup_version == 0 || record.leader_pid == 0 || leader_alive(record)) return;
  SandboxCgroup(record.cgroup_version, record.cgroup_dirs, record.id).remove();
  record.cgroup_version = 0;
  record.cgroup_dirs.clear();
  save_record(paths.record, record);
}

ExitingChild start_sandbox(const Runtime& runtime, SandboxRecord& record) {
  if (leader_alive(record)) return {};
  const auto paths = sandbox_paths(runtime.config.sandboxes_dir, record.id);
  // Started first, so that its exec overlaps the cgroup's creation (as in create).
  PendingHelper helper(runtime.config.helper, paths.plan, record.id);
  std::optional<SandboxCgroup> cgroup = make_cgroup(runtime, record.id, record.spec.limits);
  try {
    // The overlay was mounted `volatile` (rootfs_setup.cpp), which leaves this mark and refuses
    // to mount over it again: the upper layer may have lost writes in a crash of the host. Its
    // leader only ended — the host did not crash, its page cache still holds every write — so
    // the layer is whole.
    std::error_code ignored;
    fs::remove_all(paths.work / "work" / "incompat" / "volatile", ignored);
    std::vector<std::vector<std::string>> cgroup_lines;
    if (cgroup)
      for (const auto& dir : cgroup->dirs()) cgroup_lines.push_back({dir});
    replace_plan_lines(paths.plan, plan_key::kCgroup, cgroup_lines, record.id);
    // A ttl that has passed counts again from this start.
    if (record.ttl_deadline_ms != 0 && record.ttl_deadline_ms <= now_ms() && record.spec.ttl)
      record.ttl_deadline_ms = now_ms() + record.spec.ttl->count();
    write_plan_lifetime(paths.plan, record);
    record.cgroup_version = cgroup ? cgroup->version() : 0;
    record.cgroup_dirs = cgroup ? cgroup->dirs() : std::vector<std::string>{};
    record.stopped = false;
    ExitingChild started = start_leader(helper, record, paths);
    runtime.log->debug("sandbox {}: started again, leader pid {}", record.id, record.leader_pid);
    const std::vector<PortBinding> previous = record.published;
    network::OwnedProcess forwarder = connect_network(runtime, record, previous);
    save_record(paths.record, record);
    forwarder.release();
    return started;
  } catch (...) {
    // Left stopped, as it was: a later start may succeed.
    if (leader_alive(record)) stop_leader(record, Duration(0));
    end_network_processes(record);
    if (cgroup) cgroup->remove();
    record.cgroup_version = 0;
    record.cgroup_dirs.clear();
    record.stopped = true;
    save_record(paths.record, record);
    throw;
  }
}

std::string new_sandbox_id() {
  std::random_device random;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string id;
  for (int i = 0; i < 12; ++i) id.push_back("0123456789abcdef"[digit(random)]);
  return id;
}

std::shared_ptr<SubcontainerHandle> create_sandbox(const std::shared_ptr<Runtime>& runtime, SandboxSpec spec,
                                                   const UpperSeed& seed) {
  validate(spec);
  const auto& config = runtime->config;
  if (spec.network == NetworkMode::bridge && runtime->pasta) {
    if (!runtime->pasta->available())
      throw Error(Errc::unsupported, "subcontainer: network \"bridge\" without root needs pasta (Debian package "
                                     "passt), which is not in $PATH; install it, set [backends.subcontainer] pasta, "
                                     "or use \"none\" or \"host\"");
    // Before anything is made.
    network::PastaNetwork::check("", spec.egress, spec.ports);
  }
  // validate() has refused ports without network "bridge".
  if (spec.image.empty()) spec.image = "host";
  // Before anything is made: a pull may take minutes and may fail.
  const std::string image_ref = runtime->puller->ensure(spec.image);

  std::string id = new_sandbox_id();
  ensure_state_dirs(*runtime);
  SandboxPaths paths = sandbox_paths(config.sandboxes_dir, id);
  fs::path real_dir = make_sandbox_dir(paths.dir, spec.ephemeral ? ephemeral_base(config) : std::nullopt, id);
  CreateRollback rollback(*runtime, id);
  // A bounded tmpfs of its own (ephemeral_dir.hpp), mounted before the helper starts: the
  // sandbox's mount namespace is a copy of this one.
  if (real_dir != paths.dir && !runtime->rootless && config.ephemeral_size != 0)
    mount_ephemeral_tmpfs(real_dir, config.ephemeral_size, id);
  // Started now, it execs and starts up while the rest is prepared; it reads the plan once
  // told to (helper_launch.hpp). Declared after the rollback: on failure it is gone first.
  PendingHelper helper(config.helper, paths.plan, id);
  // Taken once the directory exists: a range whose directory is gone counts as free.
  const IdRange ids = sandbox_ids(*runtime, paths.dir);
  give_to_sandbox_root(real_dir, *runtime, ids, id);
  // The helper gets the real paths, not the ones through an ephemeral sandbox's symlink.
  SandboxPaths real = sandbox_paths(real_dir.parent_path(), id);
  make_dir(paths.root, 0755, id);
  make_dir(paths.work, 0700, id);
  give_to_sandbox_root(paths.work, *runtime, ids, id);

  ResolvedImage image = runtime->images->resolve(image_ref);
  write_sandbox_file(paths.image_pin, image.ref + "\n", id);
  if (!runtime->images->still_stored(image.ref))
    throw Error(Errc::not_found, "image '" + spec.image + "' was deleted while sandbox " + id + " was being created");
  if (seed) {
    seed(paths.upper, ids);
  } else {
    make_dir(paths.upper, 0755, id);
    give_to_sandbox_root(paths.upper, *runtime, ids, id);
  }

  SetupPlan plan;
  plan.id = id;
  plan.hostname = "hutch-" + id;
  plan.default_user = !spec.user.empty() ? spec.user : image.config.user;
  plan.rootless = runtime->rootless;
  plan.outside_uid = plan.outside_gid = ids.first;
  plan.id_count = ids.count;
  plan.network = spec.network;
  // Its resolver, on the bridge's address (egress/resolver_process.hpp).
  // Rootless: an upstream_dns server itself (network/pasta_network.hpp).
  if (spec.network == NetworkMode::bridge)
    plan.nameserver = runtime->pasta ? runtime->pasta->nameserver() : network::format_ipv4(runtime->network->gateway());
  plan.root = real.root.string();
  plan.upper = real.upper.string();
  plan.work = real.work.string();
  add_lower_layers(plan, image, *runtime, paths, real, id);
  plan.read_only_root = spec.read_only_root;
  for (const auto& bind : image.ro_binds)
    plan.binds.push_back({bind.source.string(), bind.target, true, !fs::is_directory(bind.source)});
  add_mounts(plan, spec.mounts, *runtime);
  add_workspace(plan, spec, *runtime, paths, real, ids, id);
  plan.max_file_bytes = spec.max_file_bytes;
  plan.socket = real.socket.string();
  plan.keep_caps = config.keep_caps;
  plan.seccomp = config.seccomp;
  plan.stop_grace_ms = static_cast<std::uint32_t>(stop_grace(*runtime, spec).count());

  std::optional<SandboxCgroup> cgroup = make_cgroup(*runtime, id, spec.limits);
  SandboxRecord record;
  record.id = id;
  record.spec = without_file_contents(spec);
  record.image_ref = image.ref;
  record.image_config = image.config;
  record.owner = current_owner();
  record.created_ms = now_ms();
  if (spec.ttl) record.ttl_deadline_ms = record.created_ms + spec.ttl->count();
  if (spec.idle_timeout) record.idle_timeout_ms = spec.idle_timeout->count();
  plan.ttl_deadline_ms = record.ttl_deadline_ms;
  plan.idle_timeout_ms = record.idle_timeout_ms;
  plan.expiry_file = real.expiry.string();
  if (cgroup) {
    record.cgroup_version = cgroup->version();
    record.cgroup_dirs = cgroup->dirs();
    plan.cgroups = cgroup->dirs();
  }
  record.root_uid = record.root_gid = ids.first;
  record.id_count = ids.count;
  // Saved before the helper runs so that a crash from here on leaves a record prune can find.
  save_record(paths.record, record);

  write_plan(paths.plan, plan);
  ExitingChild started = start_leader(helper, record, paths);
  runtime->log->debug("sandbox {}: started, leader pid {}", id, record.leader_pid);
  // Declared after the rollback: on failure it is ended first.
  network::OwnedProcess forwarder = connect_network(*runtime, record);
  if (record.forwarder_pid != 0 || record.pasta_pid != 0) save_record(paths.record, record);
  rollback.dismiss();
  forwarder.release();
  auto handle = std::make_shared<SubcontainerHandle>(runtime, std::move(record));
  handle->adopt_helper(std::move(started));
  return handle;
}

void destroy_sandbox(const Runtime& runtime, const std::string& id) {
  if (id.empty() || id.find('/') != std::string::npos || id == "." || id == "..") return;
  SandboxPaths paths = sandbox_paths(runtime.config.sandboxes_dir, id);
  std::error_code missing;
  if (!fs::exists(fs::symlink_status(paths.dir, missing))) return;
  std::optional<SandboxRecord> record;
  try {
    record = load_record(paths.record, id);
  } catch (const Error&) {
    // No (readable) record: a create that died early. Its directory is all there is.
  }
  if (record) {
    std::optional<SandboxCgroup> cgroup;
    if (record->cgroup_version != 0) cgroup.emplace(record->cgroup_version, record->cgroup_dirs, id);
    // A frozen leader cannot die; thaw first.
    if (cgroup && cgroup->can_freeze()) {
      try {
        cgroup->thaw();
      } catch (...) {
      }
    }
    stop_leader(*record, stop_grace(runtime, record->spec));
    // It ends with the leader by itself; ended here too, so that the ports are free on return.
    end_network_processes(*record);
    if (cgroup) cgroup->remove();
  }
  // After its leader: nothing in the sandbox uses the address any more. Also without a record
  // (a create that died after taking a lease).
  if (runtime.network)
    if (auto failure = runtime.network->release(id); !failure.empty())
      runtime.log->warn("sandbox {}: releasing its bridge network: {} (prune tries again)", id, failure);
  remove_sandbox_dir(paths.dir);
  // Only once its files are gone may another sandbox get the range.
  if (runtime.id_ranges) {
    if (record && record->id_count > 1)
      runtime.id_ranges->release({record->root_uid, record->id_count}, paths.dir);
    else
      runtime.id_ranges->release_owner(paths.dir);
  }
}

}  // namespace hutch::subcontainer
