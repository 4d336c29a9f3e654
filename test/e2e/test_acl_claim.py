"""Permissions in the token (acl_claim, superuser_claim, claim_match) in a
real broker, with MQTT 5 (raw client: PUBACK / SUBACK reason codes) and
MQTT 3.1.1 (paho: SUBACK 0x80, deliveries observed by a subscriber):
both EMQX formats, placeholders, eq, first match and deny first, qos and
retain, fallback to the ACL file (patterns, sub and role sections) for the
array format and not for the object format, superuser, malformed claims
refused with their detail in the log, claim_match, expiry, and acl_claim
without an acl_file."""

import json
import time
import unittest

import harness as h
from harness import V311, V5
import mqtt5raw as raw

DENIED = {V311: 0x80, V5: 0x87}
QUIET = 1.0


@h.skip_if_external("needs its own plugin options (acl_claim, superuser_claim, claim_match)")
class ClaimBase(h.BrokerTestCase):

    def token(self, sub, acl=None, ttl=300, **claims):
        if acl is not None:
            claims["acl"] = acl
        return h.mint(sub, ttl=ttl, claims=claims)

    def raw5(self, cid, token, username=None):
        c = self.raw()
        ack = c.connect(cid, username=username or cid, password=token)
        self.assertEqual(ack.reason, 0, self.tail())
        return c

    def pub5(self, c, topic, retain=False, qos=1):
        """The PUBACK reason, success codes (0x00, 0x10 no matching
        subscribers) as 0."""
        c.publish(topic, b"x", qos, retain)
        reason = c.expect(raw.PUBACK).reason
        return 0 if reason < 0x80 else reason

    def sub5(self, c, topic, qos=0):
        c.subscribe(topic, qos)
        return c.expect(raw.SUBACK).reasons[0]

    def paho(self, proto, cid, token, username=None):
        c = super().paho(proto, client_id=cid, username=username or cid, password=token)
        self.assertConnected(c)
        return c

    def superuser(self):
        """A client that may publish anywhere (to feed the subscribers)."""
        cid = h.unique_id("su")
        return self.paho(V311, cid, self.token(cid, is_superuser=True))

    def assert_received(self, c, topic):
        m = c.get()
        self.assertIsNotNone(m, "nothing received on %s\n%s" % (topic, self.tail()))
        self.assertEqual(m[0], topic)

    def topics_received(self, c):
        """The topics of what arrives until the client stays quiet."""
        got = set()
        while True:
            m = c.get(timeout=QUIET)
            if m is None:
                return got
            got.add(m[0])

    def assert_nothing(self, c):
        m = c.get(timeout=QUIET)
        self.assertIsNone(m, "received %r, expected nothing" % (m,))


class ClaimWithAclFile(ClaimBase):
    """The example configuration (config-examples/acl.conf: pattern readwrite
    devices/%s/#, sub gateway-7, role operator, ...) plus the claims."""

    class_broker = True
    broker_kwargs = {"extra": {"acl_claim": "acl", "superuser_claim": "is_superuser",
                               "max_token_bytes": "65535"},
                     "global_conf": "sys_interval 1"}   # $SYS/broker/uptime each second

    def test_array_publish_rows_mqtt5(self):
        cid = h.unique_id("dev")
        c = self.raw5(cid, self.token(cid, [
            {"permission": "deny", "action": "all", "topic": "devices/${clientid}/locked/#"},
            {"permission": "allow", "action": "publish", "topic": "out/${clientid}/#",
             "qos": [1], "retain": False},
            {"permission": "allow", "action": "pub", "topic": "ret/${sub}", "retain": True},
            {"permission": "allow", "action": "pub", "topic": "low/${username}", "qos": 0},
            {"permission": "deny", "action": "publish", "topic": "devices/${sub}/ro"},
            {"permission": "allow", "action": "all", "topic": "eq lit/+"},
        ]))
        rows = [
            ("out/%s/a" % cid, False, 0x00),
            ("out/%s/a" % cid, True, 0x87),         # retain false
            ("out/other/a", False, 0x87),
            ("ret/%s" % cid, True, 0x00),
            ("ret/%s" % cid, False, 0x87),          # retain true
            ("low/%s" % cid, False, 0x87),          # qos 0 only, this is qos 1
            ("devices/%s/locked/k" % cid, False, 0x87),   # the claim's deny first
            ("devices/%s/free" % cid, False, 0x00),       # no match: the file
            ("devices/%s/ro" % cid, False, 0x87),
            ("lit/x", False, 0x87),                 # eq: not a wildcard
            ("elsewhere", False, 0x87),
        ]
        for topic, retain, want in rows:
            with self.subTest(topic=topic, retain=retain):
                self.assertEqual(self.pub5(c, topic, retain), want, self.tail())
        # clear the retained message (others subscribe to '#')
        c.publish("ret/%s" % cid, b"", 1, True)
        self.assertLess(c.expect(raw.PUBACK).reason, 0x80)

    def test_array_subscribe_and_delivery(self):
        feeder = self.superuser()
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                cid = h.unique_id("dev")
                user = h.unique_id("user")
                tok = self.token(cid, [
                    {"permission": "deny", "action": "sub", "topic": "feed/secret"},
                    {"permission": "allow", "action": "subscribe", "topic": "feed/#",
                     "qos": [0, 1]},
                    {"permission": "allow", "action": "sub", "topic": "eq wide/#"},
                    {"permission": "allow", "action": "sub", "topics": ["in/${username}/#"]},
                ])
                c = self.paho(proto, cid, tok, username=user)
                self.assertEqual(c.subscribe("feed/#", 1), [1])
                self.assertEqual(c.subscribe("feed/+", 2), [DENIED[proto]])   # qos
                self.assertEqual(c.subscribe("feed/secret", 0), [DENIED[proto]])
                self.assertEqual(c.subscribe("wide/#", 0), [0])
                self.assertEqual(c.subscribe("wide/a", 0), [DENIED[proto]])   # eq
                # ${username} is the sub: the name the client sent gives nothing
                self.assertEqual(c.subscribe("in/%s/#" % user, 0), [DENIED[proto]])
                self.assertEqual(c.subscribe("in/%s/#" % cid, 0), [0])
                # a deny that covers part of feed/# is enforced per delivery
                feeder.publish("feed/secret", b"s", 1)
                feeder.publish("feed/open", b"o", 1)
                self.assert_received(c, "feed/open")
                self.assert_nothing(c)
                feeder.publish("wide/x", b"w", 1)
                self.assert_received(c, "wide/x")
                self.assertEqual(c.subscribe("$share/g/feed/+", 0), [0])
                self.assertEqual(c.subscribe("$share/g/feed/secret", 0), [DENIED[proto]])
                c.close()

    def test_object_format_does_not_fall_back(self):
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                cid = h.unique_id("dev")
                tok = self.token(cid, {"pub": ["obj/${clientid}"], "sub": ["obj/#"],
                                       "all": ["both/${sub}/#"]})
                c = self.paho(proto, cid, tok)
                # the file's pattern readwrite devices/%s/# is not asked
                self.assertEqual(c.subscribe("devices/%s/#" % cid), [DENIED[proto]])
                self.assertEqual(c.subscribe("obj/#"), [0])
                self.assertEqual(c.subscribe("both/%s/#" % cid), [0])
                c.publish("devices/%s/x" % cid, b"no", 1)
                c.publish("obj/other", b"no", 1)
                c.publish("obj/%s" % cid, b"yes", 1)
                self.assert_received(c, "obj/%s" % cid)
                c.publish("both/%s/t" % cid, b"yes", 1)
                self.assert_received(c, "both/%s/t" % cid)
                self.assert_nothing(c)
                c.close()
        cid = h.unique_id("dev")
        c = self.raw5(cid, self.token(cid, {"sub": ["obj/#"]}))
        self.assertEqual(self.pub5(c, "devices/%s/x" % cid), 0x87)
        self.assertEqual(self.pub5(c, "obj/x"), 0x87)

    def test_fallback_sub_and_role_sections(self):
        # sub gateway-7: topic read devices/+/telemetry, topic write commands/#
        gw = h.unique_id("gw")
        c = self.raw5(gw, self.token("gateway-7", [
            {"permission": "deny", "action": "pub", "topic": "commands/restricted/#"},
            {"permission": "allow", "action": "sub", "topic": "gw/${clientid}"},
        ]))
        self.assertEqual(self.pub5(c, "commands/x"), 0x00)               # file
        self.assertEqual(self.pub5(c, "commands/restricted/x"), 0x87)    # claim
        self.assertEqual(self.sub5(c, "devices/+/telemetry"), 0x00)      # file
        self.assertEqual(self.sub5(c, "gw/%s" % gw), 0x00)               # claim
        self.assertEqual(self.sub5(c, "gw/other"), 0x87)
        # role operator: topic read #, topic deny secrets/#
        feeder = self.superuser()
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                cid = h.unique_id("op")
                op = self.paho(proto, cid, self.token(cid, [
                    {"permission": "deny", "action": "sub", "topic": "ops/private/#"},
                    {"permission": "allow", "action": "sub", "topic": "secrets/shared"},
                ], roles=["operator"]))
                self.assertEqual(op.subscribe("#"), [0])
                self.assertEqual(op.subscribe("ops/private/#"), [DENIED[proto]])
                self.assertEqual(op.subscribe("secrets/#"), [DENIED[proto]])
                self.assertEqual(op.subscribe("secrets/shared"), [0])
                for topic in ("ops/private/x", "secrets/other", "secrets/shared", "ops/public"):
                    feeder.publish(topic, b"p", 1)
                # (an overlapping subscription may deliver a message twice)
                self.assertEqual(self.topics_received(op), {"secrets/shared", "ops/public"})
                op.close()
        # the object format ignores the role section
        cid = h.unique_id("op")
        op = self.paho(V311, cid, self.token(cid, {"sub": ["only/#"]}, roles=["operator"]))
        self.assertEqual(op.subscribe("#"), [0x80])
        self.assertEqual(op.subscribe("only/#"), [0])

    def test_placeholders_unusable_values(self):
        # ${username} is the token's sub after login, whatever the client
        # sent. A sub holding '/' cannot be put in a topic: the allow filter
        # using it matches nothing, and the deny filter using it holds for
        # any value at that level (it cannot be dodged). A client that sends
        # '+' as its username gets the sub's rules, not a wildcard.
        tok_rules = [
            {"permission": "deny", "action": "all", "topic": "vault/${username}/#"},
            {"permission": "allow", "action": "all", "topic": "vault/#"},
            {"permission": "allow", "action": "all", "topic": "home/${username}"},
        ]
        cid = h.unique_id("dev")
        c = self.raw()
        self.assertEqual(c.connect(cid, username="a/b",
                                   password=self.token("a/b", tok_rules)).reason, 0)
        self.assertEqual(self.pub5(c, "home/a/b"), 0x87)
        self.assertEqual(self.pub5(c, "vault/anyone/x"), 0x87)
        self.assertEqual(self.pub5(c, "vault"), 0x00)
        cid = h.unique_id("dev")
        c = self.raw()
        self.assertEqual(c.connect(cid, username="+",
                                   password=self.token("bob", tok_rules)).reason, 0)
        self.assertEqual(self.pub5(c, "home/bob"), 0x00)
        self.assertEqual(self.pub5(c, "vault/bob/x"), 0x87)
        self.assertEqual(self.pub5(c, "vault/alice/x"), 0x00)

    def test_dollar_topics(self):
        cid = h.unique_id("dev")
        c = self.raw5(cid, self.token(cid, {"all": ["#", "${clientid}/#"]}))
        self.assertEqual(self.sub5(c, "$SYS/#"), 0x87)
        self.assertEqual(self.sub5(c, "x/#"), 0x00)
        c = self.raw5("$SYS", self.token("dev-sys", {"all": ["${clientid}/#"]}))
        self.assertEqual(self.sub5(c, "$SYS/#"), 0x87)

    def test_superuser(self):
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                cid = h.unique_id("admin")
                c = self.paho(proto, cid, self.token(cid, is_superuser=True))
                self.assertEqual(c.subscribe("$SYS/broker/uptime"), [0])
                self.assert_received(c, "$SYS/broker/uptime")   # sys_interval below
                self.assertEqual(c.subscribe("#"), [0])
                c.close()
                # only the JSON value true
                for value in ("true", 1, [True]):
                    cid = h.unique_id("admin")
                    c = self.paho(proto, cid, self.token(cid, is_superuser=value))
                    self.assertEqual(c.subscribe("$SYS/#"), [DENIED[proto]])
                    self.assertEqual(c.subscribe("#"), [DENIED[proto]])
                    c.close()
        cid = h.unique_id("admin")
        c = self.raw5(cid, self.token(cid, is_superuser=True))
        self.assertEqual(self.pub5(c, "any/where/at/all"), 0x00)

    def test_malformed_claims_refused(self):
        cases = [
            ("null", "claim \"acl\": neither an object (pub, sub, all) nor an array of rules"),
            ([{"permission": "permit", "action": "all", "topic": "a"}],
             "claim \"acl\": rule 1: \"permission\" is not \"allow\" or \"deny\""),
            ([{"permission": "allow", "action": "all", "topic": "a"},
              {"permission": "allow", "action": "read", "topic": "a"}],
             "rule 2: \"action\" is not \"publish\", \"subscribe\" or \"all\""),
            ([{"permission": "allow", "action": "all", "topic": "a", "qos": 3}],
             "rule 1: \"qos\" 3 is outside 0-2"),
            ([{"permission": "allow", "action": "all", "topic": "a", "retain": "yes"}],
             "rule 1: \"retain\" is not true, false or \"all\""),
            ([{"permission": "allow", "action": "all", "topics": ["a", "b/#/c"]}],
             "rule 1: topics[2]: not a valid topic filter"),
            ({"pub": "a"}, "claim \"acl\": \"pub\" is not an array of topic filters"),
            ({"pub": ["a"], "deny": ["b"]}, "a member other than \"pub\""),
            ({"pub": ["t/%d" % i for i in range(1001)]},
             "claim \"acl\": more than 1000 topic filters"),
        ]
        for proto in (V311, V5):
            for claim, detail in cases:
                with self.subTest(proto=proto, claim=json.dumps(claim)[:60]):
                    cid = h.unique_id("bad")
                    at = self.broker.log_size()
                    tok = h.mint(cid, claims={"acl": None if claim == "null" else claim})
                    c = h.BrokerTestCase.paho(self, proto, client_id=cid, username=cid,
                                              password=tok)
                    self.assertRefused(c, proto)
                    line = self.broker.wait_log(cid, "bad acl claim", after=at)
                    self.assertIsNotNone(line, self.tail())
                    self.assertIn(detail, line)


class ClaimWithoutAclFile(ClaimBase):
    """acl_claim alone: the plugin registers its ACL check and decides."""

    class_broker = True
    broker_kwargs = {"extra": {"acl_file": None, "acl_claim": "acl"}}

    def test_rules_decide_and_no_match_denies(self):
        self.assertFalse(self.broker.log_lines("no acl_file, acl_claim"))
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                cid = h.unique_id("dev")
                c = self.paho(proto, cid, self.token(cid, [
                    {"permission": "allow", "action": "all", "topic": "devices/${clientid}/#"}]))
                self.assertEqual(c.subscribe("devices/%s/#" % cid), [0])
                self.assertEqual(c.subscribe("other/#"), [DENIED[proto]])
                c.publish("devices/%s/t" % cid, b"1", 1)
                self.assert_received(c, "devices/%s/t" % cid)
                c.close()
                # a token without the claim may do nothing
                cid = h.unique_id("dev")
                c = self.paho(proto, cid, self.token(cid))
                self.assertEqual(c.subscribe("devices/%s/#" % cid), [DENIED[proto]])
                c.close()
        cid = h.unique_id("dev")
        c = self.raw5(cid, self.token(cid, []))
        self.assertEqual(self.pub5(c, "devices/%s/t" % cid), 0x87)


class ClaimExpiry(ClaimBase):
    """An expired token is denied everything, whatever its claim says
    (disconnect_on_expiry false keeps it connected to ask)."""

    broker_kwargs = {"extra": {"acl_claim": "acl", "superuser_claim": "is_superuser",
                               "disconnect_on_expiry": "false"}}

    def test_expired_claims_deny_everything(self):
        cid = h.unique_id("dev")
        tok = self.token(cid, [{"permission": "allow", "action": "all", "topic": "#"}],
                         ttl=2 - h.leeway(), is_superuser=True)
        c = self.raw5(cid, tok)
        self.assertEqual(self.pub5(c, "a/b"), 0x00)
        time.sleep(3)
        self.assertEqual(self.pub5(c, "a/b"), 0x87)
        self.assertEqual(self.sub5(c, "a/#"), 0x87)


class ClaimMatch(ClaimBase):
    broker_kwargs = {"extra": {"claim_match": ["tenant=acme-${clientid}", "plan=gold"]}}

    def test_claim_match(self):
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                cid = h.unique_id("dev")
                self.paho(proto, cid, self.token(cid, tenant="acme-" + cid, plan="gold"))
                rows = [
                    ({"tenant": "acme-other", "plan": "gold"},
                     "claim \"tenant\" is not the string its template gives"),
                    ({"tenant": "acme-" + cid},
                     "claim \"plan\" is absent"),
                    ({"tenant": ["acme-" + cid], "plan": "gold"},
                     "claim \"tenant\" is not a string"),
                ]
                for claims, detail in rows:
                    at = self.broker.log_size()
                    c = h.BrokerTestCase.paho(self, proto, client_id=cid, username=cid,
                                              password=self.token(cid, **claims))
                    self.assertRefused(c, proto)
                    line = self.broker.wait_log(cid, "claim mismatch", after=at)
                    self.assertIsNotNone(line, self.tail())
                    self.assertIn(detail, line)


if __name__ == "__main__":
    unittest.main()
