"""MQTT 5 enhanced authentication with method "jwt" (docs/design.md,
"Re-authentication"), through the raw client in mqtt5raw.py (paho 1.6 cannot send
AUTH): the token as authentication data at CONNECT, and re-authentication
(AUTH reason 0x19) that extends a session past its first token's expiry."""

import time
import unittest

import harness as h
import mqtt5raw as raw
from test_expiry import short_token, TTL, GRACE

REAUTH = 0x19
SUCCESS = 0x00


class EnhancedAuthBase(h.BrokerTestCase):
    broker_kwargs = dict(extra={"leeway": "0"})

    def lw(self):
        return h.leeway() if self.broker.external else 0

    def connect_jwt(self, sub, token, client_id=None):
        c = self.raw()
        ack = c.connect(client_id or sub, auth_method="jwt", auth_data=token)
        return c, ack

    def assert_reauth_refused(self, c, sub, why):
        closed, got = c.wait_closed(h.CLIENT_TIMEOUT)
        self.assertTrue(closed, "%s: connection not closed; got %r\n%s" % (why, got, self.tail()))
        # 2.0.11 answers a failed re-auth with a CONNACK 0x87 or a
        # DISCONNECT, then closes; never with a successful AUTH.
        for p in got:
            self.assertFalse(p.type == raw.AUTH and p.reason == SUCCESS,
                             "%s: re-auth answered with success: %r" % (why, got))
            if p.type in (raw.CONNACK, raw.DISCONNECT):
                self.assertGreaterEqual(p.reason, 0x80, "%s: %r" % (why, p))


class EnhancedAuth(EnhancedAuthBase):

    def test_connect_with_auth_method_jwt(self):
        sub = h.unique_id("dev-ea")
        c, ack = self.connect_jwt(sub, h.mint(sub, alg="ES256"))
        self.assertEqual(ack.type, raw.CONNACK, repr(ack))
        self.assertEqual(ack.reason, SUCCESS, "%r\n%s" % (ack, self.tail()))
        self.assertEqual(ack.props.get(raw.PROP_AUTH_METHOD), "jwt")
        # And the session is usable under the token's ACL.
        c.subscribe("devices/%s/#" % sub, 1)
        self.assertEqual(c.expect(raw.SUBACK).reasons, [1])

    def test_connect_with_bad_token_as_auth_data_refused(self):
        sub = h.unique_id("dev-ea")
        for name, tok in [("tampered", h.tamper_signature(h.mint(sub))),
                          ("expired", h.mint(sub, now=int(time.time()) - 7200, ttl=60)),
                          ("alg none", h.alg_none_token(sub))]:
            with self.subTest(token=name):
                c, ack = self.connect_jwt(sub, tok)
                self.assertIsNotNone(ack, "connection closed without CONNACK")
                self.assertEqual(ack.type, raw.CONNACK, repr(ack))
                self.assertIn(ack.reason, (0x86, 0x87), repr(ack))

    def test_reauth_same_sub_keeps_client_past_first_expiry(self):
        sub = h.unique_id("dev-ra")
        first, expiry = short_token(sub, ttl=TTL + 1, lw=self.lw())
        c, ack = self.connect_jwt(sub, first)
        self.assertEqual(ack.reason, SUCCESS, "%r\n%s" % (ack, self.tail()))
        c.send_auth(REAUTH, "jwt", h.mint(sub, alg="EdDSA", ttl=600))
        auth = c.expect(raw.AUTH)
        self.assertEqual(auth.reason, SUCCESS, "%r\n%s" % (auth, self.tail()))
        # Past the first token's expiry plus the disconnect grace time.
        time.sleep(max(0.0, expiry - time.time()) + GRACE + 0.5)
        c.ping()
        self.assertIsNotNone(c.expect(raw.PINGRESP), "disconnected after re-auth\n" + self.tail())
        c.publish("devices/%s/data" % sub, b"still here", 1)
        self.assertLess(c.expect(raw.PUBACK).reason, 0x80)

    def test_without_reauth_same_client_is_disconnected(self):
        # The negative pair of the test above.
        sub = h.unique_id("dev-nra")
        first, expiry = short_token(sub, ttl=TTL, lw=self.lw())
        c, ack = self.connect_jwt(sub, first)
        self.assertEqual(ack.reason, SUCCESS)
        closed, got = c.wait_closed(expiry - time.time() + GRACE + 1)
        self.assertTrue(closed, "enhanced-auth client not disconnected at expiry: %r" % got)

    def test_reauth_with_other_sub_refused(self):
        sub = h.unique_id("dev-ra")
        c, ack = self.connect_jwt(sub, h.mint(sub))
        self.assertEqual(ack.reason, SUCCESS)
        c.send_auth(REAUTH, "jwt", h.mint(sub + "-other"))
        self.assert_reauth_refused(c, sub, "different sub")
        if not self.broker.external:
            self.assertIsNotNone(self.broker.wait_log("re-authentication with a different sub"),
                                 self.tail())

    def test_reauth_with_bad_token_refused(self):
        for name, make in [("tampered", lambda s: h.tamper_signature(h.mint(s))),
                           ("expired", lambda s: h.mint(s, now=int(time.time()) - 7200, ttl=60)),
                           ("wrong audience", lambda s: h.mint(s, aud="other.example.net"))]:
            with self.subTest(token=name):
                sub = h.unique_id("dev-ra")
                c, ack = self.connect_jwt(sub, h.mint(sub))
                self.assertEqual(ack.reason, SUCCESS)
                c.send_auth(REAUTH, "jwt", make(sub))
                self.assert_reauth_refused(c, sub, name)

    def test_token_of_enhanced_auth_not_logged(self):
        if self.broker.external:
            self.skipTest("external broker mode: needs the broker log")
        sub = h.unique_id("dev-ea")
        bad = h.tamper_signature(h.mint(sub))
        c, ack = self.connect_jwt(sub, bad)
        self.assertIn(ack.reason, (0x86, 0x87))
        self.assertIsNotNone(self.broker.wait_log(sub, "bad signature"), self.tail())
        self.assertNotIn(bad.split(".")[2], self.broker.log())


@h.skip_if_external("needs per_listener_settings true")
class ReauthPerListener(EnhancedAuthBase):
    """Without TICK, expiry is enforced at the first ACL check: a session
    extended by re-authentication must pass it."""

    broker_kwargs = dict(per_listener=True, listeners=[{"extra": {"leeway": "0"}}])

    def test_reauth_extends_session_at_acl_check(self):
        sub = h.unique_id("dev-rapl")
        first, expiry = short_token(sub, ttl=TTL, lw=0)
        c, ack = self.connect_jwt(sub, first)
        self.assertEqual(ack.reason, SUCCESS)
        c.send_auth(REAUTH, "jwt", h.mint(sub, ttl=600))
        self.assertEqual(c.expect(raw.AUTH).reason, SUCCESS)
        time.sleep(max(0.0, expiry - time.time()) + 0.5)
        c.publish("devices/%s/data" % sub, b"after first exp", 1)
        self.assertLess(c.expect(raw.PUBACK).reason, 0x80, self.tail())

    def test_without_reauth_acl_check_disconnects(self):
        sub = h.unique_id("dev-nrapl")
        first, expiry = short_token(sub, ttl=TTL, lw=0)
        c, ack = self.connect_jwt(sub, first)
        self.assertEqual(ack.reason, SUCCESS)
        time.sleep(max(0.0, expiry - time.time()) + 0.5)
        c.publish("devices/%s/data" % sub, b"after exp", 1)
        closed, got = c.wait_closed(GRACE)
        self.assertTrue(closed, "expired enhanced-auth client kept: %r" % got)


if __name__ == "__main__":
    unittest.main()
