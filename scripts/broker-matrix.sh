#!/usr/bin/env bash
# Other Mosquitto versions for the tests: Debian chroots with their own
# broker and its headers, made from the Debian mirror apt already uses.
#
#   scripts/broker-matrix.sh setup [SUITE...]
#       Make (or check) a chroot per suite, default "trixie sid":
#       debootstrap --variant=minbase, then mosquitto, its headers and the
#       plugin's build dependencies. Idempotent: a ready chroot is only
#       checked. trixie has Mosquitto 2.0.x, sid 2.1.x.
#   scripts/broker-matrix.sh run SUITE COMMAND [ARG...]
#       Run COMMAND inside the chroot, in a private mount namespace with
#       /proc mounted and /dev, the temporary folder (${TMPDIR:-/tmp}) and
#       this repository bound at the same paths as on the host (so a path
#       means the same inside and out, and nothing stays mounted after the
#       command). The process keeps its PID (exec all the way), so it is
#       usable as the e2e harness's broker wrapper:
#         MJA_E2E_BROKER_WRAPPER="scripts/broker-matrix.sh run sid"
#   scripts/broker-matrix.sh build SUITE BUILD_DIR [CMAKE_ARG...]
#       Configure and build the plugin (and its unit tests) inside the
#       chroot against that broker's headers, with -Werror.
#   scripts/broker-matrix.sh nows-broker
#       Build Mosquitto from Debian sid's source package without
#       websockets, inside the sid chroot; prints the broker's path (inside
#       the chroot). Idempotent.
#   scripts/broker-matrix.sh version SUITE
#       The chroot's mosquitto version.
#
# Where: MJA_CHROOT_DIR (default /var/tmp/mja-chroots), one folder per suite.
# Needs root (debootstrap, chroot, mount).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CHROOT_DIR="${MJA_CHROOT_DIR:-/var/tmp/mja-chroots}"
# Build dependencies of the plugin and its tests (libcurl: the JWKS fetcher; openssl: the unit
# tests sign with it; python3-minimal: CMake
# looks for the tests' interpreter; the tests themselves run on the host).
CHROOT_PACKAGES="mosquitto mosquitto-dev libmosquitto-dev cmake make gcc libc6-dev
pkg-config libssl-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev python3-minimal openssl"

die() { echo "broker-matrix: $*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
}

root_of() { echo "$CHROOT_DIR/$1"; }

# apt inside a chroot. sid's Release file on a mirror snapshot can be past
# its Valid-Until date: do not let that stop apt.
chroot_apt() {
	local root="$1"; shift
	DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot "$root" \
		apt-get -q -o Acquire::Check-Valid-Until=false "$@"
}

setup_one() {
	local suite="$1" root mirror p missing=()
	root=$(root_of "$suite")
	mirror=$(mja_apt_mirror)
	if [ ! -f "$root/.mja-debootstrap-done" ]; then
		command -v debootstrap >/dev/null || {
			export DEBIAN_FRONTEND=noninteractive
			apt-get install -y -q --no-install-recommends debootstrap; }
		echo "broker-matrix: debootstrap $suite from $mirror into $root"
		rm -rf "$root"
		mkdir -p "$root"
		debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || {
			tail -n 20 "$root.log" >&2; die "debootstrap $suite failed (log: $root.log)"; }
		cat >"$root/etc/apt/sources.list" <<-EOF
		deb $mirror $suite main
		deb-src $mirror $suite main
		EOF
		# No daemons start inside the chroot when packages are installed.
		printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
		chmod 0755 "$root/usr/sbin/policy-rc.d"
		touch "$root/.mja-debootstrap-done"
		rm -f "$root.log"
	fi
	for p in $CHROOT_PACKAGES; do
		chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "broker-matrix: $suite: installing ${missing[*]}"
		chroot_apt "$root" update
		chroot_apt "$root" install -y --no-install-recommends "${missing[@]}"
		chroot_apt "$root" clean
	fi
	echo "broker-matrix: $suite ready at $root: mosquitto $(version_of "$suite")"
}

version_of() {
	local root
	root=$(root_of "$1")
	chroot "$root" dpkg-query -W -f='${Version}' mosquitto 2>/dev/null | sed 's/-[^-]*$//'
}

# run SUITE CMD...: see the header.
run_in() {
	local suite="$1"; shift
	local root tmp
	root=$(root_of "$suite")
	[ -x "$root/usr/sbin/mosquitto" ] || die "no chroot for $suite at $root (run: $0 setup $suite)"
	tmp=$(cd "${TMPDIR:-/tmp}" && pwd -P)
	mkdir -p "$root$tmp" "$root$MJA_ROOT" "$root/proc" "$root/dev"
	exec unshare --mount --propagation private -- /bin/sh -c '
		root="$1" tmp="$2" src="$3"; shift 3
		mount -t proc proc "$root/proc" &&
		mount --rbind /dev "$root/dev" &&
		mount --bind "$tmp" "$root$tmp" &&
		mount --bind "$src" "$root$src" || exit 125
		exec chroot "$root" "$@"' sh "$root" "$tmp" "$MJA_ROOT" "$@"
}

build_in() {
	local suite="$1" build="$2"; shift 2
	case "$build" in /*) ;; *) build="$MJA_ROOT/$build" ;; esac
	case "$build" in "$MJA_ROOT"/*) ;; *) die "the build folder must be inside $MJA_ROOT" ;; esac
	mkdir -p "$build"
	# The tool is left out: built against the chroot's C library, it may
	# not run on the host, where the tests run (its tests skip, saying so).
	"$0" run "$suite" /bin/sh -c '
		cd "$1" && shift && build="$1" && shift &&
		cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
			-DMJA_BUILD_TESTS=ON -DMJA_BUILD_TOOL=OFF -DMJA_BUILD_BENCH=OFF \
			-DCMAKE_C_FLAGS=-Werror "$@" >/dev/null &&
		cmake --build "$build" -j "$(nproc)"' sh "$MJA_ROOT" "$build" "$@"
}

# Mosquitto from Debian's source package (apt-get source with the chroot's
# deb-src line, Debian's patches applied), built with upstream's CMake
# without websockets (and without what the tests do not need: clients,
# apps, plugins, docs, the HTTP API). Its main loop then sleeps until its
# next timer: what a plugin's TICK next_ms must cope with.
NOWS_DIR=/opt/mosquitto-nows
nows_broker() {
	local root src=/usr/src/mosquitto-src
	root=$(root_of sid)
	[ -x "$root/usr/sbin/mosquitto" ] || die "no sid chroot at $root (run: $0 setup sid)"
	if [ -x "$root$NOWS_DIR/sbin/mosquitto" ]; then
		echo "$NOWS_DIR/sbin/mosquitto"
		return 0
	fi
	local p missing=()
	for p in dpkg-dev g++ libcjson-dev xz-utils; do
		chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		chroot_apt "$root" update >&2
		chroot_apt "$root" install -y --no-install-recommends "${missing[@]}" >&2
	fi
	rm -rf "${root:?}$src"
	mkdir -p "$root$src"
	echo "broker-matrix: building mosquitto (sid source package) without websockets" >&2
	chroot "$root" /bin/sh -c "cd $src &&
		apt-get -q -o Acquire::Check-Valid-Until=false source --download-only mosquitto &&
		dpkg-source -x mosquitto_*.dsc tree" >"$root$src.log" 2>&1 || {
		tail -n 20 "$root$src.log" >&2; die "apt-get source mosquitto failed in the sid chroot"; }
	chroot "$root" /bin/sh -c "cd $src/tree && cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_INSTALL_PREFIX=$NOWS_DIR -DWITH_WEBSOCKETS=OFF -DWITH_HTTP_API=OFF \
		-DWITH_DOCS=OFF -DWITH_CLIENTS=OFF -DWITH_APPS=OFF -DWITH_PLUGINS=OFF \
		-DWITH_TESTS=OFF -DWITH_LTO=OFF -DWITH_CTRL_SHELL=OFF -DWITH_LIB_CPP=OFF &&
		cmake --build build -j \$(nproc) && cmake --install build" >>"$root$src.log" 2>&1 || {
		tail -n 30 "$root$src.log" >&2; die "building mosquitto without websockets failed"; }
	grep -q '^WITH_WEBSOCKETS:BOOL=OFF' "$root$src/tree/build/CMakeCache.txt" ||
		die "the built broker has websockets"
	echo "$NOWS_DIR/sbin/mosquitto"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
setup)
	need_root
	[ $# -gt 0 ] || set -- trixie sid
	for s in "$@"; do setup_one "$s"; done ;;
run)
	need_root
	[ $# -ge 2 ] || die "usage: $0 run SUITE COMMAND [ARG...]"
	run_in "$@" ;;
build)
	need_root
	[ $# -ge 2 ] || die "usage: $0 build SUITE BUILD_DIR [CMAKE_ARG...]"
	build_in "$@" ;;
nows-broker)
	need_root
	nows_broker ;;
version)
	[ $# -eq 1 ] || die "usage: $0 version SUITE"
	version_of "$1" ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2 ;;
esac
