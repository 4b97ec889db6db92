#!/usr/bin/env bash
# Compares two commands run alternately (A B, B A, ...) so that drift of the machine hits both:
#   bench/ab.sh N 'command A' 'command B'
# e.g. bench/ab.sh 150 'old/bin/hutch --config a.toml run -- /bin/true' 'build/bin/hutch --config b.toml run -- /bin/true'
# Prints per command the wall-time median and 10%-trimmed mean, and the median CPU time (user +
# system of the command and the children it waited for), then the B/A ratios. On a small VM a
# difference below ~2% needs N >= 150 to stand out of the noise; single traced runs mislead.
# Give each build its own state_dir, so that neither sees the other's sandboxes.
set -euo pipefail
if [ $# -ne 3 ]; then
  sed -n '2,8p' "$0" >&2
  exit 2
fi
exec python3 - "$@" <<'PY'
import resource, shlex, statistics, subprocess, sys, time

n = int(sys.argv[1])
commands = [shlex.split(sys.argv[2]), shlex.split(sys.argv[3])]
wall, cpu = [[], []], [[], []]
for command in commands:  # warm-up, and a check that both work
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
for i in range(n):
    for k in ((0, 1) if i % 2 == 0 else (1, 0)):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(commands[k], stdout=subprocess.DEVNULL, check=True)
        wall[k].append((time.perf_counter() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[k].append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)

def trimmed_mean(values):
    values = sorted(values)
    cut = len(values) // 10
    values = values[cut:len(values) - cut]
    return sum(values) / len(values)

for k in (0, 1):
    print(f"{'AB'[k]}: wall median {statistics.median(wall[k]):.2f} ms, trimmed mean "
          f"{trimmed_mean(wall[k]):.2f} ms | cpu median {statistics.median(cpu[k]):.2f} ms")
print(f"B/A: wall median {statistics.median(wall[1]) / statistics.median(wall[0]):.3f}, trimmed mean "
      f"{trimmed_mean(wall[1]) / trimmed_mean(wall[0]):.3f}, cpu {statistics.median(cpu[1]) / statistics.median(cpu[0]):.3f}")
PY
