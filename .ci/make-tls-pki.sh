#!/usr/bin/env bash
# Certificates for dockerd's TLS listener on 127.0.0.1 (.ci/start-dockerd.sh) and the TLS tests
# (tests/docker/integration/test_tls.cpp), made with openssl in $1 (kept when already there):
#   ca.pem ca.key                 the CA the daemon trusts for clients and signs its own cert with
#   server.pem server.key         the daemon's: for IP 127.0.0.1 only (so "localhost" is a wrong name)
#   client/                       ca.pem cert.pem key.pem: a good client (DOCKER_CERT_PATH layout)
#   no-cert/                      ca.pem only: a client without a certificate
#   wrong-ca/                     another CA's ca.pem with the good client cert and key
#   expired.pem expired.key       a server certificate (127.0.0.1) that has expired
set -euo pipefail
pki=$1
[ -f "$pki/client/cert.pem" ] && exit 0
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
