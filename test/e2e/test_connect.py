"""CONNECT: tokens of each algorithm family accepted, bad tokens refused with
"not authorised" and a log line that names the reason but never the token
(docs/design.md, "Token rules")."""

import os
import subprocess
import time
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import harness as h
from harness import V311, V5


def attacker_rsa_pem():
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def hs256_with_public_key(sub):
    """The algorithm-confusion attack (RFC 8725 section 2.1): an HS256
    token whose HMAC key is the bytes of the broker's RSA public key."""
    import hashlib
    import hmac

    payload = h.mint(sub, alg="RS256").split(".")[1]
    head = h.b64url(b'{"alg":"HS256","typ":"JWT"}')
    with open(os.path.join(h.CONF_DIR, "keys", "rsa.pub.pem"), "rb") as f:
        pub = f.read()
    mac = hmac.new(pub, (head + "." + payload).encode(), hashlib.sha256).digest()
    return head + "." + payload + "." + h.b64url(mac)


FAMILIES = ["HS256", "RS256", "PS256", "ES256", "EdDSA"]
TOOL = os.path.join(os.environ.get("MJA_BUILD_DIR", "/nonexistent"), "tools", "mosquitto_jwt")


class RefusalChecks:
    """Shared assertions for a refused CONNECT."""

    def assert_refusal_logged(self, client_id, reason, token):
        """reason: the log word, or a tuple of acceptable ones."""
        if self.broker.external:
            return
        reasons = reason if isinstance(reason, tuple) else (reason,)

        def find():
            for r in reasons:
                line = self.broker.wait_log(client_id, r, timeout=0)
                if line:
                    return line
            return None
        line = h.wait_until(find, h.CLIENT_TIMEOUT)
        self.assertIsNotNone(line, "no log line with %r and reason %r\n%s"
                             % (client_id, reason, self.tail()))
        self.assertIn("127.0.0.1", line, "refusal log line lacks the address: " + line)
        log = self.broker.log()
        # docs/design.md, Errors, logs and secrets: never the token or its signature in the log.
        self.assertNotIn(token, log)
        sig = token.split(".")[-1]
        if len(sig) >= 8:
            self.assertNotIn(sig, log)


class ExampleConfigConnect(h.BrokerTestCase, RefusalChecks):
    """Against the example configuration (also runs against an external
    broker)."""

    class_broker = True

    def test_each_family_accepted_mqtt311_and_mqtt5(self):
        for alg in FAMILIES:
            for proto in (V311, V5):
                with self.subTest(alg=alg, proto=proto):
                    sub = "dev-" + alg.lower()
                    c = self.paho(proto, username=sub, password=h.mint(sub, alg=alg))
                    self.assertConnected(c)
                    c.close()

    def test_jwks_keys_selected_by_kid(self):
        for kid in sorted(h.KID_KEYS):
            with self.subTest(kid=kid):
                c = self.paho(V5, username="dev-kid", password=h.mint("dev-kid", kid=kid))
                self.assertConnected(c)
                c.close()

    def test_unknown_kid_refused(self):
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                tok = h.mint("dev-kid", alg="ES256", kid="no-such-kid")
                c = self.paho(proto, username="dev-kid", password=tok)
                self.assertRefused(c, proto)
                self.assert_refusal_logged(c.client_id, "unknown kid", tok)

    def refusal_cases(self):
        now = int(time.time())
        lw = h.leeway()
        good = h.mint("dev-1", alg="RS256")
        return [
            ("expired", "expired", h.mint("dev-1", now=now - lw - 3600, ttl=60)),
            ("nbf in future", "not yet valid",
             h.mint("dev-1", claims={"nbf": now + lw + 3600})),
            ("wrong audience", "wrong audience", h.mint("dev-1", aud="other.example.net")),
            ("wrong issuer", "wrong issuer", h.mint("dev-1", iss="https://evil.example.net")),
            ("tampered signature", "bad signature", h.tamper_signature(good)),
            ("payload swapped", "bad signature",
             ".".join([good.split(".")[0], h.mint("admin").split(".")[1],
                       good.split(".")[2]])),
            ("signed by another RSA key", "bad signature",
             h.mint("dev-1", alg="RS256", key=attacker_rsa_pem())),
            ("signed with another HMAC secret", "bad signature",
             h.mint("dev-1", alg="HS256", key=b"not-the-secret-of-this-broker-0123456789")),
            # An empty signature segment may be refused as malformed first.
            ("alg none", ("algorithm not allowed", "malformed token"), h.alg_none_token("dev-1")),
            ("alg none with a signature", "algorithm not allowed",
             h.alg_none_token("dev-1") + good.split(".")[2]),
            ("no exp", "missing required claim", h.mint("dev-1", omit=("exp",))),
            ("exp a string", "bad payload", h.mint("dev-1", claims={"exp": str(now + 600)})),
            ("typ not JWT", "bad header", h.mint("dev-1", headers={"typ": "secevent+jwt"})),
            ("crit header", "crit header not supported",
             h.mint("dev-1", headers={"crit": ["exp"], "exp": 1})),
            ("jku to the attacker's key", "bad signature",
             h.mint("dev-1", key=attacker_rsa_pem(),
                    headers={"jku": "https://attacker.example.net/jwks.json"})),
            ("HS256 keyed with the RSA public key", ("bad signature", "algorithm not allowed",
                                                     "no key for algorithm"),
             hs256_with_public_key("dev-1")),
            ("sub with +", "bad sub", h.mint("dev/+")),
            ("longer than max_token_bytes", "token too long",
             h.mint("dev-1", alg="HS256", claims={"pad": "x" * 9000})),
        ]

    def test_bad_tokens_refused_mqtt311_rc5_mqtt5_0x87(self):
        for name, reason, tok in self.refusal_cases():
            for proto in (V311, V5):
                with self.subTest(case=name, proto=proto):
                    c = self.paho(proto, username="dev-1", password=tok)
                    self.assertRefused(c, proto)
                    self.assert_refusal_logged(c.client_id, reason, tok)
                    c.close()

    def test_good_token_is_the_positive_pair(self):
        # The pair of the refusals above: the same claims, untouched.
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                c = self.paho(proto, username="dev-1", password=h.mint("dev-1"))
                self.assertConnected(c)

    def test_mosquitto_pub_accepted_and_refused(self):
        for proto in (V311, V5):
            with self.subTest(proto=proto, token="good"):
                tok = h.mint("dev-pub", alg="ES256")
                r = h.mosquitto_pub(self.broker, proto, "devices/dev-pub/hello", "hi",
                                    username="dev-pub", password=tok, qos=1)
                self.assertEqual(r.returncode, 0, r.stderr + self.tail())
            with self.subTest(proto=proto, token="expired"):
                tok = h.mint("dev-pub", alg="ES256", now=int(time.time()) - 7200, ttl=60)
                r = h.mosquitto_pub(self.broker, proto, "devices/dev-pub/hello", "hi",
                                    username="dev-pub", password=tok)
                self.assertNotEqual(r.returncode, 0)
                self.assertTrue(refused_text(r.stderr + r.stdout), r.stderr)

    def test_mosquitto_sub_accepted_and_refused(self):
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                tok = h.mint("dev-sub")
                # -W 1: connect, subscribe, time out after one second (exit 27).
                r = h.mosquitto_sub(self.broker, proto, "devices/dev-sub/#", username="dev-sub",
                                    password=tok, wait=1)
                self.assertFalse(refused_text(r.stderr), r.stderr)
                self.assertEqual(r.returncode, 27, r.stderr)
                r = h.mosquitto_sub(self.broker, proto, "devices/dev-sub/#", username="dev-sub",
                                    password=h.tamper_signature(tok), wait=1)
                self.assertTrue(refused_text(r.stderr), r.stderr)

    @unittest.skipUnless(os.path.exists(TOOL), "mosquitto_jwt not built (MJA_BUILD_DIR/tools)")
    def test_token_from_mosquitto_jwt_sign_accepted(self):
        # README "Minting a test token": the tool's tokens work as printed.
        iss, aud = h.EXAMPLE.words("issuer")[0], h.EXAMPLE.words("audience")[0]
        for args in (["--key", h.demo_key_path("ec-p256.key.pem"), "--alg", "ES256"],
                     ["--secret", os.path.join(h.CONF_DIR, "keys", "hs256.secret")],
                     ["--key", h.demo_key_path("jwks-rsa.key.pem"), "--kid", "demo-rsa-2026"]):
            with self.subTest(args=args[:2]):
                r = subprocess.run([TOOL, "sign"] + args + ["--sub", "dev-tool", "--ttl", "600",
                                                            "--iss", iss, "--aud", aud],
                                   capture_output=True, text=True, timeout=h.TOOL_TIMEOUT)
                self.assertEqual(r.returncode, 0, r.stderr)
                tok = r.stdout.strip()
                self.assertConnected(self.paho(V5, username="dev-tool", password=tok))
                self.assertRefused(self.paho(V5, username="dev-tool",
                                             password=h.tamper_signature(tok)), V5)

    def test_mqtt5_password_without_username(self):
        # MQTT 5 allows a password without a username (section 3.1.2.9).
        sub = h.unique_id("dev-nouser")
        c = self.raw()
        self.assertEqual(c.connect(sub, password=h.mint(sub)).reason, 0, self.tail())
        c2 = self.raw()
        ack = c2.connect(sub + "-2", password=h.tamper_signature(h.mint(sub)))
        self.assertIn(ack.reason, (0x86, 0x87))

    def test_session_takeover_keeps_new_clients_identity(self):
        # The DISCONNECT event of the old connection comes after the new one
        # has logged in (and twice for durable sessions): the new
        # connection's token must stay in force.
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                cid = h.unique_id("takeover")
                a, b = h.unique_id("dev-a"), h.unique_id("dev-b")
                first = self.paho(proto, client_id=cid, username=a, password=h.mint(a),
                                  clean=False) if proto == V311 else \
                    self.paho(proto, client_id=cid, username=a, password=h.mint(a))
                self.assertConnected(first)
                second = self.paho(proto, client_id=cid, username=b, password=h.mint(b))
                self.assertConnected(second)
                self.assertTrue(first.disconnected.wait(h.CLIENT_TIMEOUT))
                first.close()
                time.sleep(0.3)
                self.assertEqual(second.subscribe("devices/%s/#" % b), [0], self.tail())
                self.assertIn(second.subscribe("devices/%s/#" % a)[0], (0x80, 0x87))
                second.publish("devices/%s/x" % b, b"after takeover", 1)
                self.assertEqual(second.get(), ("devices/%s/x" % b, b"after takeover", False))

    def test_no_password_refused(self):
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                c = self.paho(proto, username="dev-1")
                self.assertRefused(c, proto)

    @h.skip_if_external("reads the broker's log")
    def test_secret_readable_by_broker_only_no_warning(self):
        # The harness keeps the example's HMAC secret readable by the
        # broker's user only (as docker/Dockerfile and scripts/demo.sh do):
        # the plugin loaded it (HS256 accepted) and did not warn.
        self.assertIsNotNone(self.broker.wait_log("jwt-auth: ready"), self.tail())
        c = self.paho(V311, username="dev-hs", password=h.mint("dev-hs", alg="HS256"))
        self.assertConnected(c)
        c.close()
        self.assertEqual(self.broker.log_lines("readable by every user"), [], self.tail())


@h.skip_if_external("needs brokers with other plugin options")
class OptionConnect(h.BrokerTestCase, RefusalChecks):
    """Options that change how CONNECT is judged; each test its own broker."""

    start_broker = False

    def start(self, **extra):
        self.broker = self.make_broker(extra=extra)
        self.broker.start()

    def test_accepted_line_only_with_log_debug(self):
        # the broker writes every log type (log_type all); the plugin's
        # "accepted" debug line is there only with log_debug true
        for opt in (None, "false", "true"):
            with self.subTest(log_debug=opt):
                self.start(**({} if opt is None else {"log_debug": opt}))
                cid = h.unique_id("dbg")
                c = self.paho(V5, client_id=cid, username="dev-1", password=h.mint("dev-1"))
                self.assertConnected(c)
                c.close()
                if opt == "true":
                    self.assertTrue(self.broker.wait_log("jwt-auth: accepted client %s from " % cid,
                                                         "sub dev-1"), self.tail())
                else:
                    # the broker's own line for the client comes after the plugin's
                    self.assertTrue(self.broker.wait_log("New client connected", cid), self.tail())
                    self.assertEqual(self.broker.log_lines("accepted client"), [], self.tail())
                self.broker.stop()

    def test_token_field_username(self):
        self.start(token_field="username")
        tok = h.mint("dev-u")
        for proto in (V311, V5):
            with self.subTest(proto=proto, where="username"):
                self.assertConnected(self.paho(proto, username=tok))
            with self.subTest(proto=proto, where="password"):
                c = self.paho(proto, username="dev-u", password=tok)
                self.assertRefused(c, proto)

    def test_token_field_username_refused_token_not_logged(self):
        self.start(token_field="username")
        for proto in (V311, V5):
            with self.subTest(proto=proto):
                tok = h.mint("dev-u", aud="wrong.example.net")
                c = self.paho(proto, username=tok)
                self.assertRefused(c, proto)
                self.assert_refusal_logged(c.client_id, "wrong audience", tok)

    def test_username_match_sub(self):
        self.start(username_match="sub")
        tok = h.mint("dev-m")
        for proto in (V311, V5):
            with self.subTest(proto=proto, username="same"):
                self.assertConnected(self.paho(proto, username="dev-m", password=tok))
            with self.subTest(proto=proto, username="other"):
                c = self.paho(proto, username="dev-other", password=tok)
                self.assertRefused(c, proto)
                self.assert_refusal_logged(c.client_id, "username does not match sub", tok)

    def test_clientid_match_sub(self):
        self.start(clientid_match="sub")
        for proto in (V311, V5):
            with self.subTest(proto=proto, clientid="same"):
                sub = h.unique_id("dev-c")
                self.assertConnected(self.paho(proto, client_id=sub, username=sub,
                                               password=h.mint(sub)))
            with self.subTest(proto=proto, clientid="other"):
                tok = h.mint("dev-c")
                c = self.paho(proto, client_id=h.unique_id("not-dev-c"), username="dev-c",
                              password=tok)
                self.assertRefused(c, proto)
                self.assert_refusal_logged(c.client_id, "client id does not match sub", tok)

    def test_algorithms_allow_list(self):
        self.start(algorithms="ES256")
        for proto in (V311, V5):
            with self.subTest(proto=proto, alg="ES256"):
                self.assertConnected(self.paho(proto, username="d", password=h.mint("d", alg="ES256")))
            with self.subTest(proto=proto, alg="RS256"):
                tok = h.mint("d", alg="RS256")
                c = self.paho(proto, username="d", password=tok)
                self.assertRefused(c, proto)
                self.assert_refusal_logged(c.client_id, "algorithm not allowed", tok)

    def test_max_token_bytes(self):
        self.start(max_token_bytes="250")
        short = h.mint("d", alg="HS256")
        self.assertLessEqual(len(short), 250)
        self.assertConnected(self.paho(V311, username="d", password=short))
        long_tok = h.mint("d", alg="HS256", claims={"pad": "x" * 250})
        c = self.paho(V311, username="d", password=long_tok)
        self.assertRefused(c, V311)
        self.assert_refusal_logged(c.client_id, "token too long", long_tok)


def refused_text(out):
    """The client tools' words for a refused CONNECT: "not authorised"
    (3.1.1 code 5, MQTT 5 0x87), or on Mosquitto 2.1 for a refused password
    token "bad user name or password" (MQTT 5 0x86)."""
    out = out.lower()
    return "authori" in out or "bad user name or password" in out


def make_password_file(broker, user, password):
    path = broker.path("passwd")
    subprocess.run([h.MOSQUITTO_PASSWD, "-c", "-b", path, user, password], check=True,
                   timeout=30, capture_output=True)
    os.chmod(path, 0o644)
    return path


@h.skip_if_external("needs a broker with a password_file")
class NonJwtPasswords(h.BrokerTestCase, RefusalChecks):
    """non_jwt defer / deny next to Mosquitto's own password_file."""

    start_broker = False

    def start(self, mode):
        self.broker = self.make_broker(extra={"non_jwt": mode})
        path = make_password_file(self.broker, "legacy-user", "legacy-pass-1")
        self.broker.global_conf = "password_file %s" % path
        self.broker.write_conf()
        self.broker.start()

    def test_defer_password_file_user_gets_in(self):
        self.start("defer")
        for proto in (V311, V5):
            with self.subTest(proto=proto, password="right"):
                self.assertConnected(self.paho(proto, username="legacy-user",
                                               password="legacy-pass-1"))
            with self.subTest(proto=proto, password="wrong"):
                c = self.paho(proto, username="legacy-user", password="legacy-pass-2")
                self.assertRefused(c, proto)
            with self.subTest(proto=proto, password="token"):
                self.assertConnected(self.paho(proto, username="dev-1", password=h.mint("dev-1")))
        r = h.mosquitto_pub(self.broker, V311, "x/y", "m", username="legacy-user",
                            password="legacy-pass-1")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_deny_refuses_password_file_user(self):
        self.start("deny")
        for proto in (V311, V5):
            with self.subTest(proto=proto, password="right"):
                c = self.paho(proto, username="legacy-user", password="legacy-pass-1")
                self.assertRefused(c, proto)
                self.assert_refusal_logged(c.client_id, "not a JWT", "legacy-pass-1")
            with self.subTest(proto=proto, password="token"):
                self.assertConnected(self.paho(proto, username="dev-1", password=h.mint("dev-1")))
        r = h.mosquitto_pub(self.broker, V311, "x/y", "m", username="legacy-user",
                            password="legacy-pass-1")
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
