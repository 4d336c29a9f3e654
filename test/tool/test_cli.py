"""test_cli.py - mosquitto_jwt's commands, options, files, output and exit codes.

Exit codes: 0 ok / token accepted, 1 token refused (verify) or undecodable
(inspect), 2 usage error, 3 a file, key or configuration cannot be used.
"""

import base64
import hashlib
import json
import os
import re
import unittest

import jwt  # python3-jwt (PyJWT 2.6)
from cryptography.hazmat.primitives import serialization

from toolharness import NOW, ToolCase


def thumbprint(jwk):
    """RFC 7638, computed here independently of the tool."""
    req = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
           "OKP": ("crv", "kty", "x"), "oct": ("k", "kty")}[jwk["kty"]]
    text = json.dumps({k: jwk[k] for k in req}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


class Usage(ToolCase):
    def test_help_for_each_command(self):
        r = self.ok("--help")
        self.assertIn("Usage: mosquitto_jwt <command>", r.out)
        self.assertIn("Exit codes:", r.out)
        for cmd in ("keygen", "sign", "verify", "inspect"):
            with self.subTest(cmd=cmd):
                r = self.ok(cmd, "--help")
                self.assertIn("Usage: mosquitto_jwt " + cmd, r.out)
                self.assertIn("Exit codes:", r.out)
                self.assertEqual(self.ok("help", cmd).out, r.out)

    def test_no_command_and_unknown_command(self):
        r = self.fails(2)
        self.assertIn("Usage:", r.err)
        self.assertEqual(r.out, "")
        self.fails(2, "frobnicate", err="unknown command 'frobnicate'")

    def test_unknown_option_and_missing_value(self):
        for cmd in ("keygen", "sign", "verify", "inspect"):
            with self.subTest(cmd=cmd):
                r = self.fails(2, cmd, "--no-such-option", err="unknown option '--no-such-option'")
                self.assertEqual(r.out, "")
                self.fails(2, cmd, "-Z", err="unknown option '-Z'")
        self.fails(2, "keygen", "--type", err="option '--type' needs a value")
        self.fails(2, "sign", "--key", err="option '--key' needs a value")


class Docs(ToolCase):
    """Every option that --help shows is in the man page and the README."""

    def test_options_documented(self):
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with open(os.path.join(src, "tools", "mosquitto_jwt.1")) as f:
            man = f.read().replace("\\-", "-")
        with open(os.path.join(src, "README.md")) as f:
            readme = f.read()
        section = readme[readme.index("## Command-line tool `mosquitto_jwt`"):]
        section = section[:section.index("\n## ", 5)]
        for cmd in ("keygen", "sign", "verify", "inspect"):
            opts = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", self.ok(cmd, "--help").out))
            self.assertGreater(len(opts), 1)
            for opt in sorted(opts):
                with self.subTest(cmd=cmd, opt=opt):
                    self.assertIn(opt, man)
        for word in ("keygen", "sign", "verify", "inspect", "UNVERIFIED: signature not checked",
                     "0600", "| 3 |"):
            self.assertIn(word, section)


class Keygen(ToolCase):
    def test_files_and_modes(self):
        for kind in ("rsa", "ec", "ed25519"):
            with self.subTest(kind=kind):
                r = self.ok("keygen", "--type", kind, "--out-dir", self.dir, "--prefix", kind)
                self.assertEqual(self.mode(kind + ".key"), 0o600)
                self.assertEqual(self.mode(kind + ".pub.pem"), 0o644 & ~self.umask())
                priv = serialization.load_pem_private_key(self.read(kind + ".key", "rb"), None)
                pub = serialization.load_pem_public_key(self.read(kind + ".pub.pem", "rb"))
                self.assertEqual(priv.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
                    pub.public_bytes(serialization.Encoding.DER,
                                     serialization.PublicFormat.SubjectPublicKeyInfo))
                jwks = json.loads(self.read(kind + ".jwks"))
                self.assertEqual(len(jwks["keys"]), 1)
                jwk = jwks["keys"][0]
                self.assertNotIn("d", jwk)  # public only
                self.assertEqual(jwk["kid"], thumbprint(jwk))
                self.assertIn("kid %s, alg %s" % (jwk["kid"], jwk["alg"]), r.out)
                # PyJWT reads the JWK as the same public key
                from_jwk = jwt.PyJWK(jwk).key
                self.assertEqual(from_jwk.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
                    pub.public_bytes(serialization.Encoding.DER,
                                     serialization.PublicFormat.SubjectPublicKeyInfo))

    def umask(self):
        old = os.umask(0)
        os.umask(old)
        return old

    def test_hmac_secret(self):
        for kind, n in (("hs256", 43), ("hs384", 64), ("hs512", 86)):
            with self.subTest(kind=kind):
                self.ok("keygen", "--type", kind, "--out-dir", self.dir, "--prefix", kind,
                        "--kid", "k-" + kind)
                self.assertEqual(self.mode(kind + ".secret"), 0o600)
                self.assertEqual(self.mode(kind + ".jwks"), 0o600)
                raw = self.read(kind + ".secret", "rb")
                self.assertTrue(raw.endswith(b"\n"))
                secret = raw[:-1]
                # printable base64url text of n characters: n*6 bits of entropy
                self.assertEqual(len(secret), n)
                self.assertRegex(secret.decode(), r"^[A-Za-z0-9_-]+$")
                jwk = json.loads(self.read(kind + ".jwks"))["keys"][0]
                self.assertEqual((jwk["kty"], jwk["kid"], jwk["alg"]), ("oct", "k-" + kind, kind.upper()))
                # the JWKS holds the same bytes as the secret file's text
                self.assertEqual(base64.urlsafe_b64decode(jwk["k"] + "=" * (-len(jwk["k"]) % 4)), secret)
        # two runs never give the same secret
        self.ok("keygen", "--type", "hs256", "--out-dir", self.dir, "--prefix", "again")
        self.assertNotEqual(self.read("again.secret"), self.read("hs256.secret"))

    def test_alg_and_curve(self):
        for args, alg, crv in ((["--type", "ec"], "ES256", "P-256"),
                               (["--type", "ec", "--curve", "P-384"], "ES384", "P-384"),
                               (["--type", "ec", "--curve", "P-521"], "ES512", "P-521"),
                               (["--type", "rsa", "--alg", "PS384"], "PS384", None),
                               (["--type", "ed25519"], "EdDSA", "Ed25519")):
            with self.subTest(alg=alg):
                self.ok("keygen", *args, "--out-dir", self.dir, "--prefix", alg)
                jwk = json.loads(self.read(alg + ".jwks"))["keys"][0]
                self.assertEqual(jwk["alg"], alg)
                self.assertEqual(jwk.get("crv"), crv)

    def test_rsa_bits(self):
        self.ok("keygen", "--type", "rsa", "--bits", "3072", "--out-dir", self.dir, "--prefix", "r3")
        key = serialization.load_pem_private_key(self.read("r3.key", "rb"), None)
        self.assertEqual(key.key_size, 3072)
        # RFC 7518 3.3: under 2048 bits is refused, and nothing is written
        for bits in ("1024", "2047"):
            self.fails(2, "keygen", "--type", "rsa", "--bits", bits, "--out-dir", self.dir,
                       "--prefix", "weak", err="refused")
        self.assertFalse(os.path.exists(self.path("weak.key")))

    def test_usage_errors(self):
        self.fails(2, "keygen", err="--type is required")
        self.fails(2, "keygen", "--type", "dsa", err="unknown key type 'dsa'")
        self.fails(2, "keygen", "--type", "ec", "--curve", "secp256k1", err="unknown curve")
        self.fails(2, "keygen", "--type", "ec", "--bits", "2048", err="--bits is for --type rsa")
        self.fails(2, "keygen", "--type", "rsa", "--curve", "P-256", err="--curve is for --type ec")
        self.fails(2, "keygen", "--type", "rsa", "--bits", "many", err="--bits")
        self.fails(2, "keygen", "--type", "ec", "--alg", "ES384", err="does not go with")
        self.fails(2, "keygen", "--type", "hs256", "--alg", "none", err="unknown algorithm")
        self.fails(2, "keygen", "--type", "hs256", "--prefix", "a/b", err="--prefix")
        self.fails(2, "keygen", "--type", "hs256", "stray", err="unexpected argument 'stray'")
        self.fails(2, "keygen", "--type", "hs256", "--kid", "", err="--kid must not be empty")

    def test_io_errors_and_no_overwrite(self):
        self.fails(3, "keygen", "--type", "ed25519", "--out-dir", self.path("missing-dir"),
                   err="cannot write")
        self.keygen("ed25519", "k")
        before = self.read("k.key")
        self.fails(3, "keygen", "--type", "ed25519", "--out-dir", self.dir, "--prefix", "k",
                   err="exists (use --force")
        self.assertEqual(self.read("k.key"), before)
        # --force replaces the files and restores the private mode
        os.chmod(self.path("k.key"), 0o644)
        self.ok("keygen", "--type", "ed25519", "--out-dir", self.dir, "--prefix", "k", "--force")
        self.assertNotEqual(self.read("k.key"), before)
        self.assertEqual(self.mode("k.key"), 0o600)


class Sign(ToolCase):
    def setUp(self):
        super().setUp()
        self.keygen("ec", "ec")
        self.keygen("hs256", "hs")
        self.pub = serialization.load_pem_public_key(self.read("ec.pub.pem", "rb"))

    def claims(self, *args):
        r = self.ok("sign", "--key", self.path("ec.key"), "--now", NOW, *args)
        tok = r.out.strip()
        return jwt.get_unverified_header(tok), jwt.decode(
            tok, self.pub, algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False,
                                                          "verify_aud": False, "verify_nbf": False})

    def test_claims(self):
        head, body = self.claims("--sub", "gw-7", "--ttl", "120", "--aud", "a", "--aud", "b",
                                 "--iss", "me", "--role", "r1", "--role", "r2", "--kid", "kid-1",
                                 "--nbf", "+10", "--claim", "n=42", "--claim", "f=1.5",
                                 "--claim", "b=true", "--claim", 'o={"x":[1,2]}',
                                 "--claim", "s=plain text", "--claim", 'q="42"',
                                 "--claim", "e=", "--claim", "bad={json")
        self.assertEqual(head, {"alg": "ES256", "typ": "JWT", "kid": "kid-1"})
        self.assertEqual(body, {"iss": "me", "sub": "gw-7", "aud": ["a", "b"], "iat": NOW,
                                "nbf": NOW + 10, "exp": NOW + 120, "roles": ["r1", "r2"],
                                "n": 42, "f": 1.5, "b": True, "o": {"x": [1, 2]},
                                "s": "plain text", "q": "42", "e": "", "bad": "{json"})

    def test_defaults_and_times(self):
        head, body = self.claims("--sub", "d")
        self.assertEqual(head, {"alg": "ES256", "typ": "JWT"})
        self.assertEqual(body, {"sub": "d", "iat": NOW, "exp": NOW + 3600})
        _, body = self.claims("--sub", "d", "--no-exp", "--iat", "none")
        self.assertEqual(body, {"sub": "d"})
        _, body = self.claims("--sub", "d", "--iat", "-100", "--ttl", "-50", "--nbf", "now")
        self.assertEqual(body, {"sub": "d", "iat": NOW - 100, "nbf": NOW, "exp": NOW - 50})
        _, body = self.claims("--iat", "1700000000", "--aud", "single")
        self.assertEqual(body, {"aud": "single", "iat": 1700000000, "exp": NOW + 3600})

    def test_roles_claim_path(self):
        _, body = self.claims("--sub", "d", "--role", "admin", "--roles-claim", "realm_access.roles",
                              "--claim", "scope=mqtt")
        self.assertEqual(body["realm_access"], {"roles": ["admin"]})
        self.assertNotIn("roles", body)
        # the plugin reads them from the same path
        tok = self.ok("sign", "--key", self.path("ec.key"), "--now", NOW, "--sub", "d",
                      "--role", "admin", "--role", "ops", "--roles-claim", "realm_access.roles").out.strip()
        r = self.ok("verify", "--key-file", self.path("ec.jwks"), "--roles-claim",
                    "realm_access.roles", "--now", NOW, tok)
        self.assertIn('roles: ["admin", "ops"]\n', r.out)

    def test_hmac_secret_key(self):
        secret = self.secret_bytes("hs.secret")
        tok = self.ok("sign", "--key", self.path("hs.secret"), "--sub", "d", "--now", NOW).out.strip()
        self.assertEqual(jwt.decode(tok, secret, algorithms=["HS256"],
                                    options={"verify_exp": False, "verify_iat": False})["sub"], "d")
        tok = self.ok("sign", "--secret", self.path("hs.secret"), "--alg", "HS256",
                      "--sub", "d").out.strip()
        self.assertEqual(jwt.get_unverified_header(tok)["alg"], "HS256")
        # a 43-byte secret cannot make HS384 (RFC 7518 3.2: key >= hash size)
        self.fails(3, "sign", "--key", self.path("hs.secret"), "--alg", "HS384", "--sub", "d",
                   err="cannot sign HS384")
        # a short secret is refused as the plugin refuses it
        short = self.write("short.secret", "too short\n")
        self.fails(3, "sign", "--key", short, "--sub", "d", err=short)

    def test_errors(self):
        key = self.path("ec.key")
        self.fails(2, "sign", "--sub", "d", err="--key FILE or --secret FILE")
        self.fails(2, "sign", "--key", key, "--secret", key, err="exactly one")
        self.fails(3, "sign", "--key", self.path("nope.key"), "--sub", "d",
                   err="cannot read %s" % self.path("nope.key"))
        self.fails(3, "sign", "--key", self.path("ec.pub.pem"), "--sub", "d", err="ec.pub.pem")
        self.fails(3, "sign", "--key", key, "--alg", "RS256", err="cannot sign RS256")
        self.fails(2, "sign", "--key", key, "--alg", "none", err="unknown algorithm 'none'")
        self.fails(2, "sign", "--key", key, "--claim", "novalue", err="expected NAME=VALUE")
        self.fails(2, "sign", "--key", key, "--claim", "=x", err="expected NAME=VALUE")
        self.fails(2, "sign", "--key", key, "--sub", "d", "--claim", "sub=e", err="already set")
        self.fails(2, "sign", "--key", key, "--ttl", "soon", err="--ttl")
        self.fails(2, "sign", "--key", key, "--nbf", "tomorrow", err="--nbf")
        self.fails(2, "sign", "--key", key, "--now", "-5", err="--now")
        self.fails(2, "sign", "--key", key, "--role", "a", "--roles-claim", "x..y", err="--roles-claim")
        self.fails(2, "sign", "--key", key, "stray", err="unexpected argument")
        # the plugin refuses such a sub: sign still makes the token, and warns
        r = self.tool("sign", "--key", key, "--sub", "a/#")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("warning", r.err)


class Inspect(ToolCase):
    def test_marks_unverified(self):
        self.keygen("ed25519", "k")
        tok = self.ok("sign", "--key", self.path("k.key"), "--sub", "d", "--now", NOW,
                      "--ttl", "60", "--kid", "x").out.strip()
        for args, stdin in (([tok], None), (["-"], tok + "\n"), ([], tok)):
            r = self.ok("inspect", "--now", NOW + 120, *args, stdin=stdin)
            lines = r.out.splitlines()
            self.assertEqual(lines[0], "UNVERIFIED: signature not checked")
            self.assertNotIn("valid", r.out.replace("UNVERIFIED", ""))
            self.assertEqual(lines[1], "header:")
            i = lines.index("payload:")
            self.assertEqual(json.loads("\n".join(lines[2:i])), {"alg": "EdDSA", "typ": "JWT", "kid": "x"})
            j = next(n for n, l in enumerate(lines) if l.startswith("exp:"))
            self.assertEqual(json.loads("\n".join(lines[i + 1:j])),
                             {"sub": "d", "iat": NOW, "exp": NOW + 60})
            self.assertEqual(lines[j], "exp: %d 2026-01-01T00:01:00Z (60 s ago)" % (NOW + 60))

    def test_forged_token_is_shown_but_never_valid(self):
        # a token with a garbage signature decodes: inspect does not verify
        head = base64.urlsafe_b64encode(b'{"alg":"HS256"}').rstrip(b"=").decode()
        body = base64.urlsafe_b64encode(b'{"sub":"admin"}').rstrip(b"=").decode()
        r = self.ok("inspect", "%s.%s.AAAA" % (head, body))
        self.assertTrue(r.out.startswith("UNVERIFIED: signature not checked\n"))
        self.assertIn('"sub": "admin"', r.out)

    def test_undecodable(self):
        for bad in ("abc", "a.b", "a.b.c.d", "e30.e30.===", "%%%.e30.AA"):
            with self.subTest(tok=bad):
                r = self.fails(1, "inspect", bad, err="cannot decode")
                self.assertEqual(r.out, "")
        self.fails(2, "inspect", "a", "b", err="one token")


if __name__ == "__main__":
    unittest.main()
