#!/usr/bin/env bash
# Makes throw-away certificates for the TLS tests in DIR (EC P-256, valid 2
# days): a CA; a server certificate it signed for 127.0.0.1 and localhost; a
# client certificate it signed; and a second CA with a client certificate
# of its own (one the server must refuse).
#   tests/server/tls/make_test_certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # NAME
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=llm2vec test $1" -days 2 -out "$1.crt"
}
signed() {  # NAME CA EXTENSIONS
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=llm2vec test $1" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
ca ca
ca other-ca
signed server ca "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
signed server2 other-ca "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
signed client ca "extendedKeyUsage=clientAuth"
signed rogue-client other-ca "extendedKeyUsage=clientAuth"
