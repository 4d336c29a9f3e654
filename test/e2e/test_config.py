"""Broker configuration: a bad option or file stops the broker at start with
a log line naming it (docs/design.md, "Configuration"); the plugin on two listeners with
per_listener_settings true keeps each listener's own options."""

import unittest

import harness as h
from harness import V311, V5


@h.skip_if_external("starts brokers with broken configurations")
class BadConfigStopsBroker(h.BrokerTestCase):
    start_broker = False

    def assert_fails_at_start(self, needles, extra=None, files=None):
        b = self.broker = self.make_broker(extra=extra or {}, files=files)
        rc = b.start(expect_exit=True)
        log = b.log()
        self.assertNotEqual(rc, 0, "broker exited 0:\n" + log)
        for n in needles:
            self.assertIn(n, log, "log does not name %r:\n%s" % (n, log))
        return b

    def test_example_config_starts(self):
        # The positive pair of every case below.
        b = self.broker = self.make_broker()
        b.start()
        self.assertTrue(b.running())
        self.assertConnected(h.PahoClient(b.host, b.port, V311, "ok", "d", h.mint("d")))

    def test_unknown_option(self):
        self.assert_fails_at_start(["no_such_option"], extra={"no_such_option": "1"})

    def test_bad_value(self):
        self.assert_fails_at_start(["leeway"], extra={"leeway": "soon"})

    def test_bad_algorithm_name(self):
        self.assert_fails_at_start(["algorithms", "RS257"], extra={"algorithms": "RS256 RS257"})

    def test_missing_key_file(self):
        self.assert_fails_at_start(["/nonexistent/mja/key.pem"],
                                   extra={"key_file": "/nonexistent/mja/key.pem"})

    def test_unparseable_key_file(self):
        self.assert_fails_at_start(["garbage.pem"],
                                   extra={"key_file": "/etc/mosquitto/jwt/keys/garbage.pem"},
                                   files={"keys/garbage.pem": "-----BEGIN PUBLIC KEY-----\nnot base64 !\n"
                                          "-----END PUBLIC KEY-----\n"})

    def test_bad_jwks(self):
        self.assert_fails_at_start(["broken.jwks"],
                                   extra={"key_file": "/etc/mosquitto/jwt/keys/broken.jwks"},
                                   files={"keys/broken.jwks": '{"keys": [{"kty": "RSA", "n": 1'})

    def test_missing_secret_file(self):
        self.assert_fails_at_start(["/nonexistent/mja/hs.secret"],
                                   extra={"secret_file": "/nonexistent/mja/hs.secret"})

    def test_missing_acl_file(self):
        self.assert_fails_at_start(["/nonexistent/mja/acl.conf"],
                                   extra={"acl_file": "/nonexistent/mja/acl.conf"})

    def test_malformed_acl_names_file_and_line(self):
        self.assert_fails_at_start(["bad-acl.conf", ":3"],
                                   extra={"acl_file": "/etc/mosquitto/jwt/bad-acl.conf"},
                                   files={"bad-acl.conf": "# ok\npattern read a/#\n"
                                          "pattern fly a/b\n"})


@h.skip_if_external("starts a broker with two listeners")
class PerListenerSettings(h.BrokerTestCase):
    """Two listeners, each with the plugin and its own options: no state
    is shared between the two plugin instances."""

    broker_kwargs = dict(per_listener=True, listeners=[
        {"extra": {"audience": "a.example.com"}},
        {"extra": {"audience": "b.example.com", "token_field": "username"}},
    ])

    def test_each_listener_uses_its_own_options(self):
        pa, pb = self.broker.ports
        tok_a = h.mint("dev-a", aud="a.example.com")
        tok_b = h.mint("dev-b", aud="b.example.com")
        for proto in (V311, V5):
            with self.subTest(proto=proto, listener="A"):
                self.assertConnected(self.paho(proto, username="dev-a", password=tok_a, port=pa))
                self.assertRefused(self.paho(proto, username="dev-b", password=tok_b, port=pa),
                                   proto)
            with self.subTest(proto=proto, listener="B"):
                # B takes the token in the username field.
                self.assertConnected(self.paho(proto, username=tok_b, port=pb))
                self.assertRefused(self.paho(proto, username=tok_a, port=pb), proto)
                self.assertRefused(self.paho(proto, username="dev-b", password=tok_b, port=pb),
                                   proto)

    def test_acl_on_both_listeners(self):
        pa, pb = self.broker.ports
        a = self.paho(V311, username="dev-a", password=h.mint("dev-a", aud="a.example.com"),
                      port=pa)
        b = self.paho(V311, username=h.mint("dev-b", aud="b.example.com"), port=pb)
        self.assertConnected(a)
        self.assertConnected(b)
        self.assertEqual(a.subscribe("devices/dev-a/#"), [0])
        self.assertEqual(a.subscribe("devices/dev-b/#"), [0x80])
        self.assertEqual(b.subscribe("devices/dev-b/#"), [0])
        self.assertEqual(b.subscribe("devices/dev-a/#"), [0x80])


if __name__ == "__main__":
    unittest.main()
