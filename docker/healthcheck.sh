#!/bin/bash
# Container health check: is the broker answering MQTT on port 1883?
#
# It sends an MQTT 3.1.1 CONNECT without credentials and waits (3 s at most)
# for the CONNACK. With the JWT plugin as the only authentication the broker
# answers "not authorised" (return code 5): that answer is the proof of
# health, because it comes from the broker's network loop after it asked the
# plugin (the broker does not even start if the plugin fails to load its
# options, keys or ACL file). No token is needed, so no private key or
# long-lived token is baked into the image. Accepted return codes: 0 (a
# configuration that allows anonymous clients), 4 and 5 (refused credentials);
# anything else, a timeout or a refused TCP connection is unhealthy.
# Each check leaves two log lines in the broker's log: "New connection from
# 127.0.0.1 ..." and "Client <unknown> disconnected, not authorised.".
set -u
port="${1:-1883}"
# Fixed header 0x10, remaining length 27; protocol "MQTT" level 4; flags:
# clean session; keep-alive 5 s; client id "mja-healthcheck" (15 bytes).
connect='\x10\x1b\x00\x04MQTT\x04\x02\x00\x05\x00\x0fmja-healthcheck'
{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || { echo "unhealthy: no TCP connection to port $port"; exit 1; }
printf "$connect" >&3
reply=$(timeout 3 head -c 4 <&3 | od -An -tx1 | tr -d ' \n')
exec 3>&-
case "$reply" in
	20020000|20020004|20020005) echo "healthy: CONNACK $reply"; exit 0 ;;
	'') echo "unhealthy: no CONNACK within 3 s"; exit 1 ;;
	*) echo "unhealthy: unexpected reply $reply"; exit 1 ;;
esac
