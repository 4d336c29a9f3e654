"""Regression: a token's sub with control characters forged broker log lines.

The story. A token client gets its sub as broker username, and Mosquitto
writes the username unescaped into its log ("New client connected ... u'...'").
Before the fix, a validly signed token with sub
"dev1\n<fake mosquitto line>\x1b[31m" was accepted; the plugin's own log
line escaped it, Mosquitto's did not, so the newline forged a whole log line
(here a fake "admin" login) and the ESC sequence reached the terminal of
whoever read the log.

A sub with a control character (C0, DEL, C1 such as NEL) or a line or
paragraph separator (U+2028, U+2029) is now refused as "bad sub"
(docs/design.md, "Token rules", step 7).

The test: validly signed tokens whose sub holds a newline and a forged log
line, a carriage return, ESC, DEL, NUL, C1 NEL or U+2028 are refused (MQTT 5
with the token as password; Paho 3.1.1 and 5 with a username beside it),
the refusal is logged as "bad sub", and the broker log holds no raw ESC or
NEL byte and no forged line; the positive pair: a printable sub (with a
non-ASCII letter) is accepted.
"""

import time
import unittest

import harness as h
from harness import V311, V5

FAKE = "%d: New client connected from 10.0.0.66:1883 as admin (p2, c1, k60, u'admin')." % 1700000000
FORGED_SUB = "dev1\n" + FAKE + "\x1b[31m"


@h.skip_if_external("reads the broker's log")
class SubControlCharacters(h.BrokerTestCase):
    class_broker = True

    def assert_log_clean(self):
        with open(self.broker.log_path, "rb") as f:
            raw = f.read()
        self.assertNotIn(b"\x1b", raw, "raw ESC byte in the broker log")
        self.assertNotIn(b"\x85", raw.replace(b"\xc2\x85", b""), "raw NEL in the broker log")
        for line in raw.split(b"\n"):
            self.assertFalse(line.startswith(FAKE.encode()[:30]),
                             "forged line in the broker log: %r" % line)
            self.assertNotIn(b"as admin (p2", line, "forged line in the broker log: %r" % line)

    def test_forged_log_line_in_sub_refused(self):
        # MQTT 5 with a password and no username: an accepted client gets
        # its sub as username, the line Mosquitto logs.
        cases = [
            ("newline + fake line + ESC", FORGED_SUB),
            ("carriage return", "dev1\rfake"),
            ("ESC only", "dev1\x1b]0;title\x07"),
            ("DEL", "dev1\x7f"),
            ("NUL", "dev1\x00admin"),
            ("C1 NEL", "dev1\u0085fake"),
            ("line separator", "dev1\u2028fake"),
        ]
        for name, sub in cases:
            with self.subTest(case=name):
                c = self.raw()
                ack = c.connect(h.unique_id("cc"), password=h.mint(sub))
                self.assertIn(ack.reason, (0x86, 0x87),
                              "sub with %s accepted\n%s" % (name, self.tail()))
                c.close()
        # paho (MQTT 3.1.1 and 5) with a username beside the token
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                c = self.paho(proto, username="dev1", password=h.mint(FORGED_SUB))
                self.assertRefused(c, proto)
                c.close()
        self.assertTrue(self.broker.wait_log("bad sub"), "no refusal line\n" + self.tail())
        time.sleep(0.3)
        self.assert_log_clean()

    def test_plain_sub_accepted(self):
        # The positive pair: the same token form with a printable sub.
        c = self.raw()
        ack = c.connect(h.unique_id("cc"), password=h.mint("dev1 ok-\u00e9"))
        self.assertEqual(ack.reason, 0, self.tail())
        c.close()


if __name__ == "__main__":
    unittest.main()
