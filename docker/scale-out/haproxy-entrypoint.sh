#!/bin/sh
# Entrypoint of the HAProxy image (Dockerfile.haproxy): puts the container
# network's own DNS server, the first `nameserver` of /etc/resolv.conf, in
# CONTAINER_DNS for haproxy.cfg's resolvers section (unless it is set
# already), then runs the command.
#
# Only that server: the host's resolvers, which Podman lists after it,
# answer "no such name" for the replicas' names, and HAProxy would take
# every replica out of service whenever the container DNS is slow to
# answer (Podman's aardvark-dns drops queries while it reloads, each time a
# container starts or stops). Docker (127.0.0.11) and Kubernetes (the
# cluster DNS) list their own server first as well.
set -eu
if [ -z "${CONTAINER_DNS:-}" ]; then
	ns=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null || true)
	if [ -z "$ns" ]; then
		echo "mja-haproxy-entrypoint: no nameserver in /etc/resolv.conf; set CONTAINER_DNS (address:port)" >&2
		exit 1
	fi
	case "$ns" in
	*:*) ns="ipv6@$ns" ;;
	esac
	CONTAINER_DNS="$ns:53"
fi
export CONTAINER_DNS
echo "mja-haproxy-entrypoint: container DNS $CONTAINER_DNS" >&2
exec "$@"
