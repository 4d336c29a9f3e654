#!/usr/bin/env bash
# Build with optimisation and run both benchmarks; prints Markdown tables
# (docs/performance.md holds a copy of one such run).
#   bash scripts/bench.sh            # full run (a few minutes)
#   MJA_BENCH_QUICK=1 bash scripts/bench.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MJA_ROOT"
mja_install_deps

cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DMJA_BUILD_TESTS=OFF -DMJA_BUILD_BENCH=ON >/dev/null
cmake --build build/bench -j "$(nproc)" >/dev/null

echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
     "$(free -g | awk '/Mem:/{print $2}') GiB; $(/usr/sbin/mosquitto -h 2>/dev/null | head -1);"\
     "$(openssl version)"
echo
if [ -n "${MJA_BENCH_QUICK:-}" ]; then
	build/bench/bench/bench_micro --quick
	echo
	/usr/bin/python3 bench/broker_bench.py --plugin build/bench/plugin/mosquitto_jwt_auth.so \
		--load build/bench/bench/mqtt_load --connects 1000 --messages 50000 --repeat 1
else
	build/bench/bench/bench_micro
	echo
	/usr/bin/python3 bench/broker_bench.py --plugin build/bench/plugin/mosquitto_jwt_auth.so \
		--load build/bench/bench/mqtt_load
fi
