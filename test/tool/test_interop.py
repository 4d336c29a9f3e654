"""test_interop.py - mosquitto_jwt against an independent JWT implementation (PyJWT).

For each of the 13 algorithms:
  * a token signed by `mosquitto_jwt sign` verifies in PyJWT with the public
    PEM (or the secret's bytes) that `mosquitto_jwt keygen` wrote;
  * a token signed by PyJWT with the key keygen wrote is accepted by
    `mosquitto_jwt verify` (exit 0), with the PEM and with the JWKS;
  * the same token with one changed payload or signature byte is refused
    (exit 1, "refused: bad signature").
"""

import base64
import hashlib
import hmac
import json
import unittest

import jwt  # python3-jwt (PyJWT 2.6)
from cryptography.hazmat.primitives import serialization

from toolharness import NOW, ToolCase

# alg -> (keygen arguments, file prefix)
ALGS = {
    "HS256": (["--type", "hs256"], "hs256"),
    "HS384": (["--type", "hs384"], "hs384"),
    "HS512": (["--type", "hs512"], "hs512"),
    "RS256": (["--type", "rsa"], "rsa"),
    "RS384": (["--type", "rsa", "--alg", "RS384"], "rs384"),
    "RS512": (["--type", "rsa", "--alg", "RS512", "--bits", "3072"], "rs512"),
    "PS256": (["--type", "rsa", "--alg", "PS256"], "ps256"),
    "PS384": (["--type", "rsa", "--alg", "PS384"], "ps384"),
    "PS512": (["--type", "rsa", "--alg", "PS512"], "ps512"),
    "ES256": (["--type", "ec", "--curve", "P-256"], "es256"),
    "ES384": (["--type", "ec", "--curve", "P-384"], "es384"),
    "ES512": (["--type", "ec", "--curve", "P-521"], "es512"),
    "EdDSA": (["--type", "ed25519"], "eddsa"),
}


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def flip_signature(tok):
    """Change one bit in the middle of the signature (a valid base64url token)."""
    h, p, s = tok.split(".")
    sig = bytearray(b64d(s))
    sig[len(sig) // 2] ^= 0x01
    return "%s.%s.%s" % (h, p, b64e(bytes(sig)))


def change_payload(tok, **claims):
    h, p, s = tok.split(".")
    body = json.loads(b64d(p))
    body.update(claims)
    return "%s.%s.%s" % (h, b64e(json.dumps(body).encode()), s)


class Interop(ToolCase):
    def make_key(self, alg):
        args, prefix = ALGS[alg]
        self.ok("keygen", *args, "--out-dir", self.dir, "--prefix", prefix, "--kid", prefix + "-kid")
        return prefix

    def verify_key(self, alg, prefix):
        """What PyJWT verifies with: the public key object, or the secret bytes."""
        if alg.startswith("HS"):
            return self.secret_bytes(prefix + ".secret")
        return serialization.load_pem_public_key(self.read(prefix + ".pub.pem", "rb"))

    def signing_key(self, alg, prefix):
        if alg.startswith("HS"):
            return self.secret_bytes(prefix + ".secret")
        return serialization.load_pem_private_key(self.read(prefix + ".key", "rb"), None)

    def key_file(self, alg, prefix):
        return prefix + (".secret" if alg.startswith("HS") else ".key")

    def verify_opts(self, alg, prefix, use_jwks):
        if alg.startswith("HS") and not use_jwks:
            return ["--secret-file", self.path(prefix + ".secret")]
        return ["--key-file", self.path(prefix + (".jwks" if use_jwks else ".pub.pem"))]

    def test_tool_signs_pyjwt_verifies(self):
        for alg in ALGS:
            with self.subTest(alg=alg):
                prefix = self.make_key(alg)
                r = self.ok("sign", "--key", self.path(self.key_file(alg, prefix)), "--alg", alg,
                            "--sub", "device-1", "--aud", "mqtt.example.com", "--iss", "issuer-1",
                            "--role", "operator", "--claim", "tenant=42", "--ttl", "600",
                            "--now", NOW)
                tok = r.out.strip()
                self.assertEqual(r.out, tok + "\n")
                header = jwt.get_unverified_header(tok)
                self.assertEqual(header["alg"], alg)
                self.assertEqual(header["typ"], "JWT")
                claims = jwt.decode(tok, self.verify_key(alg, prefix), algorithms=[alg],
                                    audience="mqtt.example.com", issuer="issuer-1",
                                    options={"verify_exp": False, "verify_iat": False})
                self.assertEqual(claims, {"iss": "issuer-1", "sub": "device-1",
                                          "aud": "mqtt.example.com", "iat": NOW,
                                          "exp": NOW + 600, "roles": ["operator"],
                                          "tenant": 42})
                # and PyJWT refuses it under another algorithm of the family
                other = {"HS256": "HS384", "ES256": "ES384"}.get(alg)
                if other:
                    with self.assertRaises(jwt.InvalidTokenError):
                        jwt.decode(tok, self.verify_key(alg, prefix), algorithms=[other],
                                   audience="mqtt.example.com",
                                   options={"verify_exp": False})

    def test_pyjwt_signs_tool_verifies(self):
        for alg in ALGS:
            with self.subTest(alg=alg):
                prefix = self.make_key(alg)
                for use_jwks in (False, True):
                    # a PEM or secret file has no kid: a token with a kid
                    # finds no key there (spec 2.3); the JWKS has the kid
                    tok = jwt.encode({"sub": "device-2", "exp": NOW + 300, "iat": NOW - 5,
                                      "aud": ["x", "mqtt.example.com"], "roles": ["a", "b"]},
                                     self.signing_key(alg, prefix), algorithm=alg,
                                     headers={"kid": prefix + "-kid"} if use_jwks else None)
                    opts = self.verify_opts(alg, prefix, use_jwks)
                    r = self.ok("verify", *opts, "--audience", "mqtt.example.com",
                                "--now", NOW, tok)
                    self.assertEqual(r.out.splitlines()[0], "valid")
                    self.assertIn("sub: device-2\n", r.out)
                    self.assertIn("exp: %d " % (NOW + 300), r.out)
                    self.assertIn('roles: ["a", "b"]\n', r.out)
                    # the token on stdin
                    r = self.ok("verify", *opts, "--now", NOW, "-", stdin=tok + "\n")
                    self.assertEqual(r.out.splitlines()[0], "valid")

                    # tampered: one signature bit, or a changed claim
                    for bad in (flip_signature(tok), change_payload(tok, sub="device-3")):
                        r = self.tool("verify", *opts, "--now", NOW, bad)
                        self.assertEqual(r.rc, 1, r)
                        self.assertEqual(r.out, "refused: bad signature\n")

    def test_refusal_reasons_match_the_plugin_words(self):
        prefix = self.make_key("ES256")
        key = self.signing_key("ES256", prefix)
        pub = ["--key-file", self.path(prefix + ".jwks")]
        cases = [
            ({"sub": "d", "exp": NOW - 31}, [], "expired"),
            ({"sub": "d", "exp": NOW + 60, "nbf": NOW + 100}, [], "not yet valid"),
            ({"sub": "d", "exp": NOW + 60, "aud": "other"}, ["--audience", "mine"], "wrong audience"),
            ({"sub": "d", "exp": NOW + 60, "iss": "eve"}, ["--issuer", "alice"], "wrong issuer"),
            ({"exp": NOW + 60}, [], "missing required claim"),
            ({"sub": "a/#", "exp": NOW + 60}, [], "bad sub"),
            ({"sub": "d", "exp": NOW + 60}, ["--key-file", self.path("es384.jwks"),
                                             "--algorithms", "ES384"], "algorithm not allowed"),
        ]
        self.make_key("ES384")
        for claims, opts, reason in cases:
            with self.subTest(reason=reason):
                tok = jwt.encode(claims, key, algorithm="ES256", headers={"kid": prefix + "-kid"})
                r = self.tool("verify", *pub, *opts, "--now", NOW, tok)
                self.assertEqual((r.rc, r.out), (1, "refused: %s\n" % reason), r)
        # a kid that no key has
        tok = jwt.encode({"sub": "d", "exp": NOW + 60}, key, algorithm="ES256",
                         headers={"kid": "nobody"})
        r = self.tool("verify", *pub, "--now", NOW, tok)
        self.assertEqual((r.rc, r.out), (1, "refused: unknown kid\n"), r)
        # alg none is never accepted, with or without a signature segment
        tok = jwt.encode({"sub": "d", "exp": NOW + 60}, None, algorithm="none")
        for t in (tok, tok + b64e(b"x")):
            r = self.tool("verify", *pub, "--now", NOW, t)
            self.assertEqual(r.rc, 1, r)
            self.assertIn(r.out, ("refused: algorithm not allowed\n", "refused: malformed token\n"))
        # alg confusion (RFC 8725 2.1): an HS256 token whose HMAC secret is
        # the broker's public key PEM must not verify against that key
        pem = self.read(prefix + ".pub.pem", "rb")
        head = b64e(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64e(json.dumps({"sub": "d", "exp": NOW + 60}).encode())
        mac = hmac.new(pem, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
        forged = "%s.%s.%s" % (head, body, b64e(mac))
        for keyfile in (prefix + ".pub.pem", prefix + ".jwks"):
            r = self.tool("verify", "--key-file", self.path(keyfile), "--now", NOW, forged)
            self.assertEqual((r.rc, r.out), (1, "refused: algorithm not allowed\n"), r)

if __name__ == "__main__":
    unittest.main()
