#!/usr/bin/env bash
# Builds the test images from the busybox-static package (no registry is reachable):
#   - the docker image hutch-test-busybox:latest (docker import of a busybox rootfs)
#   - $HUTCH_TEST_DATA/busybox-rootfs.tar      a plain rootfs tarball (subcontainer import)
#   - $HUTCH_TEST_DATA/busybox-docker-save.tar `docker save` of the image (layered import)
#   - the docker image hutch-test-defaults:latest, built FROM it with ENTRYPOINT/CMD/ENV/
#     WORKDIR/USER (.ci/test-images/defaults), and $HUTCH_TEST_DATA/defaults-docker-save.tar
#   - a Debian docker-registry on $HUTCH_TEST_REGISTRY (default 127.0.0.1:5117, plain HTTP,
#     data in $HUTCH_TEST_DATA/registry) holding hutch/busybox:latest, hutch/defaults:latest
#     and hutch/layers:latest (.ci/test-images/layers: several layers, whiteouts, an opaque
#     directory), pushed with docker (which treats 127.0.0.0/8 as an insecure registry)
# Idempotent: existing outputs are kept.
set -euo pipefail

data=${HUTCH_TEST_DATA:-/tmp/hutch-test-data}
image=${HUTCH_DOCKER_TEST_IMAGE:-hutch-test-busybox:latest}
mkdir -p "$data"

rootfs_tar="$data/busybox-rootfs.tar"
if [ ! -s "$rootfs_tar" ]; then
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  mkdir -p "$staging"/{bin,etc,tmp,root,proc,dev,sys,home}
  cp /bin/busybox "$staging/bin/busybox"
  for applet in $("$staging/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$staging/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nhutchuser:x:1000:1000:hutch user:/home:/bin/sh\n' >"$staging/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nhutchuser:x:1000:\n' >"$staging/etc/group"
  chmod 1777 "$staging/tmp"
  tar --numeric-owner --owner=0 --group=0 -C "$staging" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
fi

if [ "${1:-}" != --no-docker ]; then
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' "$rootfs_tar" "$image" >/dev/null
  fi
  save_tar="$data/busybox-docker-save.tar"
  if [ ! -s "$save_tar" ]; then
    docker save -o "$save_tar.tmp" "$image"
    mv "$save_tar.tmp" "$save_tar"
  fi
  defaults_image=${HUTCH_DOCKER_DEFAULTS_IMAGE:-hutch-test-defaults:latest}
  if ! docker image inspect "$defaults_image" >/dev/null 2>&1; then
    # The classic builder: FROM a local image, nothing pulled.
    DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$image" -t "$defaults_image" \
      "$(dirname "$0")/test-images/defaults" >/dev/null
  fi
  defaults_tar="$data/defaults-docker-save.tar"
  if [ ! -s "$defaults_tar" ]; then
    docker save -o "$defaults_tar.tmp" "$defaults_image"
    mv "$defaults_tar.tmp" "$defaults_tar"
  fi

  registry=${HUTCH_TEST_REGISTRY:-127.0.0.1:5117}
  if ! curl -fsS "http://$registry/v2/" >/dev/null 2>&1; then
    mkdir -p "$data/registry"
    cat >"$data/registry/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $data/registry/storage
http:
  addr: $registry
YAML
    setsid docker-registry serve "$data/registry/config.yml" >"$data/registry/log" 2>&1 </dev/null &
    echo $! >"$data/registry/pid"
    for _ in $(seq 50); do
      curl -fsS "http://$registry/v2/" >/dev/null 2>&1 && break
      sleep 0.1
    done
    curl -fsS "http://$registry/v2/" >/dev/null
  fi
  layers_image=hutch-test-layers:latest
  if ! docker image inspect "$layers_image" >/dev/null 2>&1; then
    DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$image" -t "$layers_image" \
      "$(dirname "$0")/test-images/layers" >/dev/null
  fi
  for pair in "$image:hutch/busybox:latest" "$defaults_image:hutch/defaults:latest" "$layers_image:hutch/layers:latest"; do
    local_name=${pair%%:hutch/*}
    remote="$registry/hutch/${pair#*:hutch/}"
    repository=${remote#*/}
    if ! curl -fs -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$registry/v2/${repository%:*}/manifests/${repository##*:}"; then
      docker tag "$local_name" "$remote"
      docker push -q "$remote" >/dev/null
      docker rmi "$remote" >/dev/null
    fi
  done
fi
