"""Keys from a real OpenID provider (npm oidc-provider, OpenID-certified) on
127.0.0.1: OpenID Connect discovery and its JWKS over HTTPS with a CA the
test makes; a device gets an access token with the client credentials grant
and connects; the provider rotates its signing key and a token with the new
kid is accepted without SIGHUP; a removed key's tokens are refused after
the next refresh.

oidc-provider is installed (npm, pinned) into the build folder on first use:
$MJA_BUILD_DIR/oidc-provider/node_modules. Needs node >= 20.
"""

import base64
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import BrokerTestCase, wait_until, unique_id, skip_if_external
from mqtt5raw import RawClient, CONNACK
import jwkstest
from jwkstest import SigningKey

HERE = os.path.dirname(os.path.abspath(__file__))
# 8.x: the line that supports Node 20 (9.x asks for Node 22)
OIDC_PROVIDER_VERSION = "8.8.1"
BUILD_DIR = os.environ.get("MJA_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")
NPM_DIR = os.path.join(BUILD_DIR, "oidc-provider")
NODE = shutil.which("node")
NPM = shutil.which("npm")
CLIENT = ("device-1", "device-1-secret-0123456789")


def install_provider():
    """npm install into the build folder (not globally), once."""
    mod = os.path.join(NPM_DIR, "node_modules", "oidc-provider", "package.json")
    if os.path.exists(mod):
        with open(mod) as f:
            if json.load(f).get("version") == OIDC_PROVIDER_VERSION:
                return
    os.makedirs(NPM_DIR, exist_ok=True)
    subprocess.run([NPM, "install", "--prefix", NPM_DIR, "--no-audit", "--no-fund",
                    "--no-save", "oidc-provider@" + OIDC_PROVIDER_VERSION],
                   check=True, capture_output=True, timeout=600)


def kid_of(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


@skip_if_external("needs its own broker and OpenID provider")
@unittest.skipUnless(NODE and NPM, "node and npm are needed for oidc-provider")
class OpenIDProvider(BrokerTestCase):
    start_broker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_provider()
        cls.tmp = tempfile.mkdtemp(prefix="mja-oidc-")
        os.chmod(cls.tmp, 0o755)
        cls.ca = jwkstest.TestCA(os.path.join(cls.tmp, "ca"))
        cls.port = jwkstest.free_port()
        cls.issuer = "https://127.0.0.1:%d" % cls.port
        cls.tls = ssl.create_default_context(cafile=cls.ca.ca)
        cls.proc = None

    @classmethod
    def tearDownClass(cls):
        cls.stop_provider()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def start_provider(cls, keys):
        """(Re)start the provider signing with keys[0], publishing all."""
        cls.stop_provider()
        path = os.path.join(cls.tmp, "provider-jwks.json")
        with open(path, "w") as f:
            json.dump({"keys": [k.jwk(private=True) for k in keys]}, f)
        env = dict(os.environ, OIDC_PORT=str(cls.port), OIDC_ISSUER=cls.issuer,
                   OIDC_CERT=cls.ca.good[0], OIDC_KEY=cls.ca.good[1], OIDC_JWKS=path,
                   OIDC_MODULES=os.path.join(NPM_DIR, "node_modules"))
        cls.proc = subprocess.Popen([NODE, os.path.join(HERE, "oidc_provider.mjs")], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
        # its output is read by a thread: a provider that never says
        # "ready" must fail the test, not hang it
        cls.ready = threading.Event()
        cls.output = []

        def pump(proc):
            for line in proc.stdout:
                cls.output.append(line)
                if line.strip() == "ready":
                    cls.ready.set()
        threading.Thread(target=pump, args=(cls.proc,), daemon=True).start()
        if not cls.ready.wait(30):
            raise AssertionError("oidc-provider did not start:\n" + "".join(cls.output))

    @classmethod
    def stop_provider(cls):
        if cls.proc is not None:
            cls.proc.terminate()
            try:
                cls.proc.wait(10)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
            cls.proc.stdout.close()
            cls.proc = None

    def get_token(self):
        """A device's access token: client credentials grant at the token
        endpoint named by discovery."""
        with urllib.request.urlopen(self.issuer + "/.well-known/openid-configuration",
                                    context=self.tls, timeout=10) as r:
            endpoint = json.load(r)["token_endpoint"]
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "mqtt",
                                       "resource": "urn:mqtt"}).encode()
        req = urllib.request.Request(endpoint, data=body, method="POST")
        auth = base64.b64encode(("%s:%s" % CLIENT).encode()).decode()
        req.add_header("Authorization", "Basic " + auth)
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=10) as r:
                return json.load(r)["access_token"]
        except urllib.error.HTTPError as e:
            raise AssertionError("token endpoint: %s %s" % (e.code, e.read()[:500]))

    def connect(self, token):
        c = RawClient("127.0.0.1", self.broker.port, timeout=5)
        try:
            ack = c.connect(unique_id("oidc"), password=token.encode())
            self.assertIsNotNone(ack)
            self.assertEqual(ack.type, CONNACK)
            return ack.reason
        finally:
            c.close()

    def test_discovery_rotation_removal(self):
        k1, k2 = SigningKey("idp-key-1"), SigningKey("idp-key-2")
        self.start_provider([k1])
        b = self.make_broker(listeners=[{"options": [
            ("oidc_issuer", self.issuer), ("jwks_ca_file", self.ca.ca),
            ("audience", "urn:mqtt"), ("jwks_refresh", "10"), ("log_debug", "true")]}])
        b.start()
        self.broker = b
        self.assertTrue(b.wait_log("JWKS %s/jwks: fetched, 1 key(s) (kid idp-key-1)"
                                   % self.issuer, timeout=15), self.tail())

        # a device gets a token from the provider and connects; the issuer
        # is required to be the provider's (oidc_issuer, no issuer option)
        t1 = self.get_token()
        self.assertEqual(kid_of(t1), "idp-key-1")
        self.assertEqual(self.connect(t1), 0, self.tail())
        self.assertTrue(b.log_lines("accepted client", "sub device-1"))

        # rotation: the provider now signs with key 2 and publishes both;
        # the new kid is accepted without SIGHUP, within one refetch
        self.start_provider([k2, k1])
        mark = b.log_size()
        t_rot = time.monotonic()
        t2 = self.get_token()
        self.assertEqual(kid_of(t2), "idp-key-2")
        ok = wait_until(lambda: self.connect(t2) == 0, 5, step=0.2)
        self.assertTrue(ok, self.tail())
        self.assertLess(time.monotonic() - t_rot, 8, "before the periodic refresh")
        self.assertTrue(b.wait_log("added kid(s): idp-key-2", after=mark), self.tail())
        self.assertEqual(self.connect(t1), 0)     # key 1 is still published
        self.assertFalse(b.log_lines("Received SIGHUP"))

        # removal: key 1 is gone from the JWKS; after the next refresh its
        # tokens are refused (unknown kid), key 2's still accepted
        self.start_provider([k2])
        mark = b.log_size()
        self.assertTrue(b.wait_log("removed kid(s): idp-key-1", after=mark, timeout=25),
                        self.tail())
        self.assertNotEqual(self.connect(t1), 0)
        self.assertTrue(b.wait_log("unknown kid", after=mark), self.tail())
        self.assertEqual(self.connect(t2), 0)
        self.assertEqual(self.connect(self.get_token()), 0)


if __name__ == "__main__":
    unittest.main()
