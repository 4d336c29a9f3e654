"""Regression: the will of a client whose token no longer held was
published.

The bug: a will is a publish by its client, but the plugin let every will
of a gone client through: that of a client whose token had expired
(disconnect_on_expiry false, or gone before the expiry disconnect) and that
of a client the SIGHUP re-check refused (its key was withdrawn).

The fix: a gone client's will is judged as a write by that client; it is
denied when the token no longer held when the client went, and published
(subject to the ACL rules) otherwise, including for a client disconnected
for expiry, whose will goes out as for any other loss (docs/design.md,
"Wills"). The pair checks both sides. Found by a security review of the
glue; the expired-token case failed against the broker before the fix.
"""

import time
import unittest

import harness as h
from harness import V311


@h.skip_if_external("needs disconnect_on_expiry false and SIGHUP")
class WillOfInvalidToken(h.BrokerTestCase):
    """A will is a write by its client; the plugin let
    every will of a gone client through."""

    broker_kwargs = dict(extra={"leeway": "0", "disconnect_on_expiry": "false"})

    def listener(self, sub):
        w = self.paho(V311, username=sub, password=h.mint(sub))
        self.assertConnected(w)
        self.assertEqual(w.subscribe("devices/%s/#" % sub, 1), [1], self.tail())
        return w

    def drop(self, sub, tok, payload):
        c = self.raw()
        ack = c.connect(sub + "-will", username=sub, password=tok.encode(),
                        will=("devices/%s/status" % sub, payload, 1, False))
        self.assertEqual(ack.reason, 0)
        return c

    def test_will_of_expired_token_denied(self):
        sub = h.unique_id("dev-wx")
        w = self.listener(sub)
        t = int(time.time())
        c = self.drop(sub, h.mint(sub, now=t, ttl=2), b"expired-will")
        time.sleep(max(0.0, t + 2 - time.time()) + 1.2)
        c.close()   # lost without DISCONNECT: the will is due
        self.assertIsNone(w.get(timeout=2), "will of an expired token published\n" + self.tail())

    def test_will_of_valid_token_published(self):
        sub = h.unique_id("dev-wv")
        w = self.listener(sub)
        c = self.drop(sub, h.mint(sub), b"valid-will")
        c.close()
        m = w.get(timeout=3)
        self.assertIsNotNone(m, "will of a valid token not published\n" + self.tail())
        self.assertEqual(m[1], b"valid-will")

    def test_will_of_token_refused_by_sighup_recheck_denied(self):
        # The HS256 secret leaked and
        # is replaced; the re-check disconnects its client, without its will.
        # (Mosquitto 2.0.11 itself sends no will for a client its re-check
        # disconnects, so this passed before too; the plugin denies it as
        # well: test_session.c test_will_of_expired_or_refused.)
        sub = h.unique_id("dev-wr")
        w = self.listener(sub)   # RS256: unaffected by the new secret
        c = self.drop(sub, h.mint(sub, alg="HS256"), b"revoked-will")
        self.broker.write_file("keys/hs256.secret", b"a-brand-new-secret-after-the-leak-0123456\n")
        mark = self.broker.log_size()
        self.broker.sighup()
        self.assertIsNotNone(h.reloaded(self.broker, mark), self.tail())
        closed, _ = c.wait_closed(3)
        self.assertTrue(closed, "revoked client still connected\n" + self.tail())
        self.assertIsNone(w.get(timeout=2), "will of a revoked token published\n" + self.tail())



@h.skip_if_external("needs leeway 0")
class WillOfExpiryKick(h.BrokerTestCase):
    """The pair of the above: a client disconnected for expiry gets its will
    published as for any other loss."""

    broker_kwargs = dict(extra={"leeway": "0"})

    def test_will_published_on_expiry_kick(self):
        sub = h.unique_id("dev-wk")
        w = self.paho(V311, username=sub, password=h.mint(sub))
        self.assertConnected(w)
        self.assertEqual(w.subscribe("devices/%s/#" % sub, 1), [1])
        t = int(time.time())
        c = self.raw()
        ack = c.connect(sub + "-k", username=sub, password=h.mint(sub, now=t, ttl=2).encode(),
                        will=("devices/%s/status" % sub, b"kick-will", 1, False))
        self.assertEqual(ack.reason, 0)
        closed, _ = c.wait_closed(6)
        self.assertTrue(closed, self.tail())
        m = w.get(timeout=3)
        self.assertIsNotNone(m, "will not published on the expiry kick\n" + self.tail())
        self.assertEqual(m[1], b"kick-will")


if __name__ == "__main__":
    unittest.main()
