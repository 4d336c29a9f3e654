#!/usr/bin/env python3
"""jwks-server.py - a static HTTPS server for the scale-out example's JWKS
(docker/scale-out/compose.yaml, service `jwks`), standing in for an
identity provider's JWKS URL.

Serves the files of one folder (default /srv/jwks, e.g. jwks.json as
https://jwks/jwks.json) read-only over TLS 1.2 or later, with the
certificate and key of /etc/jwks-tls/ (made by jwks-tls.sh: a test CA that
the replicas get as plugin_opt_jwks_ca_file, and a certificate for the
service's name). Each request reads the file anew: replacing it in the
mounted folder (by rename) rotates the keys the replicas fetch. No folder
listings, no Cache-Control (the replicas then refetch every jwks_refresh
seconds). Starts as root to read the key and bind port 443, then runs as
`nobody`. One log line per request on stderr (the container's log).
"""

import functools
import http.server
import os
import pwd
import ssl
import sys

ROOT = os.environ.get("JWKS_ROOT", "/srv/jwks")
CERT = os.environ.get("JWKS_CERT", "/etc/jwks-tls/server.pem")
KEY = os.environ.get("JWKS_KEY", "/etc/jwks-tls/server.key")
PORT = int(os.environ.get("JWKS_PORT", "443"))


class Handler(http.server.SimpleHTTPRequestHandler):
    def list_directory(self, path):
        self.send_error(404, "No listing")
        return None

    def do_POST(self):
        self.send_error(405)

    do_PUT = do_DELETE = do_PATCH = do_POST


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(CERT, KEY)
    handler = functools.partial(Handler, directory=ROOT)
    server = http.server.ThreadingHTTPServer(("", PORT), handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    print("jwks-server: serving %s on https://:%d/ as uid %d" % (ROOT, PORT, os.getuid()),
          file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
