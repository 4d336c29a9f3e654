"""jwkstest.py - a test CA, keys as JWKs, and a small HTTPS server for the
JWKS tests (loopback only).

TestCA makes (with the openssl command) a CA and certificates signed by it:
one for 127.0.0.1 / localhost, one for another host name only, and a
self-signed one that no CA vouches for.

HTTPSServer serves routes on 127.0.0.1 with the certificate it currently
holds (it can be swapped: new connections get the new one). A route is a
dict:
    {"status": 200, "body": bytes or str, "headers": {...},
     "mode": None | "hang" | "trickle" | "huge", "location": url}
mode "hang" sleeps `seconds` (default 30) before answering; "trickle" sends
one byte a second; "huge" streams 50 MiB without Content-Length. Every
request is counted per path (hits) with its time (times).
"""

import base64
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
import jwt


def b64u(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def run(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


class TestCA:
    def __init__(self, folder):
        self.dir = folder
        os.makedirs(folder, exist_ok=True)
        d = folder
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=mja test CA"], d)
        self.ca = os.path.join(d, "ca.pem")
        self.good = self._leaf("good", "DNS:localhost,IP:127.0.0.1")
        self.wrong_host = self._leaf("wronghost", "DNS:other.example")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", "self.key", "-out", "self.pem",
             "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], d)
        self.self_signed = (os.path.join(d, "self.pem"), os.path.join(d, "self.key"))
        subprocess.run(["chmod", "-R", "a+rX", d], check=True)

    def _leaf(self, name, san):
        d = self.dir
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n" % san)
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
             "-subj", "/CN=" + name], d)
        run(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
             "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".pem", "-days", "2",
             "-extfile", name + ".ext"], d)
        return (os.path.join(d, name + ".pem"), os.path.join(d, name + ".key"))


class SigningKey:
    """An EC P-256 key with a kid: its public JWK and tokens signed by it."""

    def __init__(self, kid):
        self.kid = kid
        self.priv = ec.generate_private_key(ec.SECP256R1())
        self.pem = self.priv.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())

    def jwk(self, private=False):
        # RFC 7518 6.2.1.2: x and y are the full 32 bytes (PyJWT 2.6's
        # to_jwk drops leading zero bytes, which the plugin refuses)
        nums = self.priv.public_key().public_numbers()
        j = {"kty": "EC", "crv": "P-256", "x": b64u(nums.x.to_bytes(32, "big")),
             "y": b64u(nums.y.to_bytes(32, "big")),
             "kid": self.kid, "alg": "ES256", "use": "sig"}
        if private:
            j["d"] = b64u(self.priv.private_numbers().private_value.to_bytes(32, "big"))
        return j

    def token(self, sub="dev-1", ttl=600, claims=None, kid=None):
        now = int(time.time())
        payload = {"sub": sub, "iat": now, "exp": now + ttl}
        payload.update(claims or {})
        return jwt.encode(payload, self.pem, algorithm="ES256",
                          headers={"kid": kid or self.kid})


def jwks(*keys, private=False):
    return json.dumps({"keys": [k.jwk(private) for k in keys]})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        srv = self.server.owner
        path = self.path.split("?")[0]
        with srv.lock:
            srv.hits[path] = srv.hits.get(path, 0) + 1
            srv.times.setdefault(path, []).append(time.monotonic())
            route = dict(srv.routes.get(path) or {"status": 404, "body": "not found"})
        mode = route.get("mode")
        try:
            if mode == "hang":
                time.sleep(route.get("seconds", 30))
                return
            if mode == "trickle":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(60):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(1)
                return
            if mode == "huge":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b" " * 65536
                self.wfile.write(b'{"keys":[],"pad":"')
                for _ in range(50 * 16):
                    self.wfile.write(chunk)
                return
            if route.get("delay"):
                time.sleep(route["delay"])     # a slow provider, then the answer
            body = route.get("body", "")
            body = body.encode() if isinstance(body, str) else body
            self.send_response(route.get("status", 200))
            if route.get("location"):
                self.send_header("Location", route["location"])
            for k, v in (route.get("headers") or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        sock, addr = self.socket.accept()
        ctx = self.owner.ctx
        sock.settimeout(5)
        try:
            tls = ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            sock.close()
            raise OSError("handshake failed")
        tls.settimeout(None)
        return tls, addr

    def handle_error(self, request, client_address):
        pass


class HTTPSServer:
    def __init__(self, cert):
        self.lock = threading.Lock()
        self.routes = {}
        self.hits = {}
        self.times = {}
        self.set_cert(cert)
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def set_cert(self, cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert[0], cert[1])
        self.ctx = ctx

    def url(self, path, host="127.0.0.1"):
        return "https://%s:%d%s" % (host, self.port, path)

    def route(self, path, **kw):
        with self.lock:
            self.routes[path] = kw

    def count(self, path):
        with self.lock:
            return self.hits.get(path, 0)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
