#include "docker_process.hpp"

#include "containers.hpp"

#include "engine/query.hpp"
#include "engine_quirks.hpp"

#include <hutch/error.hpp>
#include <hutch/spec.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace hutch::docker {
namespace json = boost::json;
namespace {

// Signals every process whose initial environment holds the marker, except itself. For
// SIGKILL it repeats until a pass finds none (a dying parent may have forked meanwhile).
// Exits 0 when it signalled something, 3 when it found nothing.
constexpr const char* kKillTreeScript = R"(sig=$1; marker=HUTCH_EXEC_ID=$2; self=$$; round=0; any=3
while [ $round -lt 50 ]; do
  found=0
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = "$self" ] && continue
    if tr '\0' '\n' < "$dir/environ" 2>/dev/null | grep -qxF "$marker"; then
      kill -"$sig" "$pid" 2>/dev/null && found=1 && any=0
    fi
  done
  [ $found = 0 ] && break
  [ "$sig" = 9 ] || break
  round=$((round+1))
done
exit $any)";

constexpr const char* kMarkerVariable = "HUTCH_EXEC_ID";

std::string describe_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    out += arg;
    if (out.size() > 80) return out.substr(0, 80) + "...";
  }
  return out;
}

}  // namespace

DockerProcess::DockerProcess(std::shared_ptr<Context> context, std::string container, ExecRequest request,
                             std::string user)
    : context_(std::move(context)), container_(std::move(container)), request_(std::move(request)),
      user_(std::move(user)), marker_(random_hex(16)) {
  what_ = "exec '" + describe_command(request_.argv) + "' in sandbox " + container_;
}

std::unique_ptr<DockerProcess> DockerProcess::start(std::shared_ptr<Context> context, const std::string& container,
                                                    const ExecRequest& request, const std::string& default_user,
                                                    bool attach_stdin,
                                                    const std::vector<std::string>& env_changes) {
  validate(request);
  std::string user = request.user.empty() ? default_user : request.user;
  std::unique_ptr<DockerProcess> process(new DockerProcess(std::move(context), container, request, user));
  DockerProcess& self = *process;
  self.stdin_attached_ = attach_stdin || request.stdin_data.has_value();

  json::object create;
  create["AttachStdin"] = self.stdin_attached_;
  create["AttachStdout"] = true;
  create["AttachStderr"] = true;
  create["Tty"] = request.tty;
  // Engine API 1.42 and later start the terminal at this size (older ones ignore the field;
  // the resize after the start below sets it there).
  if (request.tty && request.tty_cols != 0 && request.tty_rows != 0)
    create["ConsoleSize"] = json::array{request.tty_rows, request.tty_cols};
  json::array env;
  std::vector<std::string> argv = request.argv;
  // Entries without '=' are names Handle::set_env unset; a request's own env wins over them.
  std::vector<std::string> unset;
  for (const auto& entry : env_changes) {
    if (entry.find('=') != std::string::npos) env.emplace_back(entry);
    else if (!request.env.contains(entry)) unset.push_back(entry);
  }
  if (!unset.empty() && exec_env_cannot_unset(self.context_->client->engine()))
    argv = unset_then_exec_argv(unset, argv);
  else
    for (const auto& name : unset) env.emplace_back(name);
  for (const auto& [key, value] : request.env) env.emplace_back(key + "=" + value);
  env.emplace_back(std::string(kMarkerVariable) + "=" + self.marker_);
  create["Env"] = std::move(env);
  json::array cmd;
  for (const auto& arg : argv) cmd.emplace_back(arg);
  create["Cmd"] = std::move(cmd);
  if (!request.cwd.empty()) create["WorkingDir"] = request.cwd;
  if (!user.empty()) create["User"] = user;

  Request create_request;
  create_request.method = Method::post;
  create_request.target = Target("/containers").segment(container).str() + "/exec";
  create_request.body = json::serialize(create);
  create_request.what = "create " + self.what_;
  try {
    self.exec_id_ = std::string(self.context_->client->call_json(create_request).at("Id").as_string());
  } catch (const Error&) {
    // Paused or stopped: dockerd answers 409, Podman 500; say which from the container's state.
    if (auto refusal = state_refusal(*self.context_, container, "create " + self.what_)) throw *refusal;
    throw;
  }

  Request start_request;
  start_request.method = Method::post;
  start_request.target = Target("/exec").segment(self.exec_id_).str() + "/start";
  start_request.body = json::serialize(json::object{{"Detach", false}, {"Tty", request.tty}});
  start_request.what = "start " + self.what_;
  try {
    self.stream_ = self.context_->client->hijack(start_request);
  } catch (const Error& error) {
    // dockerd starts the exec and its process fails with status 126; Podman refuses the start.
    if (!user.empty() && std::string_view(error.what()).find("unable to find user") != std::string_view::npos)
      throw Error(Errc::invalid_argument, self.what_ + ": unknown user '" + user + "' (not in the sandbox's /etc/passwd)");
    throw;
  }
  self.started_ = Clock::now();
  if (request.timeout) self.deadline_ = self.started_ + *request.timeout;
  // The exec's first size for engines before API 1.42 (no ConsoleSize): a command that reads
  // its size at once may still see 0x0 there, as with `docker exec -t` on those engines.
  if (request.tty && (request.tty_cols != 0 || request.tty_rows != 0))
    self.resize(request.tty_cols != 0 ? request.tty_cols : 80, request.tty_rows != 0 ? request.tty_rows : 24);

  if (!self.stdin_attached_) {
    self.stdin_closed_ = true;
  } else if (request.stdin_data) {
    // A separate writer: writing all input before reading output could deadlock once both
    // pipes are full.
    self.stdin_closed_ = true;
    self.stdin_writer_ = std::thread([&self, data = *request.stdin_data] {
      try {
        self.write_to_stdin(data);
      } catch (...) {
        self.stdin_error_ = std::current_exception();
      }
      self.stream_->shutdown_send();
    });
  }
  return process;
}

void DockerProcess::resize(std::uint16_t cols, std::uint16_t rows) {
  if (!request_.tty) throw Error(Errc::state, what_ + ": resize: the command was started without a tty");
  Request request;
  request.method = Method::post;
  request.target = Target(Target("/exec").segment(exec_id_).str() + "/resize")
                       .add("h", static_cast<long long>(rows))
                       .add("w", static_cast<long long>(cols))
                       .str();
  request.what = "resize the terminal of " + what_;
  try {
    context_->client->call(request);
  } catch (const Error& e) {
    // The exec has ended (the daemon answers 404 or 409/500 for a gone process): nothing to resize.
    if (e.code() != Errc::not_found && e.code() != Errc::state && e.code() != Errc::backend) throw;
  }
}

DockerProcess::~DockerProcess() {
  // Only a started exec can have processes to end (and a failed start must not recurse).
  if (stream_ && !result_ && !stream_ended_) {
    try {
      kill(9);
    } catch (const std::exception& e) {
      context_->logger->warn("docker: could not kill {} on release: {}", what_, e.what());
    }
  }
  if (stdin_writer_.joinable()) {
    if (stream_) stream_->shutdown_send();
    stdin_writer_.join();
  }
}

void DockerProcess::on_deadline() {
  if (timed_out_) {
    throw Error(Errc::timeout, what_ + ": the command was killed after its " +
                                   std::to_string(request_.timeout->count()) +
                                   " ms timeout but its output stream did not end");
  }
  timed_out_ = true;
  signal_tree(9);
  // Give the daemon time to close the stream after the kill.
  deadline_ = Clock::now() + context_->client->request_timeout();
}

void DockerProcess::read_more() {
  char buffer[64 * 1024];
  for (;;) {
    // Wake at least once per request timeout to check that the daemon is still alive, so a
    // quiet command never hides a dead daemon.
    Deadline slice = std::min(deadline_, Clock::now() + context_->client->request_timeout());
    auto n = stream_->read_some(buffer, sizeof buffer, slice);
    if (!n) {
      if (Clock::now() >= deadline_) {
        on_deadline();
      } else {
        context_->client->ping();
      }
      continue;
    }
    if (*n == 0) {
      stream_ended_ = true;
      if (!request_.tty && !demuxer_.at_boundary())
        throw Error(Errc::io, what_ + ": the output stream ended in the middle of a frame");
      return;
    }
    std::string_view bytes(buffer, *n);
    auto append = [&](StreamId stream, std::string_view data) {
      if (!pending_.empty() && pending_.back().stream == stream)
        pending_.back().data.append(data);
      else
        pending_.push_back(OutputChunk{stream, std::string(data)});
    };
    if (request_.tty) {
      append(StreamId::stdout_stream, bytes);
    } else {
      demuxer_.feed(bytes, [&](FrameStream stream, std::string_view payload) {
        if (stream == FrameStream::stderr_stream)
          append(StreamId::stderr_stream, payload);
        else if (stream == FrameStream::stdout_stream)
          append(StreamId::stdout_stream, payload);
      });
    }
    if (!pending_.empty()) return;
  }
}

std::optional<OutputChunk> DockerProcess::read_output() {
  while (pending_.empty() && !stream_ended_) read_more();
  if (pending_.empty()) return std::nullopt;
  OutputChunk chunk = std::move(pending_.front());
  pending_.pop_front();
  return chunk;
}

void DockerProcess::write_stdin(std::string_view data) {
  std::lock_guard lock(stdin_mutex_);
  if (!stdin_attached_ || stdin_closed_)
    throw Error(Errc::state, what_ + ": stdin is " + (stdin_attached_ ? "closed" : "not attached"));
  write_to_stdin(data);
}

void DockerProcess::write_to_stdin(std::string_view data) {
  while (!data.empty()) {
    Deadline slice = std::min(deadline_, Clock::now() + context_->client->request_timeout());
    if (auto n = stream_->write_some(data, slice)) {
      data.remove_prefix(*n);
      continue;
    }
    if (Clock::now() >= deadline_)
      throw Error(Errc::timeout, what_ + ": writing to stdin did not progress before the command's timeout");
    context_->client->ping();  // throws when the daemon is gone; else the command is just busy
  }
}

void DockerProcess::close_stdin() {
  std::lock_guard lock(stdin_mutex_);
  if (!stdin_attached_ || stdin_closed_) return;
  stdin_closed_ = true;
  stream_->shutdown_send();
}

int DockerProcess::inspect_exit_code() {
  Request request;
  request.target = Target("/exec").segment(exec_id_).str() + "/json";
  request.what = "inspect " + what_;
  auto wait_until = Clock::now() + context_->client->request_timeout();
  auto pause = std::chrono::milliseconds(2);
  for (;;) {
    auto value = context_->client->call_json(request);
    const auto& object = value.as_object();
    bool running = object.at("Running").as_bool();
    if (!running) {
      const auto& code = object.at("ExitCode");
      return code.is_null() ? -1 : static_cast<int>(code.to_number<std::int64_t>());
    }
    if (Clock::now() > wait_until)
      throw Error(Errc::timeout, what_ + ": its output ended but the daemon still reports it running");
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

ExecResult DockerProcess::wait() {
  if (result_) return *result_;
  ExecResult result;
  auto keep = [&](std::string& into, bool& truncated, std::string_view data) {
    std::uint64_t room = request_.output_limit > into.size() ? request_.output_limit - into.size() : 0;
    if (data.size() > room) {
      truncated = true;
      data = data.substr(0, room);
    }
    into.append(data);
  };
  while (auto chunk = read_output()) {
    if (chunk->stream == StreamId::stdout_stream)
      keep(result.stdout_data, result.stdout_truncated, chunk->data);
    else
      keep(result.stderr_data, result.stderr_truncated, chunk->data);
  }
  if (stdin_writer_.joinable()) stdin_writer_.join();
  int code = inspect_exit_code();
  result.duration = std::chrono::duration_cast<Duration>(Clock::now() - started_);
  result.timed_out = timed_out_;
  // The daemon reports death by signal N as 128+N, as a shell does, and nothing else tells
  // the two apart: a code in 129..192 is read as that signal, as the SDK contract asks for a
  // death by signal (an explicit `exit 137` is therefore reported as signal 9; shell_status()
  // is the same either way). The agent path sees the real wait status and has no such guess.
  if (code > 128 && code <= 128 + 64) {
    result.signal = code - 128;
  } else {
    result.exit_code = code;
  }
  // runc reports a program it cannot start with its own message on stdout and status 126 or
  // 127; a shell says 127 on stderr.
  if ((code == 126 || code == 127) && result.stdout_data.starts_with("OCI runtime exec failed")) {
    bool missing = result.stdout_data.find("executable file not found") != std::string::npos ||
                   result.stdout_data.find("no such file or directory") != std::string::npos;
    if (missing) result.exit_code = 127;
    result.stderr_data = std::move(result.stdout_data) + result.stderr_data;
    result.stdout_data.clear();
  }
  result_ = result;
  return result;
}

void DockerProcess::kill(int signal) {
  if (!stream_ || result_ || stream_ended_) return;
  if (signal <= 0 || signal > 64) throw Error(Errc::invalid_argument, what_ + ": no signal " + std::to_string(signal));
  signal_tree(signal);
}

void DockerProcess::signal_tree(int signal) {
  sent_signal_ = signal;
  // Right after the start the command may not run yet: until the killer finds it, or the
  // daemon reports the exec ended, try again.
  auto give_up = Clock::now() + context_->client->request_timeout();
  for (;;) {
    ExecResult killer;
    try {
      killer = run_helper(context_, container_,
                          {"/bin/sh", "-c", kKillTreeScript, "hutch-kill", std::to_string(signal), marker_}, user_);
    } catch (const Error& e) {
      // The daemon refuses an exec into a paused container (409): say so instead of quoting the
      // helper's script. The command, frozen too, goes on after the unpause.
      if (e.code() == Errc::state && container_paused(*context_, container_))
        throw paused_elsewhere(what_ + ": cannot signal the command", container_);
      throw;
    }
    if (killer.exit_code == 0) return;
    if (killer.exit_code != 3)
      throw Error(Errc::backend, what_ + ": the kill helper failed (status " + std::to_string(killer.shell_status()) +
                                     "): " + killer.stderr_data);
    Request request;
    request.target = Target("/exec").segment(exec_id_).str() + "/json";
    request.what = "inspect " + what_;
    auto state = context_->client->call_json(request).as_object();
    bool running = state.at("Running").as_bool();
    auto pid = state.at("Pid").to_number<std::int64_t>();
    if (!running && pid != 0) return;  // it has ended
    if (Clock::now() > give_up)
      throw Error(Errc::timeout, what_ + ": could not find its processes to signal");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ExecResult run_helper(const std::shared_ptr<Context>& context, const std::string& container,
                      std::vector<std::string> argv, const std::string& user) {
  ExecRequest request;
  request.argv = std::move(argv);
  request.user = user;
  request.timeout = context->client->request_timeout();
  request.output_limit = 1 << 20;
  auto process = DockerProcess::start(context, container, request, user, false);
  return process->wait();
}

}  // namespace hutch::docker
