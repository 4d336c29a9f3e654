"""ACL escapes through substitutions (docs/design.md, "ACL semantics"): a sub, client id or
username holding '/', '+', '#' (or empty, or missing) must not widen what
%s, %c, %u rules grant, nor dodge what they deny. A read/write rule whose
substituted value is unsafe matches nothing; in a deny rule the level
holding an unsafe value stands for any value, as if it were '+' (README,
ACL file).

Writes are judged by the MQTT 5 PUBACK reason (0x87 = not authorized) and
subscriptions by the SUBACK reason, on raw connections (test/e2e/mqtt5raw.py);
every denial has an allowed positive pair on the same connection."""

import unittest

import attack as a
import harness as h
import mqtt5raw as m

DENIED = 0x87
# 0x10: "no matching subscribers" is still an accepted publish.
ALLOWED_PUB = (0x00, 0x10)
GRANTED_QOS1 = (0x00, 0x01)

ESCAPE_ACL = """\
pattern readwrite devices/%s/#
pattern write     clients/%c/out
pattern write     stats/%c
pattern read      users/%u/in
pattern read      inbox/%u
role operator
topic readwrite #
"""

DENY_ACL = """\
pattern read      open/#
pattern write     open/#
pattern deny      open/%u/secret
pattern deny      closed/%c/#
pattern readwrite closed/#
role operator
topic readwrite #
"""


@h.skip_if_external("the attack suite needs its own broker, options and log")
class EscapeBase(h.BrokerTestCase, a.AttackChecks):
    class_broker = True

    def session(self, sub="dev-1", client_id=None, username="dev-1", roles=None):
        """A raw MQTT 5 session for a token with this sub."""
        claims = {"roles": roles} if roles else None
        tok = h.mint(sub, alg="RS256", claims=claims)
        c = self.raw()
        ack = c.connect(client_id or h.unique_id("acl"), username=username, password=tok)
        self.assertIsNotNone(ack, "no CONNACK")
        self.assertEqual(ack.reason, 0, "CONNACK 0x%x\n%s" % (ack.reason, self.tail()))
        return c

    def pub_reason(self, c, topic):
        mid = c.publish(topic, b"x", qos=1)
        ack = c.expect(m.PUBACK)
        self.assertEqual(ack.mid, mid)
        return ack.reason

    def sub_reason(self, c, topic):
        mid = c.subscribe(topic, qos=1)
        ack = c.expect(m.SUBACK)
        self.assertEqual(ack.mid, mid)
        return ack.reasons[0]

    def assertPubDenied(self, c, topic):
        self.assertEqual(self.pub_reason(c, topic), DENIED,
                         "publish to %r allowed\n%s" % (topic, self.tail()))

    def assertPubAllowed(self, c, topic):
        self.assertIn(self.pub_reason(c, topic), ALLOWED_PUB,
                      "publish to %r denied\n%s" % (topic, self.tail()))

    def assertSubDenied(self, c, topic):
        self.assertEqual(self.sub_reason(c, topic), DENIED,
                         "subscribe to %r granted\n%s" % (topic, self.tail()))

    def assertSubGranted(self, c, topic):
        self.assertIn(self.sub_reason(c, topic), GRANTED_QOS1,
                      "subscribe to %r denied\n%s" % (topic, self.tail()))


class SubstitutionEscapes(EscapeBase):
    broker_kwargs = {"files": {"acl.conf": ESCAPE_ACL}}

    def test_positive_pair(self):
        c = self.session("dev-1", client_id="cid-1", username="user-1")
        self.assertPubAllowed(c, "devices/dev-1/x")
        self.assertPubAllowed(c, "clients/cid-1/out")
        self.assertPubAllowed(c, "stats/cid-1")
        self.assertSubGranted(c, "users/user-1/in")
        self.assertSubGranted(c, "inbox/user-1")

    def test_sub_with_wildcards_cannot_connect(self):
        for sub in ("a/#", "+", "#", "dev/+/x"):
            with self.subTest(sub=sub):
                tok = a.forge({"alg": "RS256"}, a.claims(sub))
                self.refuse_311("acl-sub", tok, "bad sub")

    def test_sub_with_slash_matches_nothing(self):
        # devices/%s/# with sub "a/b" would be devices/a/b/#: it must match
        # nothing, neither a/b's nor a's subtree.
        c = self.session("a/b", client_id="cid-slash")
        for t in ("devices/a/b/x", "devices/a/b", "devices/a/x"):
            self.assertPubDenied(c, t)
        self.assertSubDenied(c, "devices/a/b/#")
        self.assertSubDenied(c, "devices/a/#")
        self.assertPubAllowed(c, "clients/cid-slash/out")

    def test_client_id_plus_and_hash(self):
        for cid in ("+", "#", "a/b", "x/+/y"):
            with self.subTest(client_id=cid):
                c = self.session("dev-1", client_id=cid)
                for t in ("clients/victim/out", "clients/a/b/out", "stats/victim",
                          "stats/victim/deep", "stats/a/b"):
                    self.assertPubDenied(c, t)
                self.assertPubAllowed(c, "devices/dev-1/ctl")
                c.disconnect()
                c.close()

    def test_username_plus_hash_and_empty(self):
        for user in ("+", "#", "a/b", ""):
            with self.subTest(username=user):
                c = self.session("dev-1", username=user)
                for f in ("users/+/in", "users/victim/in", "users/#", "inbox/#",
                          "inbox/victim", "inbox/+", "users//in", "inbox/"):
                    self.assertSubDenied(c, f)
                self.assertSubGranted(c, "devices/dev-1/#")
                c.disconnect()
                c.close()

    def test_shared_subscription_does_not_escape(self):
        c = self.session("a/b", client_id="+")
        self.assertSubDenied(c, "$share/g/devices/a/b/#")
        self.assertSubDenied(c, "$share/g/clients/#")
        self.assertSubDenied(c, "$share/+/devices/#")

    def test_hash_rule_does_not_grant_sys(self):
        op = self.session("op-1", roles=["operator"])
        self.assertSubGranted(op, "#")
        self.assertSubDenied(op, "$SYS/#")
        self.assertSubDenied(op, "$SYS/broker/uptime")


class DenyFailsClosed(EscapeBase):
    broker_kwargs = {"files": {"acl.conf": DENY_ACL}}

    def test_unsafe_client_id_cannot_dodge_a_deny_rule(self):
        # pattern deny closed/%c/#: with a client id "+", "#" or "a/b" the
        # rule is closed/+/#, so closed/victim/... and closed/x are denied.
        for cid in ("+", "#", "a/b", "x/+/y"):
            with self.subTest(client_id=cid):
                c = self.session("dev-1", client_id=cid, username="u1")
                for t in ("closed/x", "closed/victim/x", "closed/a/b"):
                    self.assertPubDenied(c, t)
                # closed/# stays grantable (the topic "closed" itself is not
                # denied); what the deny covers cannot be subscribed.
                self.assertSubDenied(c, "closed/+/#")
                self.assertSubDenied(c, "closed/victim/#")
                self.assertPubAllowed(c, "open/x")
                c.disconnect()
                c.close()
        ok = self.session("dev-1", client_id="fine", username="u1")
        self.assertPubAllowed(ok, "closed/x")
        self.assertPubDenied(ok, "closed/fine/x")

    def test_unsafe_or_missing_username_in_deny_rule(self):
        # pattern deny open/%u/secret: "+" cannot reach anyone's secret; a
        # client without a username is not locked out of open/ either.
        for user in ("+", "#", "a/b", ""):
            with self.subTest(username=user):
                c = self.session("dev-1", client_id=h.unique_id("u"), username=user)
                for t in ("open/victim/secret", "open/u1/secret"):
                    self.assertPubDenied(c, t)
                self.assertSubDenied(c, "open/victim/secret")
                self.assertSubDenied(c, "open/+/secret")
                self.assertPubAllowed(c, "open/x")
                c.disconnect()
                c.close()
        nouser = self.session("dev-1", client_id="no-user", username=None)
        self.assertPubAllowed(nouser, "open/x")
        self.assertPubDenied(nouser, "open/victim/secret")

    def test_partial_deny_enforced_per_delivery(self):
        # u1 may subscribe open/# (the deny rule covers only part of it);
        # open/u1/secret is then withheld at delivery. The control message
        # is published after it on the same connection, so once it arrives
        # the secret would have arrived before it.
        reader = self.session("dev-1", client_id="reader", username="u1")
        self.assertSubGranted(reader, "open/#")
        op = self.session("op-1", roles=["operator"])
        self.assertPubAllowed(op, "open/u1/secret")
        self.assertPubAllowed(op, "open/control")
        got = []
        while True:
            p = reader.expect(m.PUBLISH)
            got.append(p.topic)
            if p.qos:
                reader.puback(p.mid)
            if p.topic == "open/control":
                break
        self.assertEqual(got, ["open/control"])


if __name__ == "__main__":
    unittest.main()
