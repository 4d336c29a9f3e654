#!/bin/sh
# jwks-tls.sh [DIR [NAME]] - TLS files for the scale-out example's JWKS
# server (docker/scale-out/compose.yaml, service `jwks`): a test CA and a
# server certificate for host name NAME (default jwks, the compose service
# name, which the replicas' jwks_url uses), written to DIR (default
# docker/scale-out/jwks-tls/, not in git):
#   ca.pem       the CA certificate: the replicas' plugin_opt_jwks_ca_file
#   server.pem   the server's certificate (NAME as subjectAltName), for the JWKS server
#   server.key   its private key (mode 0600), for the JWKS server only
# The CA's private key is thrown away once it has signed: this CA can vouch
# for nothing else. Valid for 825 days; run again to renew (then SIGHUP the
# replicas: jwks_ca_file is read at start and at SIGHUP). Needs openssl.
set -eu
dir=${1:-$(dirname "$0")/jwks-tls}
name=${2:-jwks}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 825 \
	-subj "/CN=mosquitto-jwt-auth scale-out JWKS test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/server.key" -out "$tmp/server.csr" -subj "/CN=$name" 2>/dev/null
cat > "$tmp/ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$name
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
	-set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$tmp/ext" \
	-out "$tmp/server.pem" 2>/dev/null
openssl verify -CAfile "$tmp/ca.pem" -verify_hostname "$name" "$tmp/server.pem" >/dev/null
chmod 0644 "$tmp/ca.pem" "$tmp/server.pem"
chmod 0600 "$tmp/server.key"
mv "$tmp/ca.pem" "$tmp/server.pem" "$tmp/server.key" "$dir/"
echo "jwks-tls.sh: wrote $dir/ca.pem, $dir/server.pem, $dir/server.key (host name $name)"
