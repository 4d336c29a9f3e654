"""Numbers to watch (README "Numbers to watch ($SYS)"): a monitor subscribes
to $SYS/broker/plugin/jwt-auth/#, a scripted mix of accepted, deferred,
refused (several reasons), denied, expired, revoked and re-authenticating
clients runs, and every retained counter is checked exactly. Also: with
stats_interval 0 nothing is published; re-authentication with CUSTOM-JWT."""

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
