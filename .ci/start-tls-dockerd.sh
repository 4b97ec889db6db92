#!/usr/bin/env bash
# A second dockerd for the TLS tests (issue 20): it listens on tcp://127.0.0.1:23760 with
# --tlsverify and on its own unix socket, keeps its own data, exec root and managed containerd
# (nothing is shared with the main daemon), makes no bridge and no iptables rules (the tests'
# sandboxes have no network), and holds the test image loaded from the main daemon.
# Certificates made here with openssl, in $dir/pki:
#   ca.pem ca.key                 the CA the daemon trusts for clients and signs its own cert with
#   server.pem server.key         the daemon's: for IP 127.0.0.1 only (so "localhost" is a wrong name)
#   client/                       ca.pem cert.pem key.pem: a good client (DOCKER_CERT_PATH layout)
#   no-cert/                      ca.pem only: a client without a certificate
#   wrong-ca/                     another CA's ca.pem with the good client cert and key
#   expired.pem expired.key       a server certificate (127.0.0.1) that has expired
# Idempotent: a daemon already answering is left as it is. Needs the main dockerd (for the image).
set -euo pipefail

dir=${HUTCH_TLS_DOCKERD_DIR:-/var/lib/hutch-ci/tls-dockerd}
port=${HUTCH_TLS_DOCKERD_PORT:-23760}
image=${HUTCH_DOCKER_TEST_IMAGE:-hutch-test-busybox:latest}
socket=$dir/docker.sock
pki=$dir/pki

local_docker() { docker -H "unix://$socket" "$@"; }

make_pki() {
  mkdir -p "$pki/client" "$pki/no-cert" "$pki/wrong-ca" "$pki/other-ca"
  cd "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj "/CN=hutch test CA" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca/ca.key -out other-ca/ca.pem -days 3650 \
    -subj "/CN=hutch other CA" 2>/dev/null
  sign() {  # NAME DAYS EXTENSIONS
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days "$2" \
      -extfile <(printf '%s\n' "$3") 2>/dev/null
    rm -f "$1.csr"
  }
  sign server 3650 $'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'
  sign client-cert 3650 'extendedKeyUsage=clientAuth'
  sign expired 0 $'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'
  cp ca.pem client/ca.pem
  cp client-cert.pem client/cert.pem
  cp client-cert.key client/key.pem
  cp ca.pem no-cert/ca.pem
  cp other-ca/ca.pem wrong-ca/ca.pem
  cp client-cert.pem wrong-ca/cert.pem
  cp client-cert.key wrong-ca/key.pem
  chmod -R go-rwx "$pki"
}

if [ -S "$socket" ] && local_docker version >/dev/null 2>&1; then
  exit 0
fi
mkdir -p "$dir"
[ -f "$pki/client/cert.pem" ] || (make_pki)
log=$dir/dockerd.log
nohup dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
  -H "unix://$socket" -H "tcp://127.0.0.1:$port" \
  --tlsverify --tlscacert "$pki/ca.pem" --tlscert "$pki/server.pem" --tlskey "$pki/server.key" \
  --bridge none --iptables=false --ip6tables=false >"$log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  if [ -S "$socket" ] && local_docker version >/dev/null 2>&1; then
    if ! local_docker image inspect "$image" >/dev/null 2>&1; then
      docker save "$image" | local_docker load >/dev/null
    fi
    exit 0
  fi
  sleep 0.5
done
echo "the TLS dockerd did not come up within 60 s; its log ($log) ends with:" >&2
tail -n 30 "$log" >&2
exit 1
