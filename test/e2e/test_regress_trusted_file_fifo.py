"""Regression: a FIFO as key_file, secret_file or acl_file hung the broker.

The story. The plugin read its key, secret and ACL files with a plain
fopen() and read loop. Given a FIFO (a named pipe) where a file was
expected, the open blocked until some process opened the other end, so the
broker hung at start before it listened on any port, with no log line
saying why; at SIGHUP the same read would have hung the running broker and
every client with it.

Every file the plugin trusts is now read through one reader that opens it
without blocking and refuses anything that is not a regular file at once
(docs/design.md, "Keys"): at start the broker stops with a log line naming
the file and "not a regular file"; at SIGHUP the reload fails with that
line and the previous set stays in force. (The same bug for jwks_ca_file:
test_regress_jwks_ca_file_fifo.py; world-writable trusted files:
test_regress_world_writable_trusted_file.py.)

The test: a FIFO as each of the three files at start (the broker gives up
within 5 s, naming the file); then, on a running broker, each file replaced
by a FIFO and SIGHUP: the reload fails naming the file, the broker keeps
running, a connected client stays, RS256 and HS256 tokens are still
accepted, and once the good file is back the next reload succeeds.
"""

import os
import unittest

import harness as h
from harness import V311

CONF = "/etc/mosquitto/jwt/"


@h.skip_if_external("starts brokers with FIFOs as key, secret and ACL files")
class TrustedFileFifo(h.BrokerTestCase):
    start_broker = False

    def fifo(self, b, rel):
        p = b.path(rel)
        if os.path.exists(p):
            os.unlink(p)
        os.mkfifo(p, 0o644)
        return p

    def test_fifo_fails_fast_at_start(self):
        cases = [("key_file", "keys/k.fifo"), ("secret_file", "keys/s.fifo"),
                 ("acl_file", "acl.fifo")]
        for opt, rel in cases:
            with self.subTest(option=opt):
                extra = {opt: CONF + rel}
                if opt != "secret_file":
                    extra["secret_file"] = CONF + "keys/hs256.secret"
                b = self.make_broker(extra=extra)
                p = self.fifo(b, rel)
                self.assert_fails_fast_at_start(b, [p, "not a regular file"])

    def test_sighup_keeps_last_good_set(self):
        b = self.broker = self.make_broker()
        b.start()
        c_old = self.paho(V311, username="dev-1", password=h.mint("dev-1"))
        self.assertConnected(c_old)
        cases = [
            ("FIFO key_file", "keys/rsa.pub.pem"),
            ("FIFO secret_file", "keys/hs256.secret"),
            ("FIFO acl_file", "acl.conf"),
        ]
        for name, rel in cases:
            with self.subTest(case=name):
                self.assert_bad_reload_keeps_set(
                    b, rel, lambda p, rel=rel: self.fifo(b, rel), "not a regular file", c_old)


if __name__ == "__main__":
    unittest.main()
