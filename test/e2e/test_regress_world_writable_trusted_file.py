"""Regression: a world-writable key, secret or ACL file was trusted.

The story. The plugin read key_file, secret_file and acl_file whatever
their mode. A secret_file at mode 0666 was accepted silently, so any local
user could write a secret of their own into it and mint tokens the broker
accepted, for any sub; a world-writable public key or ACL file let any
local user put in a key of their own or grant themselves topics, in force
from the next start or SIGHUP.

Every file the plugin trusts is now read through one reader that refuses a
file writable by every user, with a log line naming the file and its mode
(docs/design.md, "Keys"): at start the broker stops; at SIGHUP the reload
fails and the previous set stays in force. A secret_file that every user
can read is accepted with a warning naming it. (FIFOs as these files:
test_regress_trusted_file_fifo.py.)

The test: a 0666 secret_file, a 0646 public key and a 0646 ACL file each
stop the broker at start within 5 s, the log naming the file and the mode;
the positive pair: the example's files start, a 0644 secret is named in a
warning and its tokens work; then, on a running broker, the secret and the
ACL file made 0666 and SIGHUP: the reload fails naming the file and 0666,
the broker keeps running, a connected client stays, RS256 and HS256 tokens
are still accepted, and once the good file is back the next reload
succeeds.
"""

import os
import unittest

import harness as h
from harness import V311


@h.skip_if_external("starts brokers with world-writable key, secret and ACL files")
class WorldWritableTrustedFile(h.BrokerTestCase):
    start_broker = False

    def test_world_writable_secret_refused_at_start(self):
        b = self.make_broker()
        p = b.path("keys/hs256.secret")
        os.chmod(p, 0o666)
        self.assert_fails_fast_at_start(b, [p, "0666"])

    def test_world_writable_key_and_acl_refused_at_start(self):
        for rel in ("keys/rsa.pub.pem", "acl.conf"):
            with self.subTest(file=rel):
                b = self.make_broker()
                p = b.path(rel)
                os.chmod(p, 0o646)
                self.assert_fails_fast_at_start(b, [p, "0646"])

    def test_world_readable_secret_warns(self):
        # The positive pair of the refusals: the example's files start; the
        # secret readable by everyone is named in a warning.
        b = self.broker = self.make_broker()
        os.chmod(b.path("keys/hs256.secret"), 0o644)
        b.start()
        self.assertTrue(b.running())
        line = b.wait_log("jwt-auth:", b.path("keys/hs256.secret"), "0644")
        self.assertIsNotNone(line, "no warning naming the world-readable secret\n" + self.tail())
        self.assertConnected(self.paho(V311, username="d", password=h.mint("d")))

    def test_sighup_keeps_last_good_set(self):
        b = self.broker = self.make_broker()
        b.start()
        c_old = self.paho(V311, username="dev-1", password=h.mint("dev-1"))
        self.assertConnected(c_old)
        cases = [
            ("0666 secret_file", "keys/hs256.secret"),
            ("0666 acl_file", "acl.conf"),
        ]
        for name, rel in cases:
            with self.subTest(case=name):
                self.assert_bad_reload_keeps_set(
                    b, rel, lambda p: os.chmod(p, 0o666), "0666", c_old)


if __name__ == "__main__":
    unittest.main()
