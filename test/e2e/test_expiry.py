"""Disconnect on expiry (docs/design.md, "Expiry"): a connected client whose
token expires is disconnected within about a second of exp + leeway, gets a
DISCONNECT with a reason code under MQTT 5, and its will is published. With
per_listener_settings true (no TICK in 2.0.11) the first ACL check after
expiry denies and disconnects."""

import time
import unittest

import harness as h
from harness import V311, V5
import mqtt5raw as raw

# Seconds from connect to expiry, and the allowed delay after it.
TTL = 2
GRACE = 2.0


def short_token(sub, ttl=TTL, lw=None):
    """A token that stops being valid (exp + leeway <= now) between ttl and
    ttl + 1 seconds from now, whatever the broker's leeway (iat is now, not
    in the future). Returns (token, expiry instant)."""
    lw = h.leeway() if lw is None else lw
    t = int(time.time())
    tok = h.mint(sub, now=t - lw, ttl=ttl + 1, claims={"iat": t})
    return tok, float(t + ttl + 1)


class ExpiryBase(h.BrokerTestCase):
    broker_kwargs = dict(extra={"leeway": "0"})

    def lw(self):
        return h.leeway() if self.broker.external else 0

    def will_listener(self, sub, proto=V311):
        """A second client of the same sub (long token) subscribed to the
        expiring client's topics, will topic included."""
        w = self.paho(proto, username=sub, password=h.mint(sub))
        self.assertConnected(w)
        self.assertIn(w.subscribe("devices/%s/#" % sub, 1)[0], (0, 1), self.tail())
        return w, "devices/%s/status" % sub

    def assert_will(self, w, topic, payload):
        m = w.get(timeout=GRACE + 2)
        self.assertIsNotNone(m, "will not received\n" + self.tail())
        self.assertEqual(m[0], topic)
        self.assertEqual(m[1], payload)


class DisconnectOnExpiry(ExpiryBase):

    def test_mqtt311_disconnected_within_grace_and_will_sent(self):
        sub = h.unique_id("dev-exp")
        w, topic = self.will_listener(sub)
        tok, expiry = short_token(sub, lw=self.lw())
        c = self.paho(V311, username=sub, password=tok, will=(topic, b"gone-311", 1, False))
        self.assertConnected(c)
        self.assertTrue(c.disconnected.wait(expiry - time.time() + GRACE + 1),
                        "not disconnected after expiry\n" + self.tail())
        at = time.time()
        self.assertGreaterEqual(at, expiry - 0.2, "disconnected before expiry")
        self.assertLessEqual(at, expiry + GRACE, "disconnected %.2fs after expiry" % (at - expiry))
        self.assert_will(w, topic, b"gone-311")
        # The other client (valid token) stays connected.
        self.assertFalse(w.disconnected.is_set())

    def test_mqtt5_gets_disconnect_with_reason_and_will_sent(self):
        sub = h.unique_id("dev-exp5")
        w, topic = self.will_listener(sub, V5)
        tok, expiry = short_token(sub, lw=self.lw())
        c = self.raw()
        ack = c.connect(sub, username=sub, password=tok, will=(topic, b"gone-5", 1, False))
        self.assertEqual(ack.reason, 0, "%r\n%s" % (ack, self.tail()))
        closed, got = c.wait_closed(expiry - time.time() + GRACE + 1)
        at = time.time()
        self.assertTrue(closed, "not disconnected after expiry\n" + self.tail())
        self.assertGreaterEqual(at, expiry - 0.2, "disconnected before expiry")
        self.assertLessEqual(at, expiry + GRACE, "disconnected %.2fs after expiry" % (at - expiry))
        disc = [p for p in got if p.type == raw.DISCONNECT]
        self.assertEqual(len(disc), 1, "expected one DISCONNECT, got %r" % got)
        self.assertGreaterEqual(disc[0].reason, 0x80, "DISCONNECT reason %r" % disc[0])
        self.assert_will(w, topic, b"gone-5")

    def test_will_still_checked_against_acl(self):
        # The negative pair of the will tests: a will to a topic the token
        # may not write is not published at expiry.
        sub, other = h.unique_id("dev-exp"), h.unique_id("dev-other")
        w, _ = self.will_listener(other)
        tok, expiry = short_token(sub, lw=self.lw())
        c = self.paho(V311, username=sub, password=tok,
                      will=("devices/%s/status" % other, b"forged", 1, False))
        self.assertConnected(c)
        self.assertTrue(c.disconnected.wait(expiry - time.time() + GRACE + 1))
        self.assertIsNone(w.get(timeout=1.0), "will to a forbidden topic delivered")

    # Debian's mosquitto re-checks every subscription (SUBSCRIBE access) when
    # a client is kicked; the plugin judges those by the ACL rules alone
    # inside its expiry kick, so the durable session keeps its subscriptions
    # (deliveries stay denied while the token is expired).
    def test_durable_session_resumes_with_fresh_token(self):
        # README "While connected": the session survives the kick offline;
        # messages for it while its token is expired are denied, not queued;
        # a fresh token resumes it.
        sub = h.unique_id("dev-dur")
        tok, expiry = short_token(sub, lw=self.lw())
        c = self.raw()
        ack = c.connect(sub, username=sub, password=tok, clean_start=False, session_expiry=300)
        self.assertEqual(ack.reason, 0)
        c.subscribe("devices/%s/#" % sub, 1)
        self.assertEqual(c.expect(raw.SUBACK).reasons, [1])
        closed, got = c.wait_closed(expiry - time.time() + GRACE + 1)
        self.assertTrue(closed, "not disconnected at expiry: %r" % got)
        pub = self.paho(V311, username=sub, password=h.mint(sub))
        self.assertConnected(pub)
        pub.publish("devices/%s/x" % sub, b"while-offline", 1)
        c2 = self.raw()
        ack = c2.connect(sub, username=sub, password=h.mint(sub), clean_start=False,
                         session_expiry=300)
        self.assertEqual(ack.reason, 0, repr(ack))
        self.assertTrue(ack.session_present, "durable session lost at expiry")
        pub.publish("devices/%s/x" % sub, b"after-resume", 1)
        m = c2.expect(raw.PUBLISH)
        self.assertEqual(m.payload, b"after-resume", "expected only the message sent after "
                         "the resume, got %r" % m.payload)

    def test_valid_token_not_disconnected(self):
        # The positive pair: a client whose token outlives the wait stays.
        sub = h.unique_id("dev-live")
        c = self.paho(V311, username=sub, password=h.mint(sub, ttl=600))
        self.assertConnected(c)
        self.assertFalse(c.disconnected.wait(TTL + GRACE))


@h.skip_if_external("needs sys_interval 0")
class ExpiryAfterTraffic(ExpiryBase):
    """A broker that sleeps until its next timer (2.1 built without
    websockets; docs/design.md, "Broker facts") must still wake for the
    plugin's next scan when other clients' packets woke it in between.
    sys_interval 0: no $SYS timer wakes the broker by chance."""

    broker_kwargs = dict(extra={"leeway": "0"}, global_conf="sys_interval 0")

    def test_disconnected_within_grace_when_traffic_stops_before_expiry(self):
        busy = self.paho(V311, username="busy", password=h.mint("busy", ttl=600))
        self.assertConnected(busy)
        # Several rounds: each time, packets every 0.1 s until shortly
        # before the expiry, then silence.
        for rnd in range(3):
            sub = h.unique_id("dev-quiet%d" % rnd)
            tok, expiry = short_token(sub, lw=self.lw())
            c = self.paho(V311, username=sub, password=tok)
            self.assertConnected(c)
            while time.time() < expiry - 0.6:
                busy.publish("devices/busy/tick", b"x", 0, wait=False)
                time.sleep(0.1)
            self.assertTrue(c.disconnected.wait(expiry - time.time() + GRACE + 3),
                            "round %d: not disconnected after expiry\n%s" % (rnd, self.tail()))
            at = time.time()
            self.assertLessEqual(at, expiry + GRACE, "round %d: disconnected %.2fs after "
                                 "expiry\n%s" % (rnd, at - expiry, self.tail()))
        self.assertFalse(busy.disconnected.is_set())


@h.skip_if_external("needs leeway 2")
class ExpiryWithLeeway(ExpiryBase):
    broker_kwargs = dict(extra={"leeway": "2"})

    def test_disconnect_waits_for_exp_plus_leeway(self):
        sub = h.unique_id("dev-lw")
        t = int(time.time())
        exp = t + 2
        c = self.paho(V311, username=sub, password=h.mint(sub, now=t, ttl=2))
        self.assertConnected(c)
        # Connected through exp and most of the leeway...
        self.assertFalse(c.disconnected.wait(max(0.0, exp + 1.5 - time.time())),
                         "disconnected before exp + leeway\n" + self.tail())
        # ...and gone within the grace after exp + leeway.
        self.assertTrue(c.disconnected.wait(max(0.0, exp + 2 + GRACE - time.time())),
                        "not disconnected after exp + leeway\n" + self.tail())


@h.skip_if_external("needs disconnect_on_expiry false")
class NoDisconnectOnExpiry(ExpiryBase):
    """disconnect_on_expiry false: the client stays connected, but an
    expired token is denied everything (docs/design.md, "ACL semantics")."""

    broker_kwargs = dict(extra={"leeway": "0", "disconnect_on_expiry": "false"})

    def test_stays_connected_but_denied(self):
        sub = h.unique_id("dev-nd")
        w, _ = self.will_listener(sub)
        tok, expiry = short_token(sub, lw=0)
        c = self.raw()
        self.assertEqual(c.connect(sub, username=sub, password=tok).reason, 0)
        c.publish("devices/%s/data" % sub, b"before", 1)
        self.assertLess(c.expect(raw.PUBACK).reason, 0x80)
        self.assertEqual(w.get()[1], b"before")
        time.sleep(max(0.0, expiry - time.time()) + GRACE)
        c.ping()
        self.assertIsNotNone(c.expect(raw.PINGRESP))
        c.publish("devices/%s/data" % sub, b"after", 1)
        p = c.read_packet()
        self.assertIsNotNone(p, "disconnected although disconnect_on_expiry is false")
        self.assertEqual((p.type, p.reason), (raw.PUBACK, 0x87), repr(p))
        self.assertIsNone(w.get(timeout=0.5))


@h.skip_if_external("needs per_listener_settings true")
class ExpiryPerListener(ExpiryBase):
    """No TICK with per_listener_settings true: the first ACL check after
    expiry denies and disconnects."""

    broker_kwargs = dict(per_listener=True, listeners=[{"extra": {"leeway": "0"}}])

    def test_mqtt311_publish_after_expiry_disconnects(self):
        sub = h.unique_id("dev-pl")
        w, topic = self.will_listener(sub)
        tok, expiry = short_token(sub, lw=0)
        c = self.paho(V311, username=sub, password=tok, will=(topic, b"gone-pl", 1, False))
        self.assertConnected(c)
        time.sleep(max(0.0, expiry - time.time()) + 0.5)
        c.publish("devices/%s/data" % sub, b"after-expiry", 0, wait=False)
        self.assertTrue(c.disconnected.wait(GRACE), "not disconnected\n" + self.tail())
        self.assert_will(w, topic, b"gone-pl")
        # The publish after expiry was not delivered.
        self.assertIsNone(w.get(timeout=0.5))

    def test_mqtt5_publish_after_expiry_disconnects(self):
        sub = h.unique_id("dev-pl5")
        w, topic = self.will_listener(sub, V5)
        tok, expiry = short_token(sub, lw=0)
        c = self.raw()
        ack = c.connect(sub, username=sub, password=tok, will=(topic, b"gone-pl5", 1, False))
        self.assertEqual(ack.reason, 0, "%r\n%s" % (ack, self.tail()))
        # Before expiry the publish is accepted.
        c.publish("devices/%s/data" % sub, b"before", 1)
        self.assertLess(c.expect(raw.PUBACK).reason, 0x80)
        self.assertEqual(w.get()[1], b"before")
        time.sleep(max(0.0, expiry - time.time()) + 0.5)
        c.publish("devices/%s/data" % sub, b"after-expiry", 1)
        closed, got = c.wait_closed(GRACE)
        self.assertTrue(closed, "not disconnected; got %r\n%s" % (got, self.tail()))
        self.assertFalse([p for p in got if p.type == raw.PUBACK and p.reason < 0x80],
                         "publish after expiry acknowledged as success: %r" % got)
        self.assert_will(w, topic, b"gone-pl5")
        self.assertIsNone(w.get(timeout=0.5))


if __name__ == "__main__":
    unittest.main()
