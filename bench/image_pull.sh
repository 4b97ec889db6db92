#!/usr/bin/env bash
# Pull speed of the subcontainer backend against `docker pull`, same image, same registry, same
# run (issue 18 targets: hutch <= 0.8x docker's time; a second image sharing 4 of 5 layers
# downloads only the new one).
#   bench/image_pull.sh [BUILD_DIR] [RUNS]      (defaults: build, 3)
# Builds two images with docker from the test image (.ci/build-test-images.sh):
#   bench/pull:a  the busybox layer + 4 layers of 12.5 MB random data (~51 MB, 5 layers)
#   bench/pull:b  the same first 4 layers + a different 5th
# pushes them to the local registry ($HUTCH_TEST_REGISTRY, default 127.0.0.1:5117), removes
# them from docker, then times RUNS pulls of bench/pull:a with each tool from empty stores
# (a new hutch state directory; `docker rmi` between docker's pulls), alternating. Finally
# hutch pulls bench/pull:b on top of :a and counts the layers it downloaded. Only loopback
# traffic. Needs root (or a rootless setup) like hutch itself, and dockerd.
set -euo pipefail
build=${1:-build}
runs=${2:-3}
registry=${HUTCH_TEST_REGISTRY:-127.0.0.1:5117}
base=${HUTCH_DOCKER_TEST_IMAGE:-hutch-test-busybox:latest}
hutch="$(realpath "$build")/bin/hutch"
export HUTCH_PLUGIN_PATH="$(realpath "$build")/plugins"
work=$(mktemp -d /tmp/hutch-bench-pull.XXXXXX)
trap 'rm -rf "$work"; docker rmi -f "$registry/bench/pull:a" "$registry/bench/pull:b" >/dev/null 2>&1 || true' EXIT

curl -fsS "http://$registry/v2/" >/dev/null || { echo "no registry on $registry (.ci/build-test-images.sh)" >&2; exit 1; }

# The images: random (incompressible) layers, so the registry serves ~51 MB.
layer() { echo "RUN dd if=/dev/urandom of=/$1 bs=1M count=12 2>/dev/null && dd if=/dev/urandom of=/$1 bs=512K count=1 seek=24 2>/dev/null"; }
for tag in a b; do
  mkdir -p "$work/$tag"
  { echo "FROM $base"; layer l1; layer l2; layer l3; layer "l4-$tag"; } >"$work/$tag/Dockerfile"
done
if ! curl -fs -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$registry/v2/bench/pull/manifests/b"; then
  for tag in a b; do
    DOCKER_BUILDKIT=0 docker build -q -t "$registry/bench/pull:$tag" "$work/$tag" >/dev/null
    docker push -q "$registry/bench/pull:$tag" >/dev/null
  done
fi
docker rmi -f "$registry/bench/pull:a" "$registry/bench/pull:b" >/dev/null 2>&1 || true
docker image prune -f >/dev/null

manifest=$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$registry/v2/bench/pull/manifests/a")
layers=$(echo "$manifest" | grep -o '"size": *[0-9]*' | tail -n +2 | wc -l)
bytes=$(echo "$manifest" | grep -o '"size": *[0-9]*' | tail -n +2 | awk -F: '{s+=$2} END {print s}')
echo "image $registry/bench/pull:a: $layers layers, $((bytes / 1000000)) MB compressed"

now() { date +%s.%N; }
hutch_total=0 docker_total=0
for run in $(seq "$runs"); do
  state="$work/state-$run"
  mkdir -p "$state"
  printf '[defaults]\nstate_dir = "%s"\n' "$state" >"$work/hutch.toml"
  start=$(now)
  "$hutch" --config "$work/hutch.toml" --backend subcontainer pull "$registry/bench/pull:a" >/dev/null 2>"$work/hutch-$run.log"
  hutch_time=$(echo "$(now) - $start" | bc)
  start=$(now)
  docker pull -q "$registry/bench/pull:a" >/dev/null
  docker_time=$(echo "$(now) - $start" | bc)
  docker rmi -f "$registry/bench/pull:a" >/dev/null
  if [ "$run" -lt "$runs" ]; then rm -rf "$state"; fi
  echo "run $run: hutch (subcontainer) ${hutch_time}s, docker pull ${docker_time}s"
  hutch_total=$(echo "$hutch_total + $hutch_time" | bc)
  docker_total=$(echo "$docker_total + $docker_time" | bc)
done
echo "mean: hutch $(echo "scale=3; $hutch_total / $runs" | bc)s, docker $(echo "scale=3; $docker_total / $runs" | bc)s," \
  "ratio hutch/docker $(echo "scale=2; $hutch_total / $docker_total" | bc) (target <= 0.8)"

# The second image on top of the first (the last run's store is kept).
"$hutch" --config "$work/hutch.toml" --backend subcontainer pull "$registry/bench/pull:b" >/dev/null 2>"$work/second.log"
downloaded=$(grep -c ': downloaded and verified' "$work/second.log" || true)
stored=$(grep -c ': already stored' "$work/second.log" || true)
echo "second image bench/pull:b: $downloaded layer(s) downloaded, $stored already stored (target: 1 and 4)"
"$hutch" --config "$work/hutch.toml" --backend subcontainer image prune >/dev/null
