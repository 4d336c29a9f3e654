"""Regression: with token_field username the broker logged the token.

The bug: with token_field username the MQTT username is the token, and
Mosquitto logs usernames ("New client connected ... u'<username>'"), so
every accepted token ended up in the broker log.

The fix: an accepted client's username is replaced with its sub
(mosquitto_set_username), and the token is kept in memory, never logged,
for the SIGHUP re-check (docs/design.md, "Re-check after SIGHUP"). Refused
tokens are never logged either. Found by a security review of the glue;
this test failed against the broker before the fix.
"""

import time
import unittest

import harness as h
import mqtt5raw as raw


@h.skip_if_external("reads the broker log")
class TokenFieldUsername(h.BrokerTestCase):
    """With token_field username the
    username is the token, and Mosquitto logs usernames."""

    broker_kwargs = dict(extra={"token_field": "username"})

    def assert_not_in_log(self, tok):
        sig = tok.rsplit(".", 1)[1]
        log = self.broker.log()
        self.assertNotIn(tok, log)
        self.assertNotIn(sig, log)
        self.assertNotIn(tok.split(".")[1], log)

    def test_token_never_logged_accepted_or_refused(self):
        good = h.mint("alice")
        c = self.raw()
        self.assertEqual(c.connect("alice-u", username=good).reason, 0)
        c.publish("devices/alice/x", b"hello", 1)
        self.assertLess(c.expect(raw.PUBACK).reason, 0x80)
        # the broker's connect line names the sub instead
        self.assertIsNotNone(self.broker.wait_log("New client connected", "alice-u", "u'alice'"),
                             self.tail())
        bad = h.tamper_signature(h.mint("bob"))
        expired = h.mint("carol", now=int(time.time()) - 7200, ttl=3600)
        for i, tok in enumerate((bad, expired)):
            r = self.raw()
            ack = r.connect("refused-%d" % i, username=tok)
            self.assertIn(ack.reason, (0x86, 0x87), repr(ack))
            r.close()
        self.assertIsNotNone(self.broker.wait_log("jwt-auth: refused client refused-1"),
                             self.tail())
        c.disconnect()
        c.close()
        time.sleep(0.3)
        for tok in (good, bad, expired):
            self.assert_not_in_log(tok)

    def test_sighup_recheck_keeps_username_token_client(self):
        c = self.raw()
        self.assertEqual(c.connect("alice-u2", username=h.mint("alice")).reason, 0)
        mark = self.broker.log_size()
        self.broker.sighup()
        self.assertIsNotNone(h.reloaded(self.broker, mark), self.tail())
        time.sleep(0.3)
        c.subscribe("devices/alice/#", 1)
        self.assertEqual(c.expect(raw.SUBACK).reasons, [1], self.tail())


if __name__ == "__main__":
    unittest.main()
