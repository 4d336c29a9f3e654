"""Topic decisions for token clients (docs/design.md, "ACL semantics") in a real broker:
publish, subscribe (wildcards, $share) and delivery, retained messages
included. MQTT 3.1.1 drops a denied PUBLISH silently (a subscriber checks
that nothing arrives); MQTT 5 gets PUBACK 0x87; a denied SUBSCRIBE gets
SUBACK 0x80 (3.1.1) / 0x87 (5)."""

import time
import unittest

import harness as h
from harness import V311, V5
import mqtt5raw as raw

DENIED = {V311: 0x80, V5: 0x87}
QUIET = 1.0  # how long a subscriber must stay silent for "not delivered"


class AclBase(h.BrokerTestCase):

    def client(self, sub, proto=V311, **claims):
        c = self.paho(proto, username=sub, password=h.mint(sub, claims=claims or None))
        self.assertConnected(c)
        return c

    def assert_received(self, c, topic, payload, retain=None):
        m = c.get()
        self.assertIsNotNone(m, "nothing received on %s\n%s" % (topic, self.tail()))
        self.assertEqual((m[0], m[1]), (topic, payload))
        if retain is not None:
            self.assertEqual(m[2], retain)

    def assert_nothing(self, c):
        m = c.get(timeout=QUIET)
        self.assertIsNone(m, "received %r, expected nothing" % (m,))


class ExampleAcl(AclBase):
    """With config-examples/acl.conf, whose rules for every token client
    are (docs/design.md, "ACL semantics"):
        pattern read      fleet/broadcast/#
        pattern readwrite devices/%s/#
    Runs against an external broker too."""

    class_broker = True

    def test_publish_own_topic_delivered(self):
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                a = h.unique_id("dev-a")
                reader = self.client(a, proto)
                self.assertIn(reader.subscribe("devices/%s/#" % a, 1)[0], (0, 1))
                writer = self.client(a, proto)
                writer.publish("devices/%s/temp" % a, b"21.5", 1)
                self.assert_received(reader, "devices/%s/temp" % a, b"21.5")

    def test_publish_other_device_topic_dropped_mqtt311(self):
        a, b = h.unique_id("dev-a"), h.unique_id("dev-b")
        victim = self.client(b)
        self.assertEqual(victim.subscribe("devices/%s/#" % b), [0])
        attacker = self.client(a)
        attacker.publish("devices/%s/cmd" % b, b"evil", 1)
        attacker.publish("fleet/broadcast/all", b"evil", 1)  # read-only for devices
        self.assert_nothing(victim)
        # 3.1.1: the broker drops it without disconnecting the publisher.
        self.assertFalse(attacker.disconnected.is_set())
        # Positive pair: b itself may write there, and the victim gets it.
        self.client(b).publish("devices/%s/cmd" % b, b"fine", 1)
        self.assert_received(victim, "devices/%s/cmd" % b, b"fine")

    def test_mqtt5_puback_0x87_for_denied_qos1(self):
        a, b = h.unique_id("dev-a"), h.unique_id("dev-b")
        c = self.raw()
        self.assertEqual(c.connect(a, username=a, password=h.mint(a)).reason, 0)
        c.publish("devices/%s/ok" % a, b"x", 1)
        self.assertLess(c.expect(raw.PUBACK).reason, 0x80)
        for topic in ("devices/%s/x" % b, "fleet/broadcast/x", "other/x"):
            with self.subTest(topic=topic):
                c.publish(topic, b"x", 1)
                self.assertEqual(c.expect(raw.PUBACK).reason, 0x87)

    def test_subscribe_decisions(self):
        for proto in (V311, V5):
            a = h.unique_id("dev-a")
            c = self.client(a, proto)
            allowed = ["devices/%s/#" % a, "devices/%s/+/state" % a, "devices/%s/x" % a,
                       "fleet/broadcast/#", "fleet/broadcast/+/news",
                       "$share/group1/devices/%s/#" % a]
            denied = ["#", "+/+", "devices/#", "devices/+/x", "devices/other-dev/#",
                      "fleet/#", "fleet/+/x", "$share/group1/devices/other-dev/#",
                      "$share/group1/#", "$SYS/#"]
            for f in allowed:
                with self.subTest(proto=proto, filter=f):
                    self.assertEqual(c.subscribe(f), [0], self.tail())
            for f in denied:
                with self.subTest(proto=proto, filter=f):
                    self.assertEqual(c.subscribe(f), [DENIED[proto]], self.tail())

    def test_shared_subscription_delivery(self):
        a = h.unique_id("dev-a")
        s1 = self.client(a, V5)
        self.assertEqual(s1.subscribe("$share/g/devices/%s/#" % a), [0])
        self.client(a).publish("devices/%s/s" % a, b"shared", 1)
        self.assert_received(s1, "devices/%s/s" % a, b"shared")

    def test_retained_delivered_on_own_topic_only(self):
        a, b = h.unique_id("dev-a"), h.unique_id("dev-b")
        self.client(a).publish("devices/%s/state" % a, b"on", 1, retain=True)
        mine = self.client(a, V5)
        self.assertEqual(mine.subscribe("devices/%s/#" % a), [0])
        self.assert_received(mine, "devices/%s/state" % a, b"on", retain=True)
        other = self.client(b, V5)
        self.assertEqual(other.subscribe("devices/%s/#" % a), [0x87])
        self.assert_nothing(other)
        # Clear the retained message.
        self.client(a).publish("devices/%s/state" % a, b"", 1, retain=True)

    def test_deny_pattern_beats_own_subtree(self):
        # pattern deny devices/+/credentials/#: not even the device itself.
        a = h.unique_id("dev-a")
        c = self.raw()
        self.assertEqual(c.connect(a, username=a, password=h.mint(a)).reason, 0)
        c.publish("devices/%s/credentials/pw" % a, b"x", 1)
        self.assertEqual(c.expect(raw.PUBACK).reason, 0x87)
        c.subscribe("devices/%s/credentials/#" % a)
        self.assertEqual(c.expect(raw.SUBACK).reasons, [0x87])
        # A filter the deny covers only in part is allowed.
        c.subscribe("devices/%s/#" % a)
        self.assertEqual(c.expect(raw.SUBACK).reasons, [0x00])

    def test_operator_role(self):
        a = h.unique_id("dev-a")
        dev = self.client(a)
        dev.publish("devices/%s/state" % a, b"ready", 1, retain=True)
        op = self.client(h.unique_id("op"), V5, roles=["operator"])
        self.assertEqual(op.subscribe("devices/%s/#" % a), [0])
        self.assert_received(op, "devices/%s/state" % a, b"ready", retain=True)
        self.assertEqual(op.subscribe("secrets/#"), [0x87])
        # The same sub without the role: only its own patterns.
        plain = self.client(h.unique_id("op"), V5)
        self.assertEqual(plain.subscribe("devices/%s/#" % a), [0x87])
        dev.publish("devices/%s/state" % a, b"", 1, retain=True)

    def test_sub_with_slash_gets_no_subtree(self):
        # pattern readwrite devices/%s/#: a sub "dev-x/evil" must not reach
        # devices/dev-x/evil/... (inside device dev-x's subtree): a
        # substitution holding '/' makes the rule match nothing.
        victim = h.unique_id("dev-x")
        evil = victim + "/evil"
        c = self.raw()
        self.assertEqual(c.connect(h.unique_id("e"), username="e", password=h.mint(evil)).reason, 0)
        c.publish("devices/%s/x" % evil, b"x", 1)
        self.assertEqual(c.expect(raw.PUBACK).reason, 0x87)
        c.subscribe(["devices/%s/#" % evil, "devices/%s/#" % victim])
        self.assertEqual(c.expect(raw.SUBACK).reasons, [0x87, 0x87])

    def test_mosquitto_tools_acl(self):
        a = h.unique_id("dev-t")
        tok = h.mint(a)
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                sub = h.start_sub(self.broker, proto, "devices/%s/#" % a, username=a,
                                  password=tok, count=1, wait=8, extra=["-v"])
                time.sleep(0.7)
                # Denied first (dropped or PUBACK 0x87), then allowed.
                h.mosquitto_pub(self.broker, proto, "devices/%s-x/t" % a, "no", username=a,
                                password=tok)
                r = h.mosquitto_pub(self.broker, proto, "devices/%s/t" % a, "yes",
                                    username=a, password=tok, qos=1)
                self.assertEqual(r.returncode, 0, r.stderr)
                out, err = sub.communicate(timeout=20)
                self.assertEqual(out.strip(), "devices/%s/t yes" % a, err)


# A test ACL with roles, subjects and deny rules (local mode only).
CUSTOM_ACL = """\
# e2e test rules
pattern readwrite devices/%s/#
pattern read      users/%u/inbox

sub writer
topic write secrets/#
topic write public/#

sub sensor-*
topic write sensors/%c/data

role operator
topic read #
topic deny secrets/#
"""


@h.skip_if_external("writes its own ACL file")
class CustomAcl(AclBase):
    broker_kwargs = dict(files={"acl.conf": CUSTOM_ACL})

    def test_retained_delivery_honours_read_rules(self):
        w = self.client("writer")
        w.publish("secrets/key", b"s3cret", 1, retain=True)
        w.publish("public/info", b"hello", 1, retain=True)
        op = self.client("op-1", V5, roles=["operator"])
        # '#' is allowed: the deny rule covers only part of it; the retained
        # secret is filtered at delivery (READ check with retain=1).
        self.assertEqual(op.subscribe("#"), [0])
        self.assert_received(op, "public/info", b"hello", retain=True)
        self.assert_nothing(op)
        # Live messages too.
        w.publish("secrets/other", b"s3cret", 1)
        w.publish("public/news", b"news", 1)
        self.assert_received(op, "public/news", b"news")
        self.assert_nothing(op)

    def test_deny_covering_whole_filter_refused_at_subscribe(self):
        op = self.client("op-2", V5, roles=["operator"])
        self.assertEqual(op.subscribe("secrets/#"), [0x87])
        self.assertEqual(op.subscribe("$share/g/secrets/+"), [0x87])
        self.assertEqual(op.subscribe("public/#"), [0])
        # Without the role the same sub gets nothing beyond its patterns.
        plain = self.client("op-2", V5)
        self.assertEqual(plain.subscribe("public/#"), [0x87])

    def test_dollar_topics_need_dollar_rules(self):
        op = self.client("op-3", V311, roles=["operator"])
        self.assertEqual(op.subscribe("$SYS/#"), [0x80])
        self.assertEqual(op.subscribe("$SYS/broker/uptime"), [0x80])

    def test_prefix_subject_and_clientid_substitution(self):
        c = self.paho(V5, client_id="sensor-9", username="sensor-9",
                      password=h.mint("sensor-9"))
        self.assertConnected(c)
        r = self.raw()
        self.assertEqual(r.connect("sensor-9b", username="sensor-9b",
                                   password=h.mint("sensor-9b")).reason, 0)
        r.publish("sensors/sensor-9b/data", b"1", 1)
        self.assertLess(r.expect(raw.PUBACK).reason, 0x80)
        r.publish("sensors/sensor-9/data", b"1", 1)   # another client id
        self.assertEqual(r.expect(raw.PUBACK).reason, 0x87)

    def test_clientid_with_slash_matches_nothing(self):
        # sub sensor-*: topic write sensors/%c/data; client id "a/b" must not
        # write sensors/a/b/data.
        r = self.raw()
        self.assertEqual(r.connect("a/b", username="s", password=h.mint("sensor-5")).reason, 0)
        r.publish("sensors/a/b/data", b"1", 1)
        self.assertEqual(r.expect(raw.PUBACK).reason, 0x87)

    def test_username_substitution(self):
        c = self.paho(V311, username="alice", password=h.mint("u-1"))
        self.assertConnected(c)
        self.assertEqual(c.subscribe("users/alice/inbox"), [0])
        self.assertEqual(c.subscribe("users/bob/inbox"), [0x80])


if __name__ == "__main__":
    unittest.main()
