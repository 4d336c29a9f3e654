"""SIGHUP (docs/design.md, "Reload"): key rotation without a restart, and a
broken reload that keeps the previous keys in force."""

import json
import time
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import harness as h
from harness import V311, V5
import mqtt5raw as raw

JWKS = "keys/rotating.jwks"


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwk(key, kid):
    # Built by hand: PyJWT 2.6's ECAlgorithm.to_jwk drops leading zero bytes
    # of x and y (1 key in 128), which RFC 7518 6.2.1.2 forbids and the
    # plugin rightly refuses.
    n = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": h.b64url(n.x.to_bytes(32, "big")),
            "y": h.b64url(n.y.to_bytes(32, "big")), "kid": kid, "alg": "ES256", "use": "sig"}


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@h.skip_if_external("sends SIGHUP and rewrites the broker's key files")
class KeyRotation(h.BrokerTestCase):
    start_broker = False

    def setUp(self):
        super().setUp()
        self.old, self.new = new_key(), new_key()
        self.broker = self.make_broker(extra={
            "key_file": "/etc/mosquitto/jwt/" + JWKS, "secret_file": None})
        self.write_jwks(("old", self.old), ("new", self.new))
        self.broker.start()

    def write_jwks(self, *keys):
        self.broker.write_file(JWKS, json.dumps({"keys": [jwk(k, kid) for kid, k in keys]}))

    def token(self, kid, sub="dev-rot"):
        key = self.old if kid == "old" else self.new
        return h.mint(sub, alg="ES256", kid=kid, key=pem(key))

    def reload(self):
        mark = self.broker.log_size()
        self.broker.sighup()
        return mark

    def test_rotation_removes_old_kid(self):
        c_old = self.paho(V311, username="dev-rot", password=self.token("old"))
        c_new = self.paho(V5, username="dev-rot", password=self.token("new"))
        self.assertConnected(c_old)
        self.assertConnected(c_new)

        self.write_jwks(("new", self.new))
        self.reload()
        # The broker re-checks every client after the RELOAD event.
        self.assertTrue(c_old.disconnected.wait(h.CLIENT_TIMEOUT),
                        "old-kid client still connected after rotation\n" + self.tail())
        self.assertFalse(c_new.disconnected.is_set(), "new-kid client lost\n" + self.tail())
        self.assertEqual(c_new.subscribe("devices/dev-rot/#"), [0])

        for proto in (V311, V5):
            with self.subTest(proto=proto, kid="old"):
                tok = self.token("old")
                c = self.paho(proto, username="dev-rot", password=tok)
                self.assertRefused(c, proto)
                self.assertIsNotNone(self.broker.wait_log(c.client_id, "unknown kid"),
                                     self.tail())
            with self.subTest(proto=proto, kid="new"):
                self.assertConnected(self.paho(proto, username="dev-rot",
                                               password=self.token("new")))

    def test_enhanced_auth_clients_rechecked_on_reload(self):
        # The broker re-runs BASIC_AUTH with a NULL password for MQTT 5
        # enhanced-auth clients: the plugin re-checks their stored token.
        old = self.raw()
        self.assertEqual(old.connect("ea-old", username="dev-rot", auth_method="jwt",
                                     auth_data=self.token("old")).reason, 0)
        new = self.raw()
        self.assertEqual(new.connect("ea-new", username="dev-rot", auth_method="jwt",
                                     auth_data=self.token("new")).reason, 0)
        self.write_jwks(("new", self.new))
        self.reload()
        closed, got = old.wait_closed(h.CLIENT_TIMEOUT)
        self.assertTrue(closed, "old-kid enhanced-auth client kept: %r\n%s" % (got, self.tail()))
        new.ping()
        self.assertIsNotNone(new.expect(raw.PINGRESP), "new-kid client lost\n" + self.tail())

    def test_reload_without_change_keeps_everyone(self):
        pw = self.paho(V311, username="dev-rot", password=self.token("old"))
        self.assertConnected(pw)
        ea = self.raw()
        self.assertEqual(ea.connect("ea", username="dev-rot", auth_method="jwt",
                                    auth_data=self.token("new")).reason, 0)
        mark = self.reload()
        self.assertIsNotNone(self.broker.wait_log("Reloading config", after=mark))
        time.sleep(1.0)
        self.assertFalse(pw.disconnected.is_set(), "password client lost\n" + self.tail())
        ea.ping()
        self.assertIsNotNone(ea.expect(raw.PINGRESP), "enhanced-auth client lost\n" + self.tail())

    # Mosquitto 2.0.11's re-check after SIGHUP disconnects every client
    # without a username when allow_anonymous is false, before any plugin is
    # asked; MQTT 5 token clients may connect without one (enhanced auth, or
    # a password alone), so the plugin gives them their sub as username.
    def test_reload_keeps_mqtt5_clients_without_username(self):
        ea = self.raw()
        self.assertEqual(ea.connect("ea-nouser", auth_method="jwt",
                                    auth_data=self.token("new")).reason, 0)
        pw = self.raw()
        self.assertEqual(pw.connect("pw-nouser", password=self.token("new")).reason, 0)
        self.reload()
        time.sleep(1.0)
        for c in (ea, pw):
            c.ping()
            self.assertIsNotNone(c.expect(raw.PINGRESP), "client lost on SIGHUP\n" + self.tail())

    def test_acl_reloaded(self):
        c = self.paho(V311, username="dev-rot", password=self.token("new"))
        self.assertConnected(c)
        self.assertEqual(c.subscribe("lobby/#"), [0x80])
        self.broker.write_file("acl.conf", "pattern readwrite devices/%s/#\n"
                               "pattern read lobby/#\n")
        self.reload()
        ok = h.wait_until(lambda: c.subscribe("lobby/#") == [0], h.CLIENT_TIMEOUT, step=0.2)
        self.assertTrue(ok, "new ACL rule not in force after SIGHUP\n" + self.tail())

    def test_added_kid_accepted_after_reload(self):
        newer = new_key()
        tok = h.mint("dev-rot", alg="ES256", kid="newer", key=pem(newer))
        self.assertRefused(self.paho(V311, username="dev-rot", password=tok), V311)
        self.write_jwks(("new", self.new), ("newer", newer))
        self.reload()
        ok = h.wait_until(lambda: self.paho(V311, username="dev-rot", password=tok).rc == 0,
                          h.CLIENT_TIMEOUT, step=0.2)
        self.assertTrue(ok, "newly added kid not accepted after SIGHUP\n" + self.tail())

    def test_broken_key_file_keeps_previous_keys(self):
        c_old = self.paho(V311, username="dev-rot", password=self.token("old"))
        self.assertConnected(c_old)
        self.broker.write_file(JWKS, '{"keys": [ {"kty": "EC", "crv": "P-256", "x": ')
        mark = self.reload()
        line = self.broker.wait_log("rotating.jwks", after=mark)
        self.assertIsNotNone(line, "no log line naming the broken file\n" + self.tail())
        self.assertTrue(self.broker.running())
        self.assertFalse(c_old.disconnected.wait(1.5), "client lost on a broken reload")
        for kid in ("old", "new"):
            with self.subTest(kid=kid):
                self.assertConnected(self.paho(V311, username="dev-rot",
                                               password=self.token(kid)))

    def test_reload_is_all_or_nothing(self):
        # A good key change together with a broken ACL: nothing changes.
        c_old = self.paho(V311, username="dev-rot", password=self.token("old"))
        self.assertConnected(c_old)
        self.write_jwks(("new", self.new))
        self.broker.write_file("acl.conf", "pattern readwrite devices/%s/#\nbogus line here\n")
        mark = self.reload()
        self.assertIsNotNone(self.broker.wait_log("acl.conf", after=mark),
                             "no log line naming the broken ACL\n" + self.tail())
        self.assertFalse(c_old.disconnected.wait(1.5), "old key dropped by a failed reload")
        self.assertConnected(self.paho(V311, username="dev-rot", password=self.token("old")))


if __name__ == "__main__":
    unittest.main()
