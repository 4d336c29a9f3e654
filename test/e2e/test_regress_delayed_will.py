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


def leave_with_will(test, cid, sub, topic, payload, delay, ttl=300):
    """A token client with a delayed will that is lost (no DISCONNECT)."""
    c = test.raw()
    ack = c.connect(cid, username=sub, password=h.mint(sub, ttl=ttl).encode(),
                    clean_start=True, session_expiry=delay + 60,
                    will=(topic, payload, 1, False), will_delay=delay)
    test.assertEqual(ack.reason, 0, test.tail())
    c.close()   # lost: the will is due after its delay


@h.skip_if_external("needs Mosquitto's password_file and acl_file beside the plugin")
class DelayedWillWithSecondAclSource(h.BrokerTestCase):
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

    def test_late_wills_judged_by_the_plugin(self):
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
        leave_with_will(self, "dev1-w65", "dev1", "secrets/x", b"will-65", 65)
        leave_with_will(self, "dev3-exp", "dev3", "devices/dev3/will", b"will-after-exp", 65,
                        ttl=30)
        got = []
        deadline = time.time() + 75
        while time.time() < deadline:
            m = w.get(timeout=1)
            if m is not None:
                got.append(m)
        self.assertEqual([m for m in got if m[1] in (b"will-65", b"will-after-exp")], [],
                         "a will the plugin denies was published\n" + self.tail())
        self.assertTrue(self.broker.running(), self.tail())


@h.skip_if_external("waits more than a minute")
class DelayedWillPluginOnly(h.BrokerTestCase):

    def test_allowed_will_delayed_70s_published(self):
        w = self.paho(V311, username="dev4", password=h.mint("dev4", ttl=600))
        self.assertConnected(w)
        self.assertEqual(w.subscribe("devices/dev4/#", 1), [1], self.tail())
        leave_with_will(self, "dev4-w70", "dev4", "devices/dev4/will", b"will-70", 70)
        m = None
        deadline = time.time() + 80
        while time.time() < deadline and m is None:
            m = w.get(timeout=1)
        self.assertIsNotNone(m, "allowed will delayed 70 s not published\n" + self.tail())
        self.assertEqual(m[1], b"will-70")


if __name__ == "__main__":
    unittest.main()
