#!/usr/bin/env bash
# Prepare Podman on a Debian machine (12 or 13) so that docker/Dockerfile
# and docker/compose.yaml run unchanged without a Docker engine and without
# an image registry (see the README's "Docker" section):
#   1. install podman, runc, podman-compose and debootstrap if missing;
#   2. make the base image docker.io/library/debian:SUITE-slim locally
#      (debootstrap from the mirror apt uses + podman import), only if it
#      does not exist yet. SUITE: the first argument, else MJA_DEBIAN_SUITE,
#      else the Dockerfile's default (trixie); bookworm, trixie or sid.
# Usage: scripts/container-setup.sh [SUITE]
# Podman must then be run with CONTAINERS_CONF=docker/containers.conf
# (runc, no default ulimits); this script uses it and prints the line.
# Idempotent: a second run does nothing but check. Needs root.
# Exit status: 0 ready, 1 failed (the reason is printed).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

suite="${1:-${MJA_DEBIAN_SUITE:-$(sed -n 's/^ARG DEBIAN_SUITE=\([a-z]*\)$/\1/p' "$MJA_ROOT/docker/Dockerfile")}}"
case "$suite" in
bookworm|trixie|sid) ;;
*) echo "container-setup: unknown Debian suite '$suite' (bookworm, trixie, sid)" >&2; exit 1 ;;
esac
BASE_IMAGE=docker.io/library/debian:$suite-slim
export CONTAINERS_CONF="$MJA_ROOT/docker/containers.conf"

if [ "$(id -u)" -ne 0 ]; then
	echo "container-setup: needs root (apt-get, rootful podman)" >&2
	exit 1
fi

missing=()
for p in podman runc podman-compose debootstrap; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "container-setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q "${missing[@]}"
fi

if podman image exists "$BASE_IMAGE"; then
	echo "container-setup: base image $BASE_IMAGE present"
else
	# debootstrap from the mirror apt already uses (no other registry).
	mirror=$(mja_apt_mirror) || exit 1
	rootfs=$(mktemp -d /var/tmp/mja-rootfs.XXXXXX)
	trap 'rm -rf "$rootfs"' EXIT
	echo "container-setup: debootstrap $suite from $mirror (about a minute)"
	debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
		tail -n 20 "$rootfs.log" >&2; rm -f "$rootfs.log"
		echo "container-setup: debootstrap failed" >&2; exit 1; }
	rm -f "$rootfs.log"
	# Like the official slim image: no apt caches in the base layer.
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
	tar -C "$rootfs" -c . | podman import - "$BASE_IMAGE" >/dev/null
	echo "container-setup: imported $BASE_IMAGE"
fi

podman info >/dev/null 2>&1 || { podman info >&2; echo "container-setup: podman does not work" >&2; exit 1; }
echo "container-setup: ready; use: export CONTAINERS_CONF=$CONTAINERS_CONF"
