"""Numbers to watch (README "Numbers to watch ($SYS)"): a monitor subscribes
to $SYS/broker/plugin/jwt-auth/#, a scripted mix of accepted, deferred,
refused (several reasons), denied, expired, revoked and re-authenticating
clients runs, and every retained counter is checked exactly. Also: with
stats_interval 0 nothing is published; re-authentication with CUSTOM-JWT;
per listener (per_listener_settings true, stats_per_listener true)."""

import time
import unittest

import harness as h
from harness import V311, V5
import mqtt5raw as raw

PREFIX = "$SYS/broker/plugin/jwt-auth/"
REVOKED = "/etc/mosquitto/jwt/revoked"

ACL = """
pattern readwrite devices/%s/#
sub writer
topic write shared/#
sub reader
topic read shared/#
topic deny shared/secret
role operator
topic read $SYS/#
"""


class StatsCase(h.BrokerTestCase):
    def paho(self, proto=V311, username=None, password=None, **kw):
        if username is None and password is not None:
            username = "stats-user"   # MQTT 3.1.1: no password without username
        return super().paho(proto, username=username, password=password, **kw)

    def monitor(self, name="monitor"):
        m = self.paho(V311, password=h.mint(name, claims={"roles": ["operator"]}))
        self.assertConnected(m)
        self.assertEqual(m.subscribe(PREFIX + "#", 0), [0], self.tail())
        return m

    def latest(self, m, want, timeout):
        """Drain the monitor's messages into {suffix: value} until it equals
        want or timeout passes; returns the last view."""
        seen = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = m.get(timeout=0.2)
            while msg is not None:
                topic, payload, _ = msg
                self.assertTrue(topic.startswith(PREFIX), topic)
                seen[topic[len(PREFIX):]] = int(payload)
                msg = m.get(timeout=0.05)
            if seen == want:
                break
        return seen


@h.skip_if_external("needs its own options and ACL")
class CountersExact(StatsCase):
    broker_kwargs = dict(extra={"stats_interval": "1", "leeway": "0",
                                "revocation_file": REVOKED,
                                "auth_methods": "jwt CUSTOM-JWT"},
                         files={"acl.conf": ACL, "revoked": "jti revoked-at-connect\n"})

    def test_scripted_mix(self):
        m = self.monitor()                                   # accepted 1, miss 1
        keys = int(self.broker.wait_log("jwt-auth: ready:").split("ready: ")[1].split()[0])

        reader = self.paho(V311, password=h.mint("reader"))  # accepted 2, miss 2
        self.assertConnected(reader)
        self.assertEqual(reader.subscribe("shared/#", 1), [1])
        writer = self.paho(V5, password=h.mint("writer"))    # accepted 3, miss 3
        self.assertConnected(writer)
        # delivery of shared/secret to the reader is denied: receive 1
        writer.publish("shared/secret", b"s", 1)
        writer.publish("shared/ok", b"ok", 1)
        self.assertEqual(reader.get()[0], "shared/ok")
        # publish 1, subscribe 1
        writer.publish("other/x", b"no", 1)
        self.assertEqual(writer.subscribe("other/#", 1), [0x87])

        # refused: two bad signatures, expired, wrong audience, revoked
        # (each a cache miss: refusals are never cached)
        for tok in (h.tamper_signature(h.mint("r1")), h.tamper_signature(h.mint("r2")),
                    h.mint("r3", now=int(time.time()) - 3600, ttl=60),
                    h.mint("r4", aud="someone-else"),
                    h.mint("r5", claims={"jti": "revoked-at-connect"})):
            self.assertRefused(self.paho(V311, password=tok), V311)
        # deferred: a password that is not a JWT, and an MQTT 5 authentication
        # method not in auth_methods (both then refused by the broker)
        self.assertRefused(self.paho(V311, password="hunter2"), V311)
        o = self.raw()
        ack = o.connect("other-method", auth_method="OAUTH2-JWT", auth_data=h.mint("o"))
        self.assertTrue(ack is None or ack.reason >= 0x80, repr(ack))
        o.close()

        # the same token twice: a miss, then a hit
        tok = h.mint("again")
        c = self.paho(V311, password=tok)                   # accepted 4, miss 9
        self.assertConnected(c)
        c.close()
        c = self.paho(V311, password=tok)                   # accepted 5, hit 1
        self.assertConnected(c)

        # expired while connected
        now = int(time.time())
        e = self.paho(V311, password=h.mint("expiring", now=now, ttl=2))   # accepted 6, miss 10
        self.assertConnected(e)
        self.assertTrue(e.disconnected.wait(5), "not disconnected at expiry\n" + self.tail())
        e.close()   # before paho reconnects (after 1 s) with the expired token

        # revoked while connected
        v = self.paho(V5, password=h.mint("victim", claims={"jti": "victim-1"}))  # accepted 7, miss 11
        self.assertConnected(v)
        self.broker.write_file("revoked", "jti revoked-at-connect\njti victim-1\n")
        self.assertTrue(v.disconnected.wait(4), "not disconnected when revoked\n" + self.tail())
        v.close()

        # re-authentication with CUSTOM-JWT: accepted, then refused (other sub)
        r = self.raw()
        ack = r.connect("ra-1", auth_method="CUSTOM-JWT", auth_data=h.mint("ra"))  # accepted 8, miss 12
        self.assertEqual(ack.reason, 0, "%r\n%s" % (ack, self.tail()))
        self.assertEqual(ack.props.get(raw.PROP_AUTH_METHOD), "CUSTOM-JWT")
        r.send_auth(0x19, "CUSTOM-JWT", h.mint("ra", ttl=900))                     # miss 13
        self.assertEqual(r.expect(raw.AUTH).reason, 0, self.tail())
        r.send_auth(0x19, "CUSTOM-JWT", h.mint("someone-else"))                    # miss 14
        closed, got = r.wait_closed(h.CLIENT_TIMEOUT)
        self.assertTrue(closed, "re-auth with another sub not refused: %r" % got)

        want = {
            "connects/accepted": 8,
            "connects/deferred": 2,
            "connects/refused/bad-signature": 2,
            "connects/refused/expired": 1,
            "connects/refused/wrong-audience": 1,
            "connects/refused/revoked": 1,
            "reauth/accepted": 1,
            "reauth/refused": 1,
            "disconnects/expired": 1,
            "disconnects/revoked": 1,
            "acl/denied/publish": 1,
            "acl/denied/subscribe": 1,
            "acl/denied/receive": 1,
            "cache/hits": 1,
            "cache/misses": 14,
            "keys/count": keys,
        }
        got = self.latest(m, want, timeout=6)
        self.maxDiff = None
        self.assertEqual(got, want, self.tail(60))
        # retained: a subscriber that comes later gets the same figures
        late = self.monitor("late-monitor")
        want["connects/accepted"] += 1
        want["cache/misses"] += 1
        self.assertEqual(self.latest(late, want, timeout=4), want)


@h.skip_if_external("needs two listeners")
class PerListener(StatsCase):
    """per_listener_settings true: each listener loads its own instance,
    each with stats_per_listener true (README "Numbers to watch"). 2.1: each
    instance publishes under its listener's port, as the broker reports it
    for the instance's clients. 2.0 tells a plugin no port: a start warning,
    and the instance-level topics, which both instances publish (each its
    own figures); 2.0.11 to 2.0.14 send no TICK there, so nothing."""

    opts = {"stats_interval": "1", "stats_per_listener": "true", "leeway": "0"}
    broker_kwargs = dict(per_listener=True, files={"acl.conf": ACL},
                         listeners=[{"extra": opts}, {"extra": opts}])

    def test_counters_of_each_listener(self):
        p1, p2 = self.broker.ports
        m = self.monitor()                                      # 1: accepted 1, miss 1
        keys = int(self.broker.wait_log("jwt-auth: ready:").split("ready: ")[1].split()[0])
        reader = self.paho(V311, password=h.mint("reader"))    # 1: accepted 2, miss 2
        self.assertConnected(reader)
        self.assertRefused(self.paho(V311, password=h.tamper_signature(h.mint("r1"))),
                           V311)                                # 1: bad signature, miss 3
        for sub in ("a", "b", "c"):                             # 2: accepted 3, misses 3
            self.assertConnected(self.paho(V311, password=h.mint(sub), port=p2))
        self.assertRefused(self.paho(V311, port=p2,             # 2: expired, miss 4
                                     password=h.mint("r3", now=int(time.time()) - 3600, ttl=60)),
                           V311)
        self.assertRefused(self.paho(V311, password=h.mint("r4", aud="someone-else"),
                                     port=p2), V311)            # 2: wrong audience, miss 5
        self.assertRefused(self.paho(V311, password="hunter2", port=p2), V311)  # 2: deferred
        want1 = {"connects/accepted": 2, "connects/refused/bad-signature": 1,
                 "cache/misses": 3, "keys/count": keys}
        want2 = {"connects/accepted": 3, "connects/deferred": 1,
                 "connects/refused/expired": 1, "connects/refused/wrong-audience": 1,
                 "cache/misses": 5, "keys/count": keys}
        self.maxDiff = None
        v = h.broker_version()
        self.assertIsNotNone(v, "broker version unknown")
        if v >= (2, 1, 0):
            want = {"%d/%s" % (p1, k): n for k, n in want1.items()}
            want.update({"%d/%s" % (p2, k): n for k, n in want2.items()})
            self.assertEqual(self.latest(m, want, timeout=6), want, self.tail(60))
            self.assertIsNone(self.broker.wait_log("stats_per_listener", timeout=0.1))
            return
        # 2.0: the start warning, once per instance
        warn = [l for l in self.broker.log().splitlines()
                if "stats_per_listener" in l and "no listener port" in l]
        self.assertEqual(len(warn), 2, self.tail(60))
        time.sleep(1.5)   # publishes from before the last client counted
        while m.get(timeout=0.05) is not None:
            pass
        seen = {}
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            msg = m.get(timeout=0.2)
            if msg is not None:
                self.assertTrue(msg[0].startswith(PREFIX), msg[0])
                seen.setdefault(msg[0][len(PREFIX):], set()).add(int(msg[1]))
        if v < (2, 0, 15):
            self.assertEqual(seen, {}, "published without TICK?\n" + self.tail(60))
            return
        want = {}
        for w in (want1, want2):
            for k, n in w.items():
                want.setdefault(k, set()).add(n)
        self.assertEqual(seen, want, self.tail(60))


@h.skip_unless_broker((2, 1, 0), None, "plugin_load / plugin_use exist from Mosquitto 2.1")
@h.skip_if_external("needs its own broker and options")
class PerListenerOneInstanceSeveralListeners(StatsCase):
    """stats_per_listener true on an instance that is not a listener's own
    (plugin_use on two listeners): under the first client's port until a
    client of the second port comes; then a warning, and the topics
    without the listener level."""

    start_broker = False

    def test_second_port_drops_the_listener_level(self):
        b = self.make_broker(listeners=[
            {"plugin": False, "conf": "plugin_use jwt",
             "extra": {"stats_interval": "1", "stats_per_listener": "true"}},
            {"plugin": False, "conf": "plugin_use jwt"}], files={"acl.conf": ACL})
        opts = "\n".join("plugin_opt_%s %s" % kv for kv in b.plugin_options(b.listeners[0]))
        b.global_conf = "plugin_load jwt %s\n%s" % (b.plugin, opts)
        b.write_conf()
        b.start()
        self.broker = b
        p1, p2 = b.ports
        m = self.monitor()                                      # accepted 1, miss 1
        keys = int(b.wait_log("jwt-auth: ready:").split("ready: ")[1].split()[0])
        want = {"%d/connects/accepted" % p1: 1, "%d/cache/misses" % p1: 1,
                "%d/keys/count" % p1: keys}
        self.maxDiff = None
        self.assertEqual(self.latest(m, want, timeout=4), want, self.tail(60))
        self.assertConnected(self.paho(V311, password=h.mint("a"), port=p2))  # accepted 2
        self.assertIsNotNone(b.wait_log("stats_per_listener: clients of ports %d and %d"
                                        % (p1, p2)), self.tail(60))
        want = {"connects/accepted": 2, "cache/misses": 2, "keys/count": keys}
        self.assertEqual(self.latest(m, want, timeout=4), want, self.tail(60))


@h.skip_if_external("needs its own options")
class StatsOff(StatsCase):
    broker_kwargs = dict(extra={"stats_interval": "0"})

    def test_nothing_published(self):
        m = self.monitor()
        self.assertRefused(self.paho(V311, password=h.tamper_signature(h.mint("x"))), V311)
        time.sleep(2.5)
        self.assertIsNone(m.get(timeout=0.5), "published with stats_interval 0")


if __name__ == "__main__":
    unittest.main()
