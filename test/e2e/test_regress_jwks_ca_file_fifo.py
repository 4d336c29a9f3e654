"""Regression: a FIFO as jwks_ca_file hung the broker; a world-writable one
was trusted.

Every file option went through the one file reader (regular files only,
never blocking, world-writable trusted files refused) except jwks_ca_file:
it was opened with fopen() at start and handed to libcurl as a path at each
fetch. A FIFO there hung the broker at start; after SIGHUP it hung the JWKS
fetcher thread on its next fetch, and with it the broker's shutdown (which
joins that thread). A world-writable CA file, which lets any local user
choose the server keys come from, was accepted.

Now jwks_ca_file is read through the file reader at start and at SIGHUP,
and the fetches use those bytes, never the path: at start the broker stops
at once with a line naming the option, the file and the reason; at SIGHUP
the reload fails with that line, the CA read before stays in force (the
refetch SIGHUP asks for still succeeds), and the broker stops promptly.
Each case failed against the broker before the fix."""

import os
import shutil
import tempfile
import time
import unittest

import harness as h
from harness import V311
import jwkstest

CONF = "/etc/mosquitto/jwt/"
ISSUER = "https://idp.test"


@h.skip_if_external("starts brokers with special files as jwks_ca_file, and an HTTPS server")
class JwksCaFileFifo(h.BrokerTestCase):
    start_broker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="mja-ca-")
        cls.ca = jwkstest.TestCA(os.path.join(cls.tmp, "ca"))
        with open(cls.ca.ca, "rb") as f:
            cls.ca_pem = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def jwks_broker(self, url):
        return self.make_broker(files={"provider-ca.pem": self.ca_pem}, listeners=[{"options": [
            ("jwks_url", url), ("jwks_ca_file", CONF + "provider-ca.pem"),
            ("jwks_refresh", "3600"), ("issuer", ISSUER)]}])

    def test_fifo_or_world_writable_ca_fails_fast_at_start(self):
        url = "https://127.0.0.1:%d/jwks" % jwkstest.free_port()
        for how, why in (("fifo", "not a regular file"), (0o666, "0666")):
            with self.subTest(case=how):
                b = self.jwks_broker(url)
                p = b.path("provider-ca.pem")
                if how == "fifo":
                    os.unlink(p)
                    os.mkfifo(p, 0o644)
                else:
                    os.chmod(p, how)
                self.assert_fails_fast_at_start(b, ["jwks_ca_file", p, why])

    def test_sighup_keeps_last_good_ca(self):
        srv = jwkstest.HTTPSServer(self.ca.good)
        self.addCleanup(srv.close)
        k = jwkstest.SigningKey("kid-1")
        srv.route("/jwks", body=jwkstest.jwks(k))
        url = srv.url("/jwks")
        b = self.broker = self.jwks_broker(url)
        b.start()
        self.assertIsNotNone(b.wait_log("JWKS %s: fetched" % url, timeout=15), self.tail())
        tok = k.token(claims={"iss": ISSUER})
        self.assertConnected(self.paho(V311, username="dev-1", password=tok))
        p = b.path("provider-ca.pem")
        for how, why in (("fifo", "not a regular file"), (0o666, "0666")):
            with self.subTest(case=how):
                if how == "fifo":
                    os.unlink(p)
                    os.mkfifo(p, 0o644)
                else:
                    os.chmod(p, how)
                hits = srv.count("/jwks")
                self.assert_reload_fails(b, p, why)
                # SIGHUP still refetches, trusting the CA read before
                self.assertTrue(h.wait_until(lambda: srv.count("/jwks") > hits, 5),
                                "no refetch after SIGHUP\n" + self.tail())
                time.sleep(0.5)
                self.assertEqual(b.log_lines("fetch failed"), [], self.tail())
                self.assertConnected(self.paho(V311, username="dev-1", password=tok))
                # the good file back: the next reload succeeds
                os.unlink(p)
                b.write_file("provider-ca.pem", self.ca_pem)
                mark = b.log_size()
                b.sighup()
                self.assertIsNotNone(b.wait_log("jwt-auth:", "reloaded", after=mark),
                                     self.tail())
        # the fetcher never blocked on the FIFO: the broker stops promptly
        t0 = time.monotonic()
        b.stop()
        self.assertLess(time.monotonic() - t0, 5)



if __name__ == "__main__":
    unittest.main()
