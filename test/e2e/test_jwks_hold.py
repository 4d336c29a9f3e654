"""Mosquitto 2.1 holds a CONNECT whose kid no key has while the JWKS refetch
it asked for runs (delayed basic authentication, at most 5 s): a token
signed with a key the provider just published is accepted on the first
try; a kid that never appears is refused when the hold's time is up; the
broker serves other clients meanwhile; a second CONNECT with the held client
id, a reload and a shutdown during a hold are handled. On 2.0 such a
CONNECT is refused at once (test_jwks.py).

The provider is an HTTPS server of the test's own on 127.0.0.1 with a CA
the test makes (jwkstest.py).
"""

import os
import shutil
import tempfile
import threading
import time
import unittest

from harness import BrokerTestCase, unique_id, skip_if_external, skip_unless_broker
from mqtt5raw import RawClient, CONNACK, PINGRESP
import jwkstest
from jwkstest import SigningKey, jwks

ISSUER = "https://idp.test"
HOLD_S = 5.0          # MJA_JWKS_HOLD_MS
FAST_S = 0.2          # a CONNECT with a known key, a PINGREQ


@skip_if_external("needs its own broker and HTTPS server")
@skip_unless_broker(lo=(2, 1, 0), reason="delayed basic authentication "
                    "(MOSQ_ERR_AUTH_DELAYED) exists from Mosquitto 2.1 on")
class HeldConnect(BrokerTestCase):
    start_broker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="mja-hold-")
        cls.ca = jwkstest.TestCA(os.path.join(cls.tmp, "ca"))
        os.chmod(cls.tmp, 0o755)   # the broker reads the CA after dropping root

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.k1 = SigningKey("hold-key-1")
        self.srv = jwkstest.HTTPSServer(self.ca.good)
        self.addCleanup(self.srv.close)
        self.srv.route("/jwks", body=jwks(self.k1))
        b = self.make_broker(listeners=[{"options": [
            ("jwks_url", self.srv.url("/jwks")), ("jwks_ca_file", self.ca.ca),
            ("jwks_refresh", "300"), ("issuer", ISSUER)]}])
        b.start()
        self.broker = b
        self.assertTrue(b.wait_log("fetched, 1 key(s) (kid hold-key-1)", timeout=15),
                        self.tail())

    def tok(self, key):
        return key.token(claims={"iss": ISSUER})

    def connect_raw(self, token, client_id=None, timeout=10):
        """CONNECT (MQTT 5), token as password: (reason or None, seconds)."""
        c = RawClient("127.0.0.1", self.broker.port, timeout=timeout)
        try:
            t0 = time.monotonic()
            try:
                ack = c.connect(client_id or unique_id("hold"), password=token.encode())
            except OSError:
                ack = None                 # closed without a CONNACK
            dt = time.monotonic() - t0
            if ack is not None:
                self.assertEqual(ack.type, CONNACK)
            return (ack.reason if ack is not None else None), dt
        finally:
            c.close()

    def in_thread(self, token, client_id=None):
        out = {}

        def go():
            out["r"] = self.connect_raw(token, client_id)
        t = threading.Thread(target=go, daemon=True)
        t.start()
        return t, out

    def others_served(self):
        """While a CONNECT is held: PINGREQ and a CONNECT with a known key
        are answered in under FAST_S."""
        ping = RawClient("127.0.0.1", self.broker.port, timeout=5)
        self.addCleanup(ping.close)
        ack = ping.connect(unique_id("ping"), password=self.tok(self.k1).encode())
        self.assertEqual(ack.reason, 0, self.tail())
        t0 = time.monotonic()
        ping.ping()
        self.assertIsNotNone(ping.expect(PINGRESP, timeout=2, skip=()))
        self.assertLess(time.monotonic() - t0, FAST_S)
        rc, dt = self.connect_raw(self.tok(self.k1))
        self.assertEqual(rc, 0, self.tail())
        self.assertLess(dt, FAST_S)

    def test_rotated_key_accepted_on_first_try(self):
        # the provider rotates: key 2 published (its answer takes 1.5 s)
        k2 = SigningKey("hold-key-2")
        self.srv.route("/jwks", body=jwks(k2, self.k1), delay=1.5)
        mark = self.broker.log_size()
        t, out = self.in_thread(self.tok(k2))
        self.assertTrue(self.broker.wait_log("holding the CONNECT", after=mark), self.tail())
        self.others_served()
        t.join(HOLD_S + 5)
        rc, dt = out["r"]
        self.assertEqual(rc, 0, self.tail())
        self.assertGreater(dt, 1.0)          # it waited for the refetch
        self.assertLess(dt, HOLD_S)
        self.assertTrue(self.broker.wait_log("added kid(s): hold-key-2", after=mark),
                        self.tail())
        self.assertEqual(self.srv.count("/jwks"), 2)   # start-up + one refetch

    def test_unknown_kid_refused_after_hold(self):
        # the provider hangs: the refetch does not end within the hold
        self.srv.route("/jwks", mode="hang", seconds=20)
        mark = self.broker.log_size()
        never = SigningKey("never-published")
        cid = unique_id("held")
        t, out = self.in_thread(self.tok(never), cid)
        self.assertTrue(self.broker.wait_log("holding the CONNECT", after=mark), self.tail())
        self.others_served()
        # a second CONNECT with the held client id: the broker refuses it
        # itself; the held one is still answered, by the plugin
        rc2, dt2 = self.connect_raw(self.tok(self.k1), cid, timeout=3)
        self.assertNotEqual(rc2, 0)
        t.join(HOLD_S + 5)
        rc, dt = out["r"]
        self.assertIsNotNone(rc, "no CONNACK\n" + self.tail())
        self.assertNotEqual(rc, 0)
        self.assertGreater(dt, HOLD_S - 0.5)
        self.assertLess(dt, HOLD_S + 2)
        self.assertTrue(self.broker.log_lines("refused client %s" % cid, "unknown kid"),
                        self.tail())
        self.assertTrue(self.broker.running())

    def test_reload_and_shutdown_while_held(self):
        self.srv.route("/jwks", mode="hang", seconds=20)
        never = SigningKey("never-published")
        mark = self.broker.log_size()
        t, out = self.in_thread(self.tok(never))
        self.assertTrue(self.broker.wait_log("holding the CONNECT", after=mark), self.tail())
        # SIGHUP during the hold: the hold keeps its time limit
        self.broker.sighup()
        self.assertTrue(self.broker.wait_log("reloaded", after=mark), self.tail())
        t.join(HOLD_S + 5)
        rc, dt = out["r"]
        self.assertIsNotNone(rc, self.tail())
        self.assertNotEqual(rc, 0)
        self.assertLess(dt, HOLD_S + 2)
        self.others_served()
        # shutdown during a hold: the broker stops cleanly
        mark = self.broker.log_size()
        t, out = self.in_thread(self.tok(SigningKey("another-never")))
        self.assertTrue(self.broker.wait_log("holding the CONNECT", after=mark, timeout=40),
                        self.tail())
        t0 = time.monotonic()
        self.assertEqual(self.broker.stop(), 0, self.tail())
        self.assertLess(time.monotonic() - t0, 5)
        t.join(5)
        self.assertNotEqual(out["r"][0], 0)


if __name__ == "__main__":
    unittest.main()
