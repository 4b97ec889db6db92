#include "tar_in_sandbox.hpp"

#include <hutch/error.hpp>

#include <exception>
#include <utility>

namespace hutch::docker {
namespace {

// Enough of tar's stderr to say what went wrong; the rest is counted out.
constexpr std::size_t kKeptErrorBytes = 4096;

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// "./NAME": tar is given a name relative to -C, never one that could read as an option.
std::string relative_name(const std::string& path) { return "./" + path.substr(path.rfind('/') + 1); }

void keep_error_text(std::string& kept, std::string_view more) {
  if (kept.size() < kKeptErrorBytes) kept.append(more.substr(0, kKeptErrorBytes - kept.size()));
}

// tar's failure as an Error: what tar said, and a code callers can act on. tar reports a
// missing path with strerror(ENOENT) (or ENOTDIR for a file in its way) in the C locale the
// command runs in.
Error tar_failure(const ExecResult& result, std::string errors, const std::string& what) {
  while (!errors.empty() && (errors.back() == '\n' || errors.back() == '\r')) errors.pop_back();
  if (result.timed_out) return Error(Errc::timeout, what + ": tar in the sandbox did not finish in time");
  if (!result.signal && result.exit_code == 127)
    return Error(Errc::unsupported, what + ": the path is on a tmpfs mount, which this engine's archive API does not "
                                           "see, and the sandbox has no tar(1) to reach it instead (" + errors + ")");
  const Errc code = errors.find("No such file or directory") != std::string::npos ||
                            errors.find("Not a directory") != std::string::npos
                        ? Errc::not_found
                        : Errc::io;
  return Error(code, what + ": tar in the sandbox failed (status " + std::to_string(result.shell_status()) +
                         "): " + (errors.empty() ? "no message" : errors));
}

// Reads what is left of the command's output (so it never blocks on a full pipe) and waits
// for it; stderr is kept in `errors`.
ExecResult finish(Process& process, std::string& errors) {
  while (auto chunk = process.read_output())
    if (chunk->stream == StreamId::stderr_stream) keep_error_text(errors, chunk->data);
  ExecResult result = process.wait();
  keep_error_text(errors, result.stderr_data);
  return result;
}

}  // namespace

std::unique_ptr<Process> TarInSandbox::start(std::vector<std::string> argv, const std::string& what) {
  try {
    return spawn_as_root_(std::move(argv));
  } catch (const Error& error) {
    throw Error(error.code(), what + ": starting tar in the sandbox: " + error.what());
  }
}

std::optional<FileStat> TarInSandbox::stat(const std::string& path, const std::string& what) {
  std::optional<FileStat> found;
  try {
    run_reading({"tar", "-c", "-f", "-", "--numeric-owner", "--no-recursion", "-C", parent_of(path),
                 relative_name(path)},
                path, what, [&](ArchiveReader& tar) {
                  if (tar.next() != nullptr) found = tar.entry_stat();
                });
  } catch (const Error& error) {
    if (error.code() == Errc::not_found) return std::nullopt;
    throw;
  }
  if (!found) throw Error(Errc::io, what + ": tar in the sandbox sent no entry for '" + path + "'");
  return found;
}

void TarInSandbox::read(const std::string& path, bool contents_only, const std::string& what,
                        const std::function<void(ArchiveReader&)>& use) {
  std::vector<std::string> argv{"tar", "-c", "-f", "-", "--numeric-owner"};
  if (contents_only) {
    argv.insert(argv.end(), {"-C", path, "."});
  } else {
    argv.insert(argv.end(), {"-C", parent_of(path), relative_name(path)});
  }
  run_reading(std::move(argv), path, what, use);
}

void TarInSandbox::run_reading(std::vector<std::string> argv, const std::string& path, const std::string& what,
                               const std::function<void(ArchiveReader&)>& use) {
  auto process = start(std::move(argv), what);
  std::string chunk;
  std::string errors;
  std::exception_ptr failure;
  try {
    auto tar = ArchiveReader::from_stream(
        [&]() -> std::string_view {
          while (auto out = process->read_output()) {
            if (out->stream == StreamId::stderr_stream) {
              keep_error_text(errors, out->data);
              continue;
            }
            if (out->data.empty()) continue;
            chunk = std::move(out->data);
            return chunk;
          }
          return {};
        },
        "tar of " + path + " in the sandbox");
    use(tar);
  } catch (...) {
    failure = std::current_exception();  // an empty stream from a failed tar: its status says why
  }
  const ExecResult result = finish(*process, errors);
  if (result.shell_status() != 0) throw tar_failure(result, std::move(errors), what);
  if (failure) std::rethrow_exception(failure);
}

void TarInSandbox::write(const std::string& directory, const std::string& what,
                         const std::function<void(ArchiveWriter&)>& fill) {
  auto process = start({"tar", "-x", "-f", "-", "--numeric-owner", "-C", directory}, what);
  std::exception_ptr failure;
  try {
    ArchiveWriter tar(
        [&](std::string_view chunk) {
          process->write_stdin(chunk);
          return true;
        },
        what);
    fill(tar);
    tar.finish();
  } catch (...) {
    failure = std::current_exception();  // e.g. tar ended early: its own message says why
  }
  process->close_stdin();
  std::string errors;
  const ExecResult result = finish(*process, errors);
  if (result.shell_status() != 0) throw tar_failure(result, std::move(errors), what);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace hutch::docker
