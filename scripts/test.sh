#!/usr/bin/env bash
# Install what is missing, build, and run every test suite through ctest:
#   1. the normal build: unit tests, interoperability, end-to-end against a
#      real Mosquitto, the container suite (skipped, and said so, without an
#      engine), the command-line tool's tests;
#      the container suite (ctest `container`) uses Docker if its daemon
#      answers, else Podman: run as root, this script sets MJA_CONTAINER=1 so
#      that the suite first runs scripts/container-setup.sh (installs podman,
#      runc, podman-compose, debootstrap; makes the base image locally).
#      MJA_CONTAINER=0 skips the container suite;
#   2. the same unit and end-to-end suites built with AddressSanitizer and
#      UndefinedBehaviorSanitizer;
#   3. the JWKS unit and end-to-end tests with ThreadSanitizer;
#   4. the libFuzzer harnesses, each for a bounded time.
# Usage: scripts/test.sh            (everything)
#        MJA_STAGES="main" scripts/test.sh   (a subset: main asan tsan fuzz)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MJA_ROOT"

mja_install_deps
# The e2e OpenID provider (test/e2e/test_oidc.py) is npm's oidc-provider,
# which that test installs into the build folder; it needs node (nodejs, in
# apt-packages.txt) and npm, which Debian packages apart from nodejs
# (NodeSource's nodejs brings its own: then nothing is installed here).
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
fi
# As root, let the container suite prepare Podman (see the header).
if [ "$(id -u)" -eq 0 ]; then
	export MJA_CONTAINER="${MJA_CONTAINER:-1}"
fi

stages="${MJA_STAGES:-main asan tsan fuzz}"
jobs=$(nproc)
status=0

run_stage() {
	local name="$1"; shift
	echo "=== stage $name"
	if "$@"; then
		echo "=== stage $name: passed"
	else
		echo "=== stage $name: FAILED"
		status=1
	fi
}

stage_main() {
	cmake -S . -B build/main -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMJA_BUILD_TESTS=ON &&
	cmake --build build/main -j "$jobs" &&
	(cd build/main && ctest --output-on-failure -j 1 -LE 'fuzz')
}

stage_asan() {
	# Unit, end-to-end and attack suites with ASan + UBSan. The broker is not
	# instrumented: the e2e harness preloads the sanitizer runtimes when the
	# plugin is, and fails a test on any report. valgrind cannot run a
	# sanitized plugin; the flood test (slow) would measure ASan's
	# quarantine, not the plugin.
	cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DMJA_BUILD_TESTS=ON \
		-DMJA_BUILD_BENCH=OFF -DMJA_SANITIZE=address,undefined &&
	cmake --build build/asan -j "$jobs" &&
	(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j 1 -LE 'fuzz|container|bench|slow|valgrind')
}

stage_tsan() {
	# The JWKS fetcher is the plugin's only thread besides the broker's: its
	# unit tests and the JWKS end-to-end tests with ThreadSanitizer (the
	# harness preloads libtsan into Debian's broker and fails on any report).
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMJA_BUILD_TESTS=ON \
		-DMJA_BUILD_BENCH=OFF -DMJA_SANITIZE=thread &&
	cmake --build build/tsan -j "$jobs" --target mosquitto_jwt_auth test_jwks &&
	(cd build/tsan && TSAN_OPTIONS=halt_on_error=1 \
		ctest --output-on-failure -j 1 -R '^(unit_jwks|e2e_jwks|e2e_oidc)$')
}

stage_fuzz() {
	# Each libFuzzer harness for MJA_FUZZ_SECONDS (default 60) on a copy of
	# its seed corpus, two at a time; any finding fails the test.
	CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DMJA_BUILD_TESTS=ON \
		-DMJA_BUILD_BENCH=OFF -DMJA_BUILD_TOOL=OFF -DMJA_BUILD_FUZZERS=ON \
		-DMJA_FUZZ_SECONDS="${MJA_FUZZ_SECONDS:-60}" &&
	cmake --build build/fuzz -j "$jobs" --target mja_fuzzers &&
	(cd build/fuzz && ctest --output-on-failure -j "$jobs" -L fuzz)
}

for s in $stages; do
	run_stage "$s" "stage_$s"
done
exit $status
