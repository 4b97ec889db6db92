// Benchmarks of the subcontainer backend, loaded as a plugin the way hosts load it.
//   BM_CreateExecDestroy   create -> exec true -> destroy (the `hutch run -- /bin/true` path)
//   BM_ExecLatency/GAP     exec true on a live sandbox, GAP ms idle between execs (0: back to
//                          back); p50/p99 as counters (ms)
//   BM_HostSpawnFloor      posix_spawn + wait of /bin/true on the host, no sandbox: the floor
//                          any exec latency on this machine stands on
//   BM_Fork100MB           fork of a sandbox whose upper layer holds 100 MB
//   BM_StdoutThroughput    bytes/s of a command writing to stdout, read by the host
//   BM_IdleSandboxMemory   resident memory of each idle sandbox's leader (KiB), N sandboxes
//                          (bench/idle_memory.sh measures all of a sandbox's host memory)
//   BM_FsFirstOp           a fresh handle's first Fs call (stat "/"): what opening a
//                          sandbox's files costs before the first byte moves
//   BM_FsStat              Fs::stat on a warm Fs: the per-call floor
//   BM_FsWriteRead4K       write then read back a 4 KiB file
//   BM_FsReadThroughput    bytes/s of read_stream of a 64 MiB file
//   BM_CreateNetwork/MODE  create alone (destroy untimed) with network none (0), bridge with
//                          another bridge sandbox alive (1: the bridge and its table exist), or
//                          bridge as the only one (2: each create makes the bridge and table,
//                          each destroy removes them). Root only; bench/network.sh runs it in a
//                          network namespace of its own and prints bridge minus none.
// Every figure is wall-clock time (UseRealTime): the work happens in the sandbox's processes,
// so this thread's CPU time would end MinTime runs late and inflate bytes/s.
// State goes to $HUTCH_BENCH_STATE_DIR (default /tmp/hutch-bench); $HUTCH_BENCH_PLUGIN overrides the
// plugin file, to compare two builds under the same load.
#include <hutch/config.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>
#include <hutch/scoped.hpp>

#include <benchmark/benchmark.h>

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

extern char** environ;

namespace {

std::shared_ptr<hutch::SandboxBackend> backend() {
  static std::shared_ptr<hutch::SandboxBackend> instance = [] {
    hutch::PluginContext context;
    context.name = "subcontainer";
    context.logger = hutch::logger();
    const char* state = std::getenv("HUTCH_BENCH_STATE_DIR");
    context.state_dir = state ? state : "/tmp/hutch-bench";
    hutch::PluginSearch search;
    const char* plugin = std::getenv("HUTCH_BENCH_PLUGIN");
    return hutch::load_backend(plugin ? plugin : HUTCH_PLUGIN_OUTPUT_DIR "/hutch-subcontainer.so", search, context);
  }();
  return instance;
}

hutch::ExecRequest command(std::vector<std::string> argv) {
  hutch::ExecRequest request;
  request.argv = std::move(argv);
  return request;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

void BM_CreateExecDestroy(benchmark::State& state) {
  auto true_cmd = command({"/bin/true"});
  for (auto _ : state) {
    hutch::ScopedSandbox sandbox(*backend(), {});
    auto result = sandbox->exec(true_cmd);
    if (result.exit_code != 0) state.SkipWithError("true failed");
  }
}
BENCHMARK(BM_CreateExecDestroy)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3);

void BM_ExecLatency(benchmark::State& state) {
  hutch::ScopedSandbox sandbox(*backend(), {});
  auto true_cmd = command({"/bin/true"});
  const auto gap = std::chrono::milliseconds(state.range(0));
  std::vector<double> samples;
  for (auto _ : state) {
    if (gap.count() > 0) {
      state.PauseTiming();
      std::this_thread::sleep_for(gap);
      state.ResumeTiming();
    }
    auto started = std::chrono::steady_clock::now();
    auto result = sandbox->exec(true_cmd);
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    if (result.exit_code != 0) state.SkipWithError("true failed");
  }
  state.counters["p50_ms"] = percentile(samples, 0.50);
  state.counters["p99_ms"] = percentile(samples, 0.99);
}
BENCHMARK(BM_ExecLatency)->Arg(0)->Arg(20)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(500);

void BM_HostSpawnFloor(benchmark::State& state) {
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  std::vector<double> samples;
  for (auto _ : state) {
    auto started = std::chrono::steady_clock::now();
    pid_t pid;
    int status = 0;
    if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ) != 0 || ::waitpid(pid, &status, 0) != pid ||
        status != 0)
      state.SkipWithError("posix_spawn /bin/true failed");
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  }
  state.counters["p50_ms"] = percentile(samples, 0.50);
  state.counters["p99_ms"] = percentile(samples, 0.99);
}
BENCHMARK(BM_HostSpawnFloor)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(500);

void BM_Fork100MB(benchmark::State& state) {
  hutch::ScopedSandbox source(*backend(), {});
  source->exec(command({"sh", "-c", "head -c 104857600 /dev/urandom > /root/data"}));
  for (auto _ : state) {
    auto started = std::chrono::steady_clock::now();
    auto copy = source->fork();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    state.PauseTiming();
    copy->destroy();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Fork100MB)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(10);

void BM_StdoutThroughput(benchmark::State& state) {
  hutch::ScopedSandbox sandbox(*backend(), {});
  constexpr std::int64_t kBytes = 512 << 20;
  for (auto _ : state) {
    auto process = sandbox->spawn(command({"head", "-c", std::to_string(kBytes), "/dev/zero"}));
    std::int64_t seen = 0;
    while (auto chunk = process->read_output()) seen += static_cast<std::int64_t>(chunk->data.size());
    process->wait();
    if (seen != kBytes) state.SkipWithError("short output");
  }
  state.SetBytesProcessed(state.iterations() * kBytes);
}
BENCHMARK(BM_StdoutThroughput)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void BM_IdleSandboxMemory(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<hutch::ScopedSandbox> sandboxes;
    for (int i = 0; i < count; ++i) sandboxes.emplace_back(*backend(), hutch::SandboxSpec{});
    double total = 0;
    // PID 1 inside is the leader; VmRSS counts its shared pages too, so this is an upper
    // bound of what each idle sandbox costs the host.
    for (auto& sandbox : sandboxes) {
      auto rss = sandbox->exec(command({"sh", "-c", "grep VmRSS /proc/1/status | tr -dc 0-9"}));
      total += std::atof(rss.stdout_data.c_str());
    }
    state.counters["leader_rss_kib_avg"] = total / count;
  }
}
BENCHMARK(BM_IdleSandboxMemory)->Arg(50)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FsFirstOp(benchmark::State& state) {
  hutch::ScopedSandbox sandbox(*backend(), {});
  std::vector<double> samples;
  for (auto _ : state) {
    // A new handle has no Fs yet: the first call pays for whatever opening the files costs.
    auto fresh = backend()->resume(sandbox->id());
    auto started = std::chrono::steady_clock::now();
    fresh->fs().stat("/");
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    state.PauseTiming();
    fresh.reset();
    state.ResumeTiming();
  }
  state.counters["p50_ms"] = percentile(samples, 0.50);
  state.counters["p99_ms"] = percentile(samples, 0.99);
}
BENCHMARK(BM_FsFirstOp)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(200);

void BM_FsStat(benchmark::State& state) {
  hutch::ScopedSandbox sandbox(*backend(), {});
  hutch::Fs& files = sandbox->fs();
  files.stat("/");
  for (auto _ : state) benchmark::DoNotOptimize(files.stat("/etc/passwd"));
}
BENCHMARK(BM_FsStat)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(2);

void BM_FsWriteRead4K(benchmark::State& state) {
  hutch::ScopedSandbox sandbox(*backend(), {});
  hutch::Fs& files = sandbox->fs();
  const std::string data(4096, 'x');
  for (auto _ : state) {
    files.write("/tmp/bench-4k", data);
    if (files.read("/tmp/bench-4k").size() != data.size()) state.SkipWithError("short read");
  }
}
BENCHMARK(BM_FsWriteRead4K)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(2);

void BM_FsReadThroughput(benchmark::State& state) {
  hutch::ScopedSandbox sandbox(*backend(), {});
  constexpr std::int64_t kBytes = 64 << 20;
  sandbox->exec(command({"sh", "-c", "head -c " + std::to_string(kBytes) + " /dev/zero > /root/big"}));
  hutch::Fs& files = sandbox->fs();
  for (auto _ : state) {
    std::int64_t seen = 0;
    files.read_stream("/root/big", [&](std::string_view chunk) {
      seen += static_cast<std::int64_t>(chunk.size());
      return true;
    });
    if (seen != kBytes) state.SkipWithError("short read");
  }
  state.SetBytesProcessed(state.iterations() * kBytes);
}
BENCHMARK(BM_FsReadThroughput)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(20);

}  // namespace

void BM_CreateNetwork(benchmark::State& state) {
  hutch::SandboxSpec spec;
  spec.network = state.range(0) == 0 ? hutch::NetworkMode::none : hutch::NetworkMode::bridge;
  std::optional<hutch::ScopedSandbox> keeper;
  if (state.range(0) == 1) keeper.emplace(*backend(), spec);
  std::vector<double> samples;
  for (auto _ : state) {
    const auto started = std::chrono::steady_clock::now();
    hutch::ScopedSandbox sandbox(*backend(), spec);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    state.SetIterationTime(took.count());
    samples.push_back(took.count() * 1000);
  }
  state.counters["p50_ms"] = percentile(samples, 0.50);
  state.counters["p99_ms"] = percentile(samples, 0.99);
}
BENCHMARK(BM_CreateNetwork)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(200);

BENCHMARK_MAIN();
