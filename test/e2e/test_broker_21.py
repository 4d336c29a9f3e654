"""What the plugin does on Mosquitto 2.1 that 2.0 cannot: refused MQTT 5
clients get a precise CONNACK reason from BASIC_AUTH, `non_jwt ignore`
answers "as if not loaded", TICK's next_ms keeps expiry disconnects within
about a second on a broker whose main loop would sleep longer (built
without websockets), and one plugin instance serves several listeners
(`plugin_load` / `plugin_use`). On 2.0 the same cases check the 2.0
answers (MOSQ_ERR_AUTH: CONNACK 0x87; `non_jwt ignore` as `defer`).

Run against a 2.1 broker with MJA_E2E_BROKER_WRAPPER (a chroot) or
MJA_MOSQUITTO (the broker binary)."""

import functools
import re
import subprocess
import time
import unittest

import harness as h
from harness import V311, V5
import mqtt5raw as raw


@functools.lru_cache(maxsize=None)
def version():
    """The broker's version tuple from `mosquitto -h`, or None."""
    try:
        out = subprocess.run(h.BROKER_WRAPPER + [h.MOSQUITTO, "-h"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"mosquitto version (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else None


def is_21():
    v = version()
    return v is not None and v >= (2, 1, 0)


@h.skip_if_external("needs its own broker and options")
class ConnackReasons(h.BrokerTestCase):
    class_broker = True
    # the reasons of an answer on the broker's thread: with worker threads
    # (2.1) a delayed refusal is always 0x87 (test_verify_threads.py)
    broker_kwargs = dict(extra={"verify_threads": "0"})

    def refusal(self, token):
        c = self.raw()
        ack = c.connect(h.unique_id("r"), username="x", password=token.encode())
        self.assertIsNotNone(ack, self.tail())
        return ack.reason

    def test_bad_and_expired_tokens(self):
        want = 0x86 if is_21() else 0x87
        bad = h.tamper_signature(h.mint("dev-r"))
        expired = h.mint("dev-r", now=int(time.time()) - 7200, ttl=3600)
        self.assertEqual(self.refusal(bad), want, self.tail())
        self.assertEqual(self.refusal(expired), want, self.tail())
        # MQTT 3.1.1 clients get "not authorized" either way
        c = self.paho(V311, username="x", password=bad)
        self.assertEqual(c.rc, 5)


@h.skip_if_external("needs its own broker and options")
class NonJwtIgnore(h.BrokerTestCase):
    """allow_anonymous true: with `ignore` (2.1) a non-JWT password is as if
    the plugin were not there: the anonymous rule lets it in; with `defer`
    (and on 2.0, where ignore is defer) a deferred username is refused."""

    start_broker = False

    def start(self, mode):
        # allow_anonymous true both globally (2.1 reads the global setting
        # without per_listener_settings) and in the listener (2.0 applies a
        # listener's line globally)
        self.broker = self.make_broker(global_conf="allow_anonymous true",
                                       listeners=[{"conf": "allow_anonymous true",
                                                   "extra": {"non_jwt": mode, "acl_file": None}}])
        self.broker.start()

    def test_ignore(self):
        self.start("ignore")
        c = self.paho(V5, username="legacy", password="not-a-jwt")
        if is_21():
            self.assertConnected(c)
        else:
            self.assertIn(c.rc, (0x86, 0x87), self.tail())
        good = self.paho(V5, username="dev-i", password=h.mint("dev-i"))
        self.assertConnected(good)
        bad = self.paho(V5, username="dev-i", password=h.tamper_signature(h.mint("dev-i")))
        self.assertIn(bad.rc, (0x86, 0x87))

    def test_defer(self):
        self.start("defer")
        c = self.paho(V5, username="legacy", password="not-a-jwt")
        self.assertIn(c.rc, (0x86, 0x87), self.tail())


@h.skip_if_external("needs its own broker and options")
class ExpiryWithinASecond(h.BrokerTestCase):
    """On 2.1 the main loop sleeps until its next timer (seconds without
    websockets): TICK's next_ms must bring the expiry disconnect within
    about a second of exp + leeway."""

    broker_kwargs = dict(extra={"leeway": "0"})

    def test_disconnect_latency(self):
        for i in range(3):
            t = int(time.time()) + 2
            c = self.raw()
            ack = c.connect(h.unique_id("lat"), username="x",
                            password=h.mint("dev-lat", now=t - 60, ttl=60).encode())
            self.assertEqual(ack.reason, 0, self.tail())
            closed, _ = c.wait_closed(6)
            self.assertTrue(closed, self.tail())
            late = time.time() - t
            self.assertLess(late, 2.1, "disconnected %.2f s after exp\n%s" % (late, self.tail()))


@unittest.skipUnless(is_21(), "plugin_load / plugin_use exist from Mosquitto 2.1")
@h.skip_if_external("needs its own broker and options")
class OneInstanceSeveralListeners(h.BrokerTestCase):
    start_broker = False

    def test_plugin_load_and_use(self):
        b = self.make_broker(listeners=[{"plugin": False, "conf": "plugin_use jwt"},
                                        {"plugin": False, "conf": "plugin_use jwt"}])
        opts = "\n".join("plugin_opt_%s %s" % kv for kv in b.plugin_options(b.listeners[0]))
        b.global_conf = "plugin_load jwt %s\n%s" % (b.plugin, opts)
        b.write_conf()
        b.start()
        self.broker = b
        ready = [l for l in b.log().splitlines() if "jwt-auth: ready" in l]
        self.assertEqual(len(ready), 1, self.tail())
        for port in b.ports:
            c = self.paho(V5, username="dev-p", password=h.mint("dev-p"), port=port)
            self.assertConnected(c)
            self.assertEqual(c.subscribe("devices/dev-p/#", 1), [1])
            self.assertEqual(c.subscribe("devices/other/#", 1), [0x87])
            bad = self.paho(V5, username="x", password=h.tamper_signature(h.mint("dev-p")),
                            port=port)
            self.assertIn(bad.rc, (0x86, 0x87))
        mark = b.log_size()
        b.sighup()
        self.assertIsNotNone(b.wait_log("jwt-auth: reloaded", after=mark), self.tail())
        time.sleep(0.5)
        self.assertEqual(len([l for l in b.log()[mark:].splitlines()
                              if "jwt-auth: reloaded" in l]), 1, self.tail())


if __name__ == "__main__":
    unittest.main()
