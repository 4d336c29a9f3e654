"""Files the plugin trusts (key_file, secret_file, acl_file) through the real
broker (jwks_ca_file: test_regress_jwks_ca_file_fifo.py).

Story: a FIFO given as key_file, secret_file or acl_file hung the broker at
start in open()/read() (and would have at SIGHUP); a world-writable (0666)
secret_file was accepted silently, so any local user could mint tokens. Now
a file that is not a regular file fails at once, and a world-writable one is
refused, at start (the broker stops) and at SIGHUP (the previous set stays
in force); both with a log line naming the file. A secret_file readable by
every user is a warning."""

import os
import time
import unittest

import harness as h
from harness import V311

CONF = "/etc/mosquitto/jwt/"


@h.skip_if_external("starts brokers with special files as key, secret and ACL files")
class TrustedFiles(h.BrokerTestCase):
    start_broker = False

    def fifo(self, b, rel):
        p = b.path(rel)
        if os.path.exists(p):
            os.unlink(p)
        os.mkfifo(p, 0o644)
        return p

    def assert_fails_fast_at_start(self, b, needles):
        t0 = time.monotonic()
        rc = b.start(expect_exit=True)
        took = time.monotonic() - t0
        log = b.log()
        self.assertNotEqual(rc, 0, "broker exited 0:\n" + log)
        self.assertLess(took, 5, "broker took %.1f s to give up:\n%s" % (took, log))
        for n in needles:
            self.assertIn(n, log, "log does not name %r:\n%s" % (n, log))

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
            ("FIFO key_file", "keys/rsa.pub.pem", "fifo", "not a regular file"),
            ("FIFO secret_file", "keys/hs256.secret", "fifo", "not a regular file"),
            ("FIFO acl_file", "acl.conf", "fifo", "not a regular file"),
            ("0666 secret_file", "keys/hs256.secret", 0o666, "0666"),
            ("0666 acl_file", "acl.conf", 0o666, "0666"),
        ]
        for name, rel, how, why in cases:
            with self.subTest(case=name):
                p = b.path(rel)
                with open(p, "rb") as f:
                    saved = f.read()
                if how == "fifo":
                    self.fifo(b, rel)
                else:
                    os.chmod(p, how)
                mark = b.log_size()
                b.sighup()
                line = b.wait_log("jwt-auth:", "reload failed", p, after=mark)
                self.assertIsNotNone(line, "no reload failure naming %s\n%s" % (p, self.tail()))
                self.assertIn(why, line)
                self.assertTrue(b.running(), "broker stopped on a bad reload")
                # the previous set is still in force: old tokens of every kind
                for alg in ("RS256", "HS256"):
                    self.assertConnected(self.paho(V311, username="dev-1",
                                                   password=h.mint("dev-1", alg=alg)))
                self.assertFalse(c_old.disconnected.is_set(), "client lost on a bad reload")
                # put the good file back: the next reload succeeds
                os.unlink(p)
                b.write_file(rel, saved)
                mark = b.log_size()
                b.sighup()
                self.assertIsNotNone(b.wait_log("jwt-auth:", "reloaded", after=mark),
                                     self.tail())


if __name__ == "__main__":
    unittest.main()
