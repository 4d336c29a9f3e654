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
#   2. the broker matrix (root only; scripts/broker-matrix.sh): Debian 13's
#      Mosquitto 2.0.21 and sid's 2.1.2 in chroots, the plugin built inside
#      each against that broker's own headers with -Werror, its unit tests
#      run there, the e2e and attack suites run from the host against that
#      broker; then a 2.1.2 built without websockets from Debian's source
#      package runs the expiry suites (the host's 2.0.11 is stage 1's);
#   3. the same unit and end-to-end suites built with AddressSanitizer and
#      UndefinedBehaviorSanitizer;
#   4. the JWKS unit and end-to-end tests with ThreadSanitizer;
#   5. the libFuzzer harnesses, each for a bounded time.
# Stages main, matrix and asan run ctest with -j 2: every test runs alone
# (RUN_SERIAL, test/CMakeLists.txt) but the two labelled `idle` (over a
# minute of waiting on an idle broker each), which run beside each other.
# Usage: scripts/test.sh            (everything)
#        MJA_STAGES="main" scripts/test.sh   (a subset: main matrix asan tsan fuzz)
#        MJA_MATRIX="sid" scripts/test.sh    (matrix suites: trixie sid nows)
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

stages="${MJA_STAGES:-main matrix asan tsan fuzz}"
jobs=$(nproc)
status=0

run_stage() {
	local name="$1" t0=$SECONDS; shift
	echo "=== stage $name"
	if "$@"; then
		echo "=== stage $name: passed ($((SECONDS - t0)) s)"
	else
		echo "=== stage $name: FAILED ($((SECONDS - t0)) s)"
		status=1
	fi
}

stage_main() {
	cmake -S . -B build/main -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMJA_BUILD_TESTS=ON &&
	cmake --build build/main -j "$jobs" &&
	(cd build/main && ctest --output-on-failure -j 2 -LE 'fuzz')
}

# The broker matrix: see the header. e2e_demo is left out: the demo builds
# and runs the host's own broker, which stage main tests.
matrix_suite() {
	local suite="$1" build="build/matrix-$1" t0=$SECONDS
	local wrapper="$MJA_ROOT/scripts/broker-matrix.sh run $suite"
	echo "--- matrix $suite: mosquitto $(scripts/broker-matrix.sh version "$suite")"
	local rc=0
	if scripts/broker-matrix.sh build "$suite" "$build"; then
		scripts/broker-matrix.sh run "$suite" /bin/sh -c \
			"cd '$MJA_ROOT/$build' && ctest --output-on-failure -L unit" || rc=1
		(cd "$build" && MJA_E2E_BROKER_WRAPPER="$wrapper" MJA_E2E_BROKER_SLOW=0 \
			ctest --output-on-failure -j 2 -L 'e2e|attack' -E '^e2e_demo$') || rc=1
	else
		rc=1
	fi
	echo "--- matrix $suite: $([ $rc -eq 0 ] && echo passed || echo FAILED) ($((SECONDS - t0)) s)"
	return $rc
}

matrix_nows() {
	# Mosquitto 2.1.2 without websockets sleeps until its next timer: the
	# expiry disconnects rely on the plugin's TICK wake-up (docs/design.md,
	# "Broker facts"). The plugin is the one built against sid's headers.
	local build="build/matrix-sid" broker t0=$SECONDS
	[ -f "$build/plugin/mosquitto_jwt_auth.so" ] || scripts/broker-matrix.sh build sid "$build" || return 1
	broker=$(scripts/broker-matrix.sh nows-broker) || return 1
	echo "--- matrix nows: $broker (2.1.2, WITH_WEBSOCKETS=OFF)"
	local rc=0
	(cd "$build" && MJA_MOSQUITTO="$broker" MJA_E2E_BROKER_SLOW=0 \
		MJA_E2E_BROKER_WRAPPER="$MJA_ROOT/scripts/broker-matrix.sh run sid" \
		ctest --output-on-failure -j 1 -L e2e -R "${MJA_MATRIX_NOWS_TESTS:-^e2e_(expiry|regress_stale_entry)$}") || rc=1
	echo "--- matrix nows: $([ $rc -eq 0 ] && echo passed || echo FAILED) ($((SECONDS - t0)) s)"
	return $rc
}

stage_matrix() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "matrix: SKIPPED, needs root (debootstrap, chroot, mount)"
		return 0
	fi
	local s rc=0
	scripts/broker-matrix.sh setup trixie sid || return 1
	for s in ${MJA_MATRIX:-trixie sid nows}; do
		case "$s" in
		nows) matrix_nows || rc=1 ;;
		*) matrix_suite "$s" || rc=1 ;;
		esac
	done
	return $rc
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
		ctest --output-on-failure -j 2 -LE 'fuzz|container|bench|slow|valgrind')
}

stage_tsan() {
	# The plugin's threads besides the broker's: the JWKS fetcher and the
	# signature-check workers (verify_threads). Their unit tests and
	# end-to-end tests with ThreadSanitizer (the harness preloads libtsan
	# into the broker and fails on any report). The workers run on
	# Mosquitto 2.1 only: that part uses the sid chroot's 2.1 broker
	# (scripts/broker-matrix.sh; root only, skipped otherwise).
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMJA_BUILD_TESTS=ON \
		-DMJA_BUILD_BENCH=OFF -DMJA_SANITIZE=thread &&
	cmake --build build/tsan -j "$jobs" --target mosquitto_jwt_auth test_jwks test_workers \
		test_session_workers &&
	(cd build/tsan && TSAN_OPTIONS=halt_on_error=1 \
		ctest --output-on-failure -j 1 \
		-R '^(unit_jwks|unit_workers|unit_session_workers|e2e_jwks|e2e_oidc)$') || return 1
	if [ "$(id -u)" -ne 0 ]; then
		echo "tsan: the Mosquitto 2.1 part SKIPPED, needs root (the sid chroot)"
		return 0
	fi
	local build=build/tsan-sid runtime
	scripts/broker-matrix.sh setup sid &&
	runtime=$(scripts/broker-matrix.sh run sid gcc -print-file-name=libtsan.so) &&
	scripts/broker-matrix.sh build sid "$build" -DMJA_SANITIZE=thread -DMJA_BUILD_BENCH=OFF &&
	scripts/broker-matrix.sh run sid /bin/sh -c "cd '$MJA_ROOT/$build' &&
		TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j 1 \
		-R '^(unit_workers|unit_session_workers|unit_jwks)$'" &&
	(cd "$build" && MJA_E2E_BROKER_WRAPPER="$MJA_ROOT/scripts/broker-matrix.sh run sid" \
		MJA_E2E_BROKER_SLOW=0 \
		MJA_E2E_TSAN_RUNTIME="$runtime" \
		ctest --output-on-failure -j 1 -R '^(e2e_verify_threads|e2e_jwks_hold|e2e_connect)$')
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
