"""Regression: without acl_file, expired clients were silently never
disconnected under per_listener_settings true.

The bug: without acl_file the plugin registers no ACL callback (so that it
takes no topic decisions), which leaves TICK as the only moment an expired
client is noticed; Mosquitto 2.0.11 sends plugins no TICK with
per_listener_settings true, so nothing disconnected an expired client, and
nothing said so.

The fix: this is documented, the start warning says that expiry then
depends on the broker's TICK and names per_listener_settings true, and a
missing TICK is also noticed at a connect a few seconds after start
(docs/design.md, "Expiry"). The pair checks that a broker that sends TICK
gets no such warning. Found by a security review of the glue; this test
failed against the broker before the fix.
"""

import time
import unittest

import harness as h
from harness import V311


@h.skip_if_external("reads the broker's start log")
class NoAclWarning(h.BrokerTestCase):
    """Without acl_file the plugin registers no ACL callback, so with
    per_listener_settings true (no TICK) nothing disconnects an expired
    client. Documented and warned about at start."""

    broker_kwargs = dict(extra={"acl_file": None}, per_listener=True)

    def test_start_warning_names_tick_and_per_listener_settings(self):
        line = self.broker.wait_log("jwt-auth: no acl_file")
        self.assertIsNotNone(line, self.tail())
        self.assertIn("only on the broker's TICK", line)
        self.assertIn("per_listener_settings true", line)

    @h.skip_unless_broker(hi=(2, 0, 15), reason="Mosquitto sends TICK with "
                          "per_listener_settings true from 2.0.15 on")
    def test_missing_tick_noticed_at_a_later_connect(self):
        time.sleep(3.5)
        c = self.paho(V311, username="dev-nt", password=h.mint("dev-nt"))
        self.assertConnected(c)
        self.assertIsNotNone(self.broker.wait_log("jwt-auth: the broker sends no TICK"),
                             self.tail())

    @h.skip_unless_broker(lo=(2, 0, 15), reason="Mosquitto before 2.0.15 sends no TICK "
                          "with per_listener_settings true")
    def test_tick_comes_with_per_listener_settings(self):
        time.sleep(3.5)
        c = self.paho(V311, username="dev-pt", password=h.mint("dev-pt"))
        self.assertConnected(c)
        time.sleep(0.3)
        self.assertEqual(self.broker.log_lines("sends no TICK"), [], self.tail())



@h.skip_if_external("reads the broker log")
class NoAclWithTick(h.BrokerTestCase):
    """The pair: with TICK (per_listener_settings false) no such warning."""

    broker_kwargs = dict(extra={"acl_file": None})

    def test_no_missing_tick_warning(self):
        time.sleep(3.5)
        c = self.paho(V311, username="dev-t", password=h.mint("dev-t"))
        self.assertConnected(c)
        time.sleep(0.3)
        self.assertEqual(self.broker.log_lines("sends no TICK"), [], self.tail())


if __name__ == "__main__":
    unittest.main()
