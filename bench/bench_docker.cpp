// Docker backend benchmarks, through the plugin as a host uses it:
//   CreateExecDestroy  one sandbox's whole life with one command
//   ExecLatency        `true` in a running sandbox; p50/p99 counters in milliseconds, through
//                      the in-sandbox agent (/agent) and through the Docker exec API (/exec_api)
//   Fork               commit + start of a sibling (and its destroy)
//   StdoutThroughput   bytes per second of a command's stdout through the hijacked stream
// Every figure is wall-clock time (UseRealTime): the work happens in the daemon and the
// container, so this thread's CPU time would inflate bytes/s.
// Needs a running dockerd and the image $HUTCH_DOCKER_TEST_IMAGE (default hutch-test-busybox:latest).
#include <hutch/hutch.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

std::string test_image() {
  const char* image = std::getenv("HUTCH_DOCKER_TEST_IMAGE");
  return image != nullptr && *image != '\0' ? image : "hutch-test-busybox:latest";
}

// How commands reach the sandbox: [backends.docker] agent = "on" or "off".
enum class Path { agent, exec_api };

// The backend for `path`, or nullptr with `error` set when the plugin or daemon is unavailable.
std::shared_ptr<hutch::SandboxBackend> backend(std::string& error, Path path = Path::agent) {
  struct Loaded {
    std::shared_ptr<hutch::SandboxBackend> backend;
    std::string error;
  };
  static std::map<Path, Loaded> loaded;
  auto [entry, first] = loaded.try_emplace(path);
  if (first) {
    try {
      hutch::PluginContext context;
      context.name = "docker";
      context.logger = hutch::logger();
      auto config = hutch::ConfigTable::parse(
          std::string("[backends.docker]\nagent = \"") + (path == Path::agent ? "on" : "off") + "\"\n", "bench");
      context.config = *config.get_table("backends")->get_table("docker");
      hutch::PluginSearch search;
      search.use_env = false;
      search.use_install_dir = false;
      entry->second.backend = hutch::load_backend(std::string(HUTCH_PLUGIN_OUTPUT_DIR) + "/hutch-docker.so", search, context);
      entry->second.backend->list();  // reaches the daemon
    } catch (const std::exception& e) {
      entry->second.error = e.what();
      entry->second.backend.reset();
    }
  }
  error = entry->second.error;
  return entry->second.backend;
}

hutch::SandboxSpec spec() {
  hutch::SandboxSpec spec;
  spec.image = test_image();
  spec.labels["hutch-bench"] = "docker";
  return spec;
}

hutch::ExecRequest command(std::vector<std::string> argv) {
  hutch::ExecRequest request;
  request.argv = std::move(argv);
  request.timeout = std::chrono::seconds(60);
  return request;
}

void CreateExecDestroy(benchmark::State& state) {
  std::string error;
  auto docker = backend(error);
  if (!docker) return state.SkipWithError(error.c_str());
  for (auto _ : state) {
    hutch::ScopedSandbox sandbox(*docker, spec());
    auto result = sandbox->exec(command({"true"}));
    if (result.exit_code != 0) return state.SkipWithError("`true` failed in the sandbox");
  }
}
BENCHMARK(CreateExecDestroy)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void ExecLatency(benchmark::State& state, Path path) {
  std::string error;
  auto docker = backend(error, path);
  if (!docker) return state.SkipWithError(error.c_str());
  hutch::ScopedSandbox sandbox(*docker, spec());
  std::vector<double> samples;
  for (auto _ : state) {
    auto started = std::chrono::steady_clock::now();
    auto result = sandbox->exec(command({"true"}));
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    if (result.exit_code != 0) return state.SkipWithError("`true` failed in the sandbox");
  }
  std::sort(samples.begin(), samples.end());
  auto percentile = [&](double p) { return samples[std::min(samples.size() - 1, static_cast<std::size_t>(p * samples.size()))]; };
  state.counters["p50_ms"] = percentile(0.50);
  state.counters["p99_ms"] = percentile(0.99);
}
BENCHMARK_CAPTURE(ExecLatency, agent, Path::agent)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(200);
BENCHMARK_CAPTURE(ExecLatency, exec_api, Path::exec_api)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(50);

void Fork(benchmark::State& state) {
  std::string error;
  auto docker = backend(error);
  if (!docker) return state.SkipWithError(error.c_str());
  hutch::ScopedSandbox source(*docker, spec());
  source->fs().write("/workspace/data", std::string(1 << 20, 'x'));
  for (auto _ : state) {
    hutch::ScopedSandbox copy(source->fork());
    benchmark::DoNotOptimize(copy->id());
  }
}
BENCHMARK(Fork)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void StdoutThroughput(benchmark::State& state) {
  std::string error;
  auto docker = backend(error);
  if (!docker) return state.SkipWithError(error.c_str());
  hutch::ScopedSandbox sandbox(*docker, spec());
  const std::int64_t bytes = 64ll << 20;
  for (auto _ : state) {
    // dd with 1 MiB blocks, not `head -c`: busybox head writes 4 KiB at a time and is itself
    // slower (about 180 MB/s through a pipe on the host) than the path measured here.
    auto process = sandbox->spawn(
        command({"dd", "if=/dev/zero", "bs=1048576", "count=" + std::to_string(bytes >> 20), "status=none"}));
    process->close_stdin();
    std::int64_t received = 0;
    while (auto chunk = process->read_output()) received += static_cast<std::int64_t>(chunk->data.size());
    process->wait();
    if (received != bytes) return state.SkipWithError("short output");
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(StdoutThroughput)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
