"""mosquitto_jwt verify with keys from a JWKS URL: the tool fetches once, with
the plugin's code, so "why is this device refused" works for URL keys too.
An HTTPS server and a CA of the test's own on 127.0.0.1 (test/e2e/jwkstest.py).
"""

import os
import sys
import unittest

from toolharness import ToolCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import jwkstest  # noqa: E402 (test/e2e)
from jwkstest import SigningKey, jwks  # noqa: E402


class VerifyJwks(ToolCase):
    def setUp(self):
        super().setUp()
        self.ca = jwkstest.TestCA(self.path("ca"))
        self.srv = jwkstest.HTTPSServer(self.ca.good)
        self.addCleanup(self.srv.close)
        self.key = SigningKey("tool-kid")
        self.srv.route("/jwks", body=jwks(self.key))

    def opts(self, url=None):
        return ["--opt", "jwks_url=" + (url or self.srv.url("/jwks")),
                "--opt", "jwks_ca_file=" + self.ca.ca]

    def test_valid_with_fetched_key(self):
        r = self.tool("verify", *self.opts(), self.key.token())
        self.assertEqual(r.rc, 0, r)
        self.assertIn("valid", r.out)
        self.assertIn("sub: dev-1", r.out)
        self.assertIn("fetched, 1 key(s) (kid tool-kid)", r.err)
        self.assertEqual(self.srv.count("/jwks"), 1)

    def test_config_file(self):
        conf = self.write("mosquitto.conf", "listener 1883\nplugin /x/mosquitto_jwt_auth.so\n"
                          "plugin_opt_jwks_url %s\nplugin_opt_jwks_ca_file %s\n"
                          % (self.srv.url("/jwks"), self.ca.ca))
        r = self.tool("verify", "--config", conf, self.key.token())
        self.assertEqual(r.rc, 0, r)
        self.assertIn("valid", r.out)

    def test_fetch_fails_says_why(self):
        self.srv.route("/jwks", status=500, body="down")
        r = self.tool("verify", *self.opts(), self.key.token())
        self.assertEqual(r.rc, 1, r)
        self.assertIn("refused: keys unavailable", r.out)
        self.assertIn("HTTP status 500", r.err)
        self.assertIn(self.srv.url("/jwks"), r.err)
        self.assertNotIn(self.key.token().split(".")[2], r.err)

    def test_untrusted_certificate(self):
        """Without jwks_ca_file the test CA is not trusted: refused, never
        fetched insecurely."""
        r = self.tool("verify", "--opt", "jwks_url=" + self.srv.url("/jwks"),
                      self.key.token())
        self.assertEqual(r.rc, 1, r)
        self.assertIn("refused: keys unavailable", r.out)
        self.assertIn("SSL certificate problem", r.err)

    def test_other_kid(self):
        r = self.tool("verify", *self.opts(), SigningKey("other").token())
        self.assertEqual(r.rc, 1, r)
        self.assertIn("refused: unknown kid", r.out)


if __name__ == "__main__":
    unittest.main()
