#!/usr/bin/env bash
# One-command demo: install what is missing, build the plugin, and run
# Debian's mosquitto on 127.0.0.1 (port 1883 if free) in the foreground
# with the plugin and the example configuration (config-examples/). Prints ready-to-paste
# mosquitto_sub / mosquitto_pub lines with a valid demo token. Ctrl-C stops
# the broker.
#
# Usage (as root on Debian 12 or 13, or with sudo):
#   bash scripts/demo.sh
# Environment (optional):
#   MJA_DEMO_PORT   port to listen on; the demo fails, saying so, when it is
#                   taken. Without it: 1883, or when that is taken (e.g. by
#                   the mosquitto service that installing the package starts
#                   on a systemd host) the first free port from 1884 on,
#                   said in one line; the printed commands use that port.
#   MJA_BUILD_DIR   build folder (default build/demo)
#   MJA_DEMO_DIR    folder for the runtime config (default: a new /tmp/mja-demo.XXXXXX)
#
# The demo keys in config-examples/demo-private/ are public: never use them
# for a real broker.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MJA_ROOT"

port="${MJA_DEMO_PORT:-}"
build="${MJA_BUILD_DIR:-$MJA_ROOT/build/demo}"
python=/usr/bin/python3
sub="demo-device"

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

mja_install_deps

# The port is checked after the installation: on a host with systemd,
# installing mosquitto starts Debian's own broker on 1883.
if [ -n "$port" ]; then
	if port_in_use "$port"; then
		echo "demo: port $port on 127.0.0.1 is already in use (MJA_DEMO_PORT=$port)." >&2
		echo "demo: stop what listens there, or choose another port: MJA_DEMO_PORT=1884 bash scripts/demo.sh" >&2
		exit 1
	fi
elif port_in_use 1883; then
	for p in $(seq 1884 1983); do
		if ! port_in_use "$p"; then port=$p; break; fi
	done
	[ -n "$port" ] || { echo "demo: ports 1883-1983 on 127.0.0.1 are all in use; set MJA_DEMO_PORT" >&2; exit 1; }
	echo "demo: port 1883 is in use (a mosquitto service?): using port $port instead"
else
	port=1883
fi

# Build the plugin (configure only a new build folder: an existing one keeps
# its own settings).
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$MJA_ROOT" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMJA_BUILD_TESTS=OFF -DMJA_BUILD_BENCH=OFF
fi
cmake --build "$build" -j "$(nproc)" --target mosquitto_jwt_auth
plugin="$build/plugin/mosquitto_jwt_auth.so"
[ -f "$plugin" ] || { echo "demo: plugin not found at $plugin" >&2; exit 1; }

# The runtime config: config-examples/ with its /etc/mosquitto/jwt/ paths,
# plugin path and listener rewritten. The broker drops root to the mosquitto
# user before it loads the plugin, so everything it reads is copied into one
# folder that user can read (the build folder may sit under a private home).
run="${MJA_DEMO_DIR:-$(mktemp -d /tmp/mja-demo.XXXXXX)}"
mkdir -p "$run"
cp -r config-examples/keys "$run/"
cp config-examples/acl.conf "$run/acl.conf"
cp "$plugin" "$run/mosquitto_jwt_auth.so"
sed -e "s#/etc/mosquitto/jwt/#$run/#g" \
	-e "s#^plugin .*#plugin $run/mosquitto_jwt_auth.so#" \
	-e "s#^listener .*#listener $port 127.0.0.1#" \
	config-examples/mosquitto.conf > "$run/mosquitto.conf"
chmod -R a+rX "$run"
# The HMAC secret: readable by the broker's user only (the plugin warns at
# start about a secret every user can read).
chown mosquitto "$run/keys/hs256.secret"
chmod 0600 "$run/keys/hs256.secret"

# A demo token (RS256, valid one hour) from the demo private key, with the
# issuer and audience the example configuration asks for.
token=$("$python" - "$run/mosquitto.conf" "$MJA_ROOT/config-examples/demo-private/rsa.key.pem" "$sub" <<'EOF'
import sys, time, jwt
conf, keyfile, sub = sys.argv[1:4]
opts = {}
for line in open(conf):
	parts = line.split(None, 1)
	if len(parts) == 2 and parts[0].startswith("plugin_opt_"):
		opts[parts[0][len("plugin_opt_"):]] = parts[1].split()[0].rstrip(",")
now = int(time.time())
claims = {"sub": sub, "iat": now, "exp": now + 3600}
if "issuer" in opts:
	claims["iss"] = opts["issuer"]
if "audience" in opts:
	claims["aud"] = opts["audience"]
print(jwt.encode(claims, open(keyfile, "rb").read(), algorithm="RS256"))
EOF
)

cat <<EOF

=== mosquitto-jwt-auth demo
Broker: 127.0.0.1:$port, config $run/mosquitto.conf
Demo token for sub "$sub" (RS256, valid for one hour).

In another terminal, subscribe:
  mosquitto_sub -h 127.0.0.1 -p $port -t 'devices/$sub/#' -v -u $sub -P $token

and publish:
  mosquitto_pub -h 127.0.0.1 -p $port -t devices/$sub/hello -m hello -u $sub -P $token

A topic outside the token's rules is refused, e.g. -t devices/other-device/hello.
Ctrl-C stops the broker.
===

EOF

exec /usr/sbin/mosquitto -c "$run/mosquitto.conf"
