"""test_verify.py - `mosquitto_jwt verify` with a mosquitto.conf, the ACL file and bindings.

The options come from a real mosquitto.conf (plugin line, plugin_opt_
lines, include_dir) read as Mosquitto 2.0.11 reads it; the decisions and
reasons must be the plugin's.
"""

import os
import unittest

import jwt  # python3-jwt (PyJWT 2.6)
from cryptography.hazmat.primitives import serialization

from toolharness import NOW, ToolCase

ACL = """\
# every token client
pattern readwrite devices/%s/#
pattern read      clients/%c/#
pattern read      users/%u/inbox
pattern deny      devices/+/credentials/#

sub gateway-7
topic read  devices/+/telemetry
topic write commands/#

role operator
topic read #
topic deny secrets/#
"""


class Verify(ToolCase):
    def setUp(self):
        super().setUp()
        self.keygen("ec", "ec", "--kid", "ec-1")
        self.keygen("hs256", "hs")
        self.key = serialization.load_pem_private_key(self.read("ec.key", "rb"), None)
        self.write("acl.conf", ACL)

    def token(self, claims=None, kid="ec-1", **kw):
        body = {"sub": "gateway-7", "exp": NOW + 600, "aud": "mqtt.example.com"}
        body.update(claims or {})
        body.update(kw)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": kid} if kid else None)

    def conf(self, name="mosquitto.conf", extra="", plugin=None):
        plugin = plugin or "/usr/lib/mosquitto/mosquitto_jwt_auth.so"
        return self.write(name, (
            "# broker settings the tool skips\n"
            "listener 1883 127.0.0.1\n"
            "allow_anonymous false\n"
            "\n"
            "plugin %s\n"
            "plugin_opt_key_file %s\n"
            "  plugin_opt_audience   mqtt.example.com  \n"
            "plugin_opt_acl_file %s\n"
            "%s") % (plugin, self.path("ec.jwks"), self.path("acl.conf"), extra))

    def test_config_valid_and_refused(self):
        conf = self.conf()
        r = self.ok("verify", "--config", conf, "--now", NOW, self.token())
        self.assertEqual(r.out.splitlines()[:2], ["valid", "sub: gateway-7"])
        r = self.fails(1, "verify", "--config", conf, "--now", NOW, self.token(aud="elsewhere"))
        self.assertEqual(r.out, "refused: wrong audience\n")
        # the plugin's default leeway is 30 s: valid at exp + 29, refused at exp + 30
        self.ok("verify", "--config", conf, "--now", NOW + 629, self.token())
        r = self.fails(1, "verify", "--config", conf, "--now", NOW + 630, self.token())
        self.assertEqual(r.out, "refused: expired\n")
        # options of the config file, then --opt: leeway 0 makes exp exact
        r = self.fails(1, "verify", "--config", conf, "--opt", "leeway=0", "--now", NOW + 600, self.token())
        self.assertEqual(r.out, "refused: expired\n")

    def test_config_picks_our_plugin_and_instance(self):
        other = ("plugin /usr/lib/mosquitto/other_plugin.so\n"
                 "plugin_opt_key_file /nonexistent\n"
                 "plugin /opt/jwt/mosquitto_jwt_auth.so\n"
                 "plugin_opt_key_file %s\n"
                 "plugin_opt_leeway 0\n" % self.path("ec.jwks"))
        conf = self.conf(extra=other)
        # first instance: audience required
        r = self.fails(1, "verify", "--config", conf, "--now", NOW, self.token(aud=None))
        self.assertEqual(r.out, "refused: wrong audience\n")
        # second instance: no audience option, leeway 0
        self.ok("verify", "--config", conf, "--instance", "2", "--now", NOW, self.token(aud=None))
        r = self.fails(1, "verify", "--config", conf, "--instance", "2", "--now", NOW + 600, self.token())
        self.assertEqual(r.out, "refused: expired\n")
        self.fails(3, "verify", "--config", conf, "--instance", "3", self.token(), err="only 2")
        self.fails(2, "verify", "--config", conf, "--instance", "0", self.token(), err="--instance")
        # two plugins, neither ours: refused rather than guessed
        two = self.write("two.conf", "plugin /a.so\nplugin_opt_key_file x\nplugin /b.so\n")
        self.fails(3, "verify", "--config", two, self.token(), err="none loads mosquitto_jwt_auth.so")

    def test_config_include_dir(self):
        os.mkdir(self.path("conf.d"))
        self.write("conf.d/10-jwt.conf", "plugin /x/mosquitto_jwt_auth.so\n"
                   "plugin_opt_key_file %s\nplugin_opt_issuer https://issuer\n" % self.path("ec.jwks"))
        self.write("conf.d/README", "plugin /not/read.so\n")
        conf = self.write("main.conf", "listener 1883\ninclude_dir %s\n" % self.path("conf.d"))
        r = self.fails(1, "verify", "--config", conf, "--now", NOW, self.token())
        self.assertEqual(r.out, "refused: wrong issuer\n")
        self.ok("verify", "--config", conf, "--now", NOW, self.token(iss="https://issuer"))

    def test_bad_config_files_name_the_line(self):
        cases = [
            ("listener 1883\nplugin_opt_key_file /k\nplugin /p/mosquitto_jwt_auth.so\n",
             "bad1.conf:2: plugin_opt_key_file before any plugin line"),
            ("plugin /p/mosquitto_jwt_auth.so\nplugin_opt_key_file %s\n\nplugin_opt_leeway\n"
             % self.path("ec.jwks"), "bad2.conf:4: empty value for option 'leeway'"),
            # an option the plugin does not know: the line comes from the tool
            ("plugin /p/mosquitto_jwt_auth.so\nplugin_opt_key_file %s\nplugin_opt_colour blue\n"
             % self.path("ec.jwks"), "bad3.conf:3: option colour"),
            # a bad value
            ("plugin /p/mosquitto_jwt_auth.so\nplugin_opt_key_file %s\nplugin_opt_leeway soon\n"
             % self.path("ec.jwks"), "bad4.conf:3: option leeway"),
            # the second of two key files cannot be read
            ("plugin /p/mosquitto_jwt_auth.so\nplugin_opt_key_file %s\nplugin_opt_key_file %s\n"
             % (self.path("ec.jwks"), self.path("gone.pem")), "bad5.conf:3: option key_file"),
        ]
        for i, (text, want) in enumerate(cases, 1):
            with self.subTest(want=want):
                conf = self.write("bad%d.conf" % i, text)
                r = self.fails(3, "verify", "--config", conf, self.token())
                self.assertIn(want, r.err)
                self.assertEqual(r.out, "")
        self.fails(3, "verify", "--config", self.path("missing.conf"), self.token(), err="cannot open")
        # the ACL file's own syntax errors carry its line
        self.write("acl.conf", ACL + "topic sideways x/y\n")
        r = self.fails(3, "verify", "--config", self.conf(), self.token())
        self.assertIn("acl.conf:%d" % (ACL.count("\n") + 1), r.err)

    def test_usage(self):
        self.fails(2, "verify", self.token(), err="--config FILE or the plugin options")
        self.fails(2, "verify", "--opt", "novalue", self.token(), err="expected KEY=VALUE")
        self.fails(2, "verify", "--config", "a", "--config", "b", err="--config given twice")
        self.fails(2, "verify", "--key-file", "k", "tok1", "tok2", err="one token")
        self.fails(2, "verify", "--key-file", "k", "--now", "yesterday", err="--now")

    def test_acl_topics(self):
        conf = self.conf()
        r = self.ok("verify", "--config", conf, "--now", NOW, "--client-id", "c1",
                    "--username", "u1",
                    "--acl-topic", "devices/gateway-7/state",
                    "--acl-topic", "devices/sensor-1/telemetry",
                    "--acl-topic", "devices/gateway-7/credentials/key",
                    "--acl-topic", "commands/all",
                    "--acl-topic", "clients/c1/x",
                    "--acl-topic", "users/u1/inbox",
                    "--acl-topic", "devices/+/telemetry",
                    "--acl-topic", "devices/#",
                    "--acl-topic", "elsewhere",
                    self.token())
        self.assertEqual([l for l in r.out.splitlines() if l.startswith("acl ")], [
            "acl devices/gateway-7/state: publish allow, subscribe allow, receive allow",
            "acl devices/sensor-1/telemetry: publish deny, subscribe allow, receive allow",
            "acl devices/gateway-7/credentials/key: publish deny, subscribe deny, receive deny",
            "acl commands/all: publish allow, subscribe deny, receive deny",
            "acl clients/c1/x: publish deny, subscribe allow, receive allow",
            "acl users/u1/inbox: publish deny, subscribe allow, receive allow",
            "acl devices/+/telemetry: publish n/a, subscribe allow, receive n/a",
            "acl devices/#: publish n/a, subscribe deny, receive n/a",
            "acl elsewhere: publish deny, subscribe deny, receive deny",
        ])
        # roles: an operator reads everything but secrets
        r = self.ok("verify", "--config", conf, "--now", NOW, "--acl-topic", "x/y",
                    "--acl-topic", "secrets/k", self.token(sub="op-1", roles=["operator"]))
        self.assertIn('roles: ["operator"]\n', r.out)
        self.assertIn("acl x/y: publish deny, subscribe allow, receive allow\n", r.out)
        self.assertIn("acl secrets/k: publish deny, subscribe deny, receive deny\n", r.out)
        # a refused token gets no topic lines
        r = self.fails(1, "verify", "--config", conf, "--now", NOW, "--acl-topic", "x",
                       self.token(aud="no"))
        self.assertEqual(r.out, "refused: wrong audience\n")
        # without acl_file the plugin makes no topic decisions, and says so
        r = self.ok("verify", "--key-file", self.path("ec.jwks"), "--now", NOW,
                    "--acl-topic", "x", self.token())
        self.assertIn("acl: no acl_file", r.out)

    def test_acl_claim_topics(self):
        """--acl-topic answers with the token's own rules as the broker would:
        the claim first, the ACL file where the array format matches nothing,
        --qos and --retain for its conditions."""
        conf = self.conf(extra="plugin_opt_acl_claim acl\n"
                               "plugin_opt_superuser_claim is_superuser\n")
        rules = [
            {"permission": "deny", "action": "all", "topic": "devices/${sub}/locked"},
            {"permission": "allow", "action": "publish", "topic": "out/${clientid}",
             "qos": [0, 1], "retain": False},
            {"permission": "allow", "action": "sub", "topic": "eq fleet/#"},
        ]
        args = ["verify", "--config", conf, "--now", NOW, "--client-id", "c1"]
        r = self.ok(*args, "--acl-topic", "out/c1", "--acl-topic", "devices/gateway-7/locked",
                    "--acl-topic", "devices/gateway-7/free", "--acl-topic", "fleet/#",
                    "--acl-topic", "fleet/a", self.token(acl=rules))
        self.assertIn("superuser: no\nacl claim: array format, 3 rules\n", r.out)
        self.assertEqual([l for l in r.out.splitlines()
                          if l.startswith("acl ") and not l.startswith("acl claim:")], [
            "acl out/c1: publish allow, subscribe deny, receive deny",
            "acl devices/gateway-7/locked: publish deny, subscribe deny, receive deny",
            "acl devices/gateway-7/free: publish allow, subscribe allow, receive allow",
            "acl fleet/#: publish n/a, subscribe allow, receive n/a",
            "acl fleet/a: publish deny, subscribe deny, receive allow",
        ])
        # qos and retain conditions
        r = self.ok(*args, "--qos", "2", "--acl-topic", "out/c1", self.token(acl=rules))
        self.assertIn("acl out/c1: publish deny,", r.out)
        r = self.ok(*args, "--retain", "--acl-topic", "out/c1", self.token(acl=rules))
        self.assertIn("acl out/c1: publish deny,", r.out)
        self.fails(2, *args, "--qos", "3", self.token(acl=rules), err="--qos")
        # the object format: the ACL file is not asked
        r = self.ok(*args, "--acl-topic", "devices/gateway-7/free",
                    self.token(acl={"pub": ["x"]}))
        self.assertIn("acl claim: object format, 1 filter\n", r.out)
        self.assertIn("acl devices/gateway-7/free: publish deny, subscribe deny, receive deny",
                      r.out)
        # superuser, and no claim at all
        r = self.ok(*args, "--acl-topic", "$SYS/broker/load", self.token(is_superuser=True))
        self.assertIn("superuser: yes\nacl claim: absent\n", r.out)
        self.assertIn("acl $SYS/broker/load: publish allow, subscribe allow, receive allow",
                      r.out)
        # a malformed claim: refused with the broker log's detail
        r = self.fails(1, *args, self.token(acl=[{"permission": "allow", "action": "all",
                                                  "topic": "a", "qos": 7}]))
        self.assertEqual(r.out, 'refused: bad acl claim (claim "acl": rule 1: "qos" 7 is '
                                'outside 0-2)\n')
        # claim_match, and acl_claim without acl_file
        r = self.fails(1, "verify", "--key-file", self.path("ec.jwks"), "--now", NOW,
                       "--claim-match", "tenant=t-${clientid}", "--client-id", "c1",
                       self.token(tenant="t-c2"))
        self.assertEqual(r.out, 'refused: claim mismatch (claim "tenant" is not the string '
                                'its template gives)\n')
        r = self.ok("verify", "--key-file", self.path("ec.jwks"), "--now", NOW,
                    "--acl-claim", "acl", "--acl-topic", "x", "--acl-topic", "y",
                    self.token(acl={"all": ["x"]}))
        self.assertIn("acl x: publish allow, subscribe allow, receive allow\n", r.out)
        self.assertIn("acl y: publish deny, subscribe deny, receive deny\n", r.out)

    def test_bindings(self):
        pub = ["--key-file", self.path("ec.jwks"), "--now", NOW]
        tok = self.token()
        self.ok("verify", *pub, "--clientid-match", "sub", "--client-id", "gateway-7", tok)
        r = self.fails(1, "verify", *pub, "--clientid-match", "sub", "--client-id", "gw-8", tok)
        self.assertEqual(r.out, "refused: client id does not match sub\n")
        r = self.fails(1, "verify", *pub, "--clientid-match", "sub", tok)
        self.assertEqual(r.out, "refused: client id does not match sub\n")
        self.ok("verify", *pub, "--username-match", "sub", "--username", "gateway-7", tok)
        r = self.fails(1, "verify", *pub, "--username-match", "sub", "--username", "other", tok)
        self.assertEqual(r.out, "refused: username does not match sub\n")
        # token_field username: the token is the username
        self.ok("verify", *pub, "--token-field", "username", tok)
        self.fails(3, "verify", *pub, "--token-field", "username", "--username-match", "sub", tok,
                   err="option username_match")
        self.fails(2, "verify", *pub, "--token-field", "username", "--username", "u", tok,
                   err="the token is the username")

    def test_non_jwt(self):
        pub = ["--key-file", self.path("ec.jwks"), "--now", NOW]
        r = self.fails(1, "verify", *pub, "hunter2")
        self.assertEqual(r.out, "deferred: not a JWT (non_jwt defer: the plugin leaves it to "
                                "other authentication)\n")
        r = self.fails(1, "verify", *pub, "--non-jwt", "deny", "hunter2")
        self.assertEqual(r.out, "refused: not a JWT\n")
        r = self.fails(1, "verify", *pub, "--non-jwt", "deny", "-", stdin="")
        self.assertEqual(r.out, "refused: no token\n")
        # max_token_bytes: refused before any parsing
        r = self.fails(1, "verify", *pub, "--max-token-bytes", "100", self.token())
        self.assertEqual(r.out, "refused: token too long\n")

    def test_secret_and_flags(self):
        secret = self.secret_bytes("hs.secret")
        tok = jwt.encode({"sub": "d", "exp": NOW + 10, "iss": "a"}, secret, algorithm="HS256")
        self.ok("verify", "--secret-file", self.path("hs.secret"), "--issuer", "b, a", "--now", NOW, tok)
        r = self.fails(1, "verify", "--secret-file", self.path("hs.secret"), "--issuer", "b",
                       "--now", NOW, tok)
        self.assertEqual(r.out, "refused: wrong issuer\n")
        r = self.fails(1, "verify", "--secret-file", self.path("hs.secret"), "--require-claims",
                       "exp sub jti", "--now", NOW, tok)
        self.assertEqual(r.out, "refused: missing required claim\n")
        r = self.fails(1, "verify", "--secret-file", self.path("hs.secret"),
                       "--max-token-age", "5", "--now", NOW, tok)
        self.assertEqual(r.out, "refused: token too old\n")


if __name__ == "__main__":
    unittest.main()
