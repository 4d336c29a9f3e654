"""Regression: a will delayed past a minute escaped the plugin.

MQTT 5 lets a will wait up to the session expiry interval. The plugin
forgot a disconnected token client after a fixed 60 s, so a will published
later was left to whatever else decides ACLs:

- with a second ACL source (Mosquitto's own `acl_file`, with a catch-all
  for password users), the will of token client `dev1` to `secrets/x`,
  delayed 65 s, was published although the plugin's rules deny it (a
  direct PUBLISH, or a delay of 30 s, is denied);
- with no second source, an allowed will (`devices/dev1/will`) delayed
  70 s was silently dropped (every ACL source deferred).

The plugin now keeps a token client's entry as long as the broker may still
act for it, and judges its will however late it fires; a will that fires
after the token's `exp` is denied.

Both cases wait more than a minute, as the bug needs: their two brokers
run side by side in one test so that the waits overlap (one wait of some
75 s instead of two).
"""

import os
import subprocess
import time
import unittest

import harness as h
from harness import V311
import mqtt5raw as raw

MOSQ_ACL = "pattern readwrite #\n"   # a catch-all: password users may do anything


def password_file(broker, user, password):
    path = broker.path("passwd")
    subprocess.run([h.MOSQUITTO_PASSWD, "-c", "-b", path, user, password], check=True,
                   timeout=30, capture_output=True)
    os.chmod(path, 0o644)
    return path


def leave_with_will(test, port, cid, sub, topic, payload, delay, ttl=300):
    """A token client with a delayed will that is lost (no DISCONNECT)."""
    c = test.raw(port=port)
    ack = c.connect(cid, username=sub, password=h.mint(sub, ttl=ttl).encode(),
                    clean_start=True, session_expiry=delay + 60,
                    will=(topic, payload, 1, False), will_delay=delay)
    test.assertEqual(ack.reason, 0, test.tail())
    c.close()   # lost: the will is due after its delay


@h.skip_if_external("needs Mosquitto's password_file and acl_file beside the plugin, "
                    "and waits more than a minute")
class DelayedWills(h.BrokerTestCase):
    """self.broker: a second ACL source beside the plugin (Mosquitto's
    password_file and acl_file); self.plugin_only: the plugin alone."""

    start_broker = False

    def setUp(self):
        super().setUp()
        self.broker = self.make_broker(extra={"leeway": "0"})
        pw = password_file(self.broker, "watcher", "watcher-pass-1")
        self.broker.write_file("mosq.acl", MOSQ_ACL)
        os.chmod(self.broker.path("mosq.acl"), 0o644)
        self.broker.global_conf = "password_file %s\nacl_file %s" % (pw, self.broker.path("mosq.acl"))
        self.broker.write_conf()
        self.broker.start()
        self.plugin_only = self.make_broker()
        self.plugin_only.start()

    def tail_of(self, broker, n=30):
        return "broker log (tail):\n" + "\n".join(broker.log().splitlines()[-n:])

    def plant_wills_beside_second_source(self):
        """With a second ACL source: wills the plugin denies, delayed 65 s.
        Returns the watcher (subscribed to everything)."""
        w = self.paho(V311, username="watcher", password="watcher-pass-1")
        self.assertConnected(w)
        self.assertEqual(w.subscribe("#", 1), [1], self.tail())
        # the plugin's rules deny dev1 secrets/x: a direct PUBLISH is denied
        d = self.raw()
        self.assertEqual(d.connect("dev1-direct", username="dev1",
                                   password=h.mint("dev1").encode()).reason, 0)
        d.publish("secrets/x", b"direct", 1)
        self.assertEqual(d.expect(raw.PUBACK).reason, 0x87, self.tail())
        d.disconnect()
        d.close()
        # a forbidden will delayed 65 s; an allowed will delayed 65 s from a
        # token that expires after 30 s (it fires after exp)
        leave_with_will(self, self.broker.port, "dev1-w65", "dev1", "secrets/x", b"will-65", 65)
        leave_with_will(self, self.broker.port, "dev3-exp", "dev3", "devices/dev3/will",
                        b"will-after-exp", 65, ttl=30)
        return w

    def plant_allowed_will_plugin_only(self):
        """The plugin alone: an allowed will delayed 70 s. Returns the
        subscriber of its topic."""
        port = self.plugin_only.port
        w = self.paho(V311, username="dev4", password=h.mint("dev4", ttl=600), port=port)
        self.assertConnected(w)
        self.assertEqual(w.subscribe("devices/dev4/#", 1), [1], self.tail_of(self.plugin_only))
        leave_with_will(self, port, "dev4-w70", "dev4", "devices/dev4/will", b"will-70", 70)
        return w

    def test_late_wills_judged_by_the_plugin(self):
        w_second = self.plant_wills_beside_second_source()
        second_until = time.time() + 75
        w_alone = self.plant_allowed_will_plugin_only()
        alone_until = time.time() + 80
        # Both watched at once: everything the first watcher gets until 75 s
        # after its wills were left; the second's will until it comes (80 s).
        got, m = [], None
        while True:
            now = time.time()
            second_open = now < second_until
            alone_open = m is None and now < alone_until
            if not (second_open or alone_open):
                break
            if second_open:
                g = w_second.get(timeout=0.5)
                if g is not None:
                    got.append(g)
            if alone_open:
                m = w_alone.get(timeout=0.5 if not second_open else 0.05)
        # each case reported on its own, as if it had run alone
        with self.subTest("second ACL source: the wills the plugin denies stay unpublished"):
            self.assertEqual([g for g in got if g[1] in (b"will-65", b"will-after-exp")], [],
                             "a will the plugin denies was published\n" + self.tail())
            self.assertTrue(self.broker.running(), self.tail())
        with self.subTest("the plugin alone: the allowed will delayed 70 s is published"):
            self.assertIsNotNone(m, "allowed will delayed 70 s not published\n"
                                 + self.tail_of(self.plugin_only))
            self.assertEqual(m[1], b"will-70")


if __name__ == "__main__":
    unittest.main()
