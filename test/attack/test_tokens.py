"""Hostile tokens at CONNECT (docs/design.md, "Token rules"; RFC 8725; known JWT-library
CVEs). Every case is refused with "not authorized", logs a reason, and
leaves no segment of the token (nor other unverified header text) in the
broker's log. Where a check could hide behind a failing signature, the
token is validly signed with the broker's own key, so only the check
under test can refuse it.

The broker runs the example configuration with `non_jwt deny`, so that
every refusal is the plugin's and carries its reason (with the default
`defer` a non-JWT password goes to other auth; NonJwtDefault checks it is
still refused)."""

import base64
import os
import socket
import time
import unittest

from cryptography.hazmat.primitives import serialization

import attack as a
import harness as h


def jwks_rsa_key():
    with open(h.demo_key_path("jwks-rsa.key.pem"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def noncanonical(seg):
    """The same bytes with nonzero unused low bits in the last character
    (RFC 4648 3.5), or None if the segment has no unused bits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused = {2: 4, 3: 2}.get(len(seg) % 4)
    if not unused:
        return None
    i = alphabet.index(seg[-1])
    return seg[:-1] + alphabet[i | 1]


@h.skip_if_external("the attack suite needs its own broker, options and log")
class HostileTokens(h.BrokerTestCase, a.AttackChecks):
    class_broker = True
    broker_kwargs = {"extra": {"non_jwt": "deny"}}

    def good(self):
        return h.mint("dev-1", alg="RS256")

    def test_good_token_connects(self):
        # The positive pair: the same raw client gets in with a real token.
        rc = a.connack_311(self.broker.host, self.broker.port, h.unique_id("atk-ok"),
                           "dev-1", self.good())
        self.assertEqual(rc, 0, self.tail())

    def test_alg_none_every_spelling(self):
        payload = a.claims()
        for alg in ("none", "None", "NONE", "nOnE", "none ", " none", "none\u0000",
                    "", "NoNe"):
            hdr = {"alg": alg, "typ": "JWT"}
            unsigned = a.b64(a.js(hdr)) + "." + a.b64(a.js(payload)) + "."
            # With a real RS256 signature over it, too: only alg can refuse.
            signed = a.forge(hdr, payload, sig_alg="RS256")
            for name, tok in (("empty-sig", unsigned), ("rs-sig", signed)):
                with self.subTest(alg=alg, sig=name):
                    # jansson refuses "\u0000" in strings: then "bad header".
                    self.refuse_311("none-" + name, tok,
                                    ("algorithm not allowed", "malformed token", "bad header"))
        for alg in (None, 0, ["none"], {"none": 1}):
            with self.subTest(alg=alg):
                tok = a.forge({"alg": alg}, payload, sig_alg="RS256")
                self.refuse_311("alg-type", tok, ("algorithm not allowed", "bad header"))
        tok = a.forge({"typ": "JWT"}, payload, sig_alg="RS256")
        self.refuse_311("no-alg", tok, ("algorithm not allowed", "bad header"))
        self.refuse_5("none-v5", a.b64('{"alg":"none"}') + "." + a.b64(a.js(payload)) + ".",
                      ("algorithm not allowed", "malformed token"))

    def test_hs_rs_key_confusion(self):
        # CVE-2015-9235 and kin: HS256 "signed" with the RSA public key text
        # that the broker holds as a verification key.
        pem = a.demo_rsa_public_pem()
        payload = a.claims()
        secrets = {"pem": pem, "pem-no-newline": pem.rstrip(b"\n"),
                   "der": a.demo_rsa().public_key().public_bytes(
                       serialization.Encoding.DER,
                       serialization.PublicFormat.SubjectPublicKeyInfo)}
        for name, secret in secrets.items():
            for alg in ("HS256", "HS384", "HS512"):
                with self.subTest(secret=name, alg=alg):
                    tok = a.forge({"alg": alg, "typ": "JWT"}, payload, alg=alg, key=secret)
                    self.refuse_311("hsrs-" + name, tok, "bad signature")
        # Pointing at the RSA key by kid: that key never verifies HS256.
        with open(os.path.join(h.CONF_DIR, "keys", "jwks.json"), "rb") as f:
            jwks_text = f.read()
        for secret in (pem, jwks_text):
            tok = a.forge({"alg": "HS256", "kid": "demo-rsa-2026"}, payload,
                          alg="HS256", key=secret)
            self.refuse_311("hsrs-kid", tok, ("no key for algorithm", "algorithm not allowed"))
        tok = a.forge({"alg": "HS256"}, payload, alg="HS256", key=pem)
        self.refuse_5("hsrs-v5", tok, "bad signature")

    def test_crit_refused_even_when_validly_signed(self):
        for crit in (["exp"], [], ["b64"], "exp", ["x-unknown"]):
            with self.subTest(crit=crit):
                tok = a.forge({"alg": "RS256", "crit": crit, "exp": 1}, a.claims())
                self.refuse_311("crit", tok, ("crit header not supported", "bad header"))
        self.refuse_5("crit-v5", a.forge({"alg": "RS256", "crit": ["exp"]}, a.claims()),
                      "crit header not supported")

    def test_kid_injection(self):
        key = jwks_rsa_key()
        kids = ["../../etc/passwd", "/dev/zero", "../../../../proc/self/environ",
                "' OR '1'='1", "x'; DROP TABLE keys;--", "%s%s%s%n%n",
                "demo-rsa-2026\u0000", "demo-rsa-2026 ", "DEMO-RSA-2026", "k" * 4000]
        for kid in kids:
            with self.subTest(kid=kid[:40]):
                # Signed by the key that demo-rsa-2026 names: a kid compared
                # as a C string, or case-insensitively, would let it in.
                tok = a.forge({"alg": "RS256", "kid": kid}, a.claims(), key=key)
                self.refuse_311("kid", tok, ("unknown kid", "bad header"),
                                extra_secrets=[kid] if len(kid) >= a.MIN_SEGMENT else [])
        for kid in (7, None, ["demo-rsa-2026"], {"k": 1}):
            with self.subTest(kid=kid):
                tok = a.forge({"alg": "RS256", "kid": kid}, a.claims(), key=key)
                self.refuse_311("kid-type", tok, ("bad header", "unknown kid"))

    def test_key_bearing_headers_never_used(self):
        # jwk / jku / x5u / x5c carry or point to the attacker's key; the
        # token is signed with that key. Nothing may fetch the URLs either.
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(8)
        lst.setblocking(False)
        url = "http://127.0.0.1:%d/keys" % lst.getsockname()[1]
        evil = a.attacker_rsa()
        x5c = base64.b64encode(a.attacker_cert_der()).decode()
        headers = [
            {"alg": "RS256", "jwk": a.attacker_rsa_jwk()},
            {"alg": "RS256", "kid": "demo-rsa-2026", "jwk": a.attacker_rsa_jwk("demo-rsa-2026")},
            {"alg": "RS256", "jku": url, "kid": "attacker-1"},
            {"alg": "RS256", "jku": url},
            {"alg": "RS256", "x5u": url},
            {"alg": "RS256", "x5c": [x5c]},
            {"alg": "RS256", "kid": "demo-rsa-2026", "x5c": [x5c], "jku": url, "x5u": url},
        ]
        try:
            for hdr in headers:
                with self.subTest(header=sorted(hdr)):
                    tok = a.forge(hdr, a.claims(), key=evil)
                    self.refuse_311("keyhdr", tok, ("bad signature", "unknown kid"),
                                    extra_secrets=[url])
            try:
                conn, _ = lst.accept()
                conn.close()
                self.fail("the broker connected to the jku/x5u URL")
            except BlockingIOError:
                pass
        finally:
            lst.close()

    def test_oversized_tokens_and_headers(self):
        limit = int(h.EXAMPLE.get("max_token_bytes", "8192"))
        big = h.mint("dev-1", claims={"pad": "x" * limit})
        self.refuse_311("big-claims", big, "token too long")
        hdr = a.forge({"alg": "RS256", "pad": "y" * limit}, a.claims())
        self.refuse_311("big-header", hdr, "token too long")
        huge = "eyJ" + "A" * 40000 + "." + "B" * 20000 + "." + "C" * 5000
        self.refuse_311("huge", huge, "token too long")
        # Just over the limit, shaped like a JWT.
        edge = "eyJ" + "A" * (limit - 8) + ".e30.AA"
        self.assertEqual(len(edge), limit + 2)
        self.refuse_311("edge", edge, "token too long")
        self.refuse_5("big-v5", big, "token too long")

    def test_bad_base64url(self):
        tok = self.good()
        head, body, sig = tok.split(".")
        if "-" not in tok and "_" not in tok:
            sig = "-" + sig[1:]  # make sure the +/ case changes something
        cases = {
            "pad-sig": tok + "=",
            "pad-sig2": tok + "==",
            "pad-header": head + "=." + body + "." + sig,
            "pad-body": head + "." + body + "==." + sig,
            "std-alphabet": ".".join(s.replace("-", "+").replace("_", "/")
                                     for s in (head, body, sig)),
            "space": tok[:20] + " " + tok[20:],
            "tab": head + "\t." + body + "." + sig,
            "newline-end": tok + "\n",
            "crlf-end": tok + "\r\n",
            "leading-space": " " + tok,
            "bad-char": head + "." + body + "." + sig[:-1] + "*",
            "utf8-char": head + "." + body + "é." + sig,
            "empty-header": "." + body + "." + sig,
            "empty-body": head + ".." + sig,
            "four-segments": tok + ".AAAA",
            "two-segments": head + "." + body,
            "len-mod-4-is-1": head + "." + body + "." + sig + "AAAA"[:1 + (3 - len(sig) % 4) % 4],
        }
        for seg_name, idx in (("sig", 2), ("header", 0), ("body", 1)):
            parts = tok.split(".")
            nc = noncanonical(parts[idx])
            if nc and nc != parts[idx]:
                parts[idx] = nc
                cases["noncanonical-" + seg_name] = ".".join(parts)
        self.assertIn("noncanonical-sig", cases, "RS256 signature has unused bits")
        for name, bad in cases.items():
            with self.subTest(case=name):
                self.refuse_311("b64-" + name, bad,
                                ("malformed token", "not a JWT", "bad signature", "bad header"))
        # Non-canonical bits must be refused as malformed, not pass on to
        # a signature check that would accept the same bytes.
        self.refuse_311("b64-nc", cases["noncanonical-sig"], "malformed token")

    def test_json_duplicates(self):
        c = a.claims()
        rest = a.js(c)[1:]
        cases = [
            ("dup-sub", '{"sub":"admin",' + rest, "bad payload"),
            ("dup-exp", '{"exp":1,' + rest, "bad payload"),
        ]
        for name, payload, reason in cases:
            with self.subTest(case=name):
                self.refuse_311(name, a.forge({"alg": "RS256"}, payload), reason)
        for hdr in ('{"alg":"RS256","alg":"none"}', '{"alg":"none","alg":"RS256"}',
                    '{"alg":"RS256","kid":"x","kid":"demo-rsa-2026"}'):
            with self.subTest(header=hdr):
                self.refuse_311("dup-hdr", a.forge(hdr, c, sig_alg="RS256"),
                                ("bad header", "algorithm not allowed", "unknown kid"))

    def test_deep_nesting(self):
        c = a.claims()
        for depth in (2500, 3000):
            nested = "[" * depth + "]" * depth
            with self.subTest(where="payload", depth=depth):
                payload = a.js(c)[:-1] + ',"x":' + nested + "}"
                self.refuse_311("deep-payload", a.forge({"alg": "RS256"}, payload),
                                ("bad payload", "token too long"))
            with self.subTest(where="header", depth=depth):
                hdr = '{"alg":"RS256","x":' + nested + "}"
                self.refuse_311("deep-header", a.forge(hdr, c, sig_alg="RS256"),
                                ("bad header", "token too long"))
        # Object nesting too ({"a":{"a":...}}).
        deep_obj = '{"a":' * 1500 + "1" + "}" * 1500
        payload = a.js(c)[:-1] + ',"x":' + deep_obj + "}"
        self.refuse_311("deep-obj", a.forge({"alg": "RS256"}, payload),
                        ("bad payload", "token too long"))

    def test_exp_types_and_extremes(self):
        now = int(time.time())
        lw = h.leeway()
        base = a.claims()
        refused = [
            ("string", '"%d"' % (now + 300), "bad payload"),
            ("true", "true", "bad payload"),
            ("null", "null", "bad payload"),
            ("array", "[%d]" % (now + 300), "bad payload"),
            ("object", '{"n":%d}' % (now + 300), "bad payload"),
            ("float-past", "%d.5" % (now - lw - 10), "expired"),
            ("negative", "-1", "expired"),
            ("int64-min", "-9223372036854775808", ("expired", "bad payload")),
            ("neg-huge-real", "-1e300", "expired"),
            ("overflow-real", "1e400", "bad payload"),
            ("past-exponent", "%de0" % (now - lw - 10), "expired"),
        ]
        for name, raw, reason in refused:
            with self.subTest(exp=name):
                payload = a.js({k: v for k, v in base.items() if k != "exp"})[:-1] \
                    + ',"exp":' + raw + "}"
                self.refuse_311("exp-" + name, a.forge({"alg": "RS256"}, payload), reason)
        # iat / nbf get the same type rule.
        for claim in ("iat", "nbf"):
            payload = a.js({k: v for k, v in base.items() if k != claim})[:-1] \
                + ',"%s":"%d"}' % (claim, now)
            self.refuse_311(claim + "-string", a.forge({"alg": "RS256"}, payload),
                            "bad payload")
        payload = a.js({k: v for k, v in base.items() if k != "iat"})[:-1] \
            + ',"iat":9223372036854775807}'
        self.refuse_311("iat-int64-max", a.forge({"alg": "RS256"}, payload),
                        "issued in the future")
        # Extremes the issuer really signed: no wrap-around when the leeway
        # is added or subtracted (UBSan watches this in the asan stage).
        accepted = [
            ("exp-float-future", ',"exp":%d.5' % (now + 300)),
            ("exp-int64-max", ',"exp":9223372036854775807'),
            ("nbf-int64-min", ',"exp":%d,"nbf":-9223372036854775808' % (now + 300)),
        ]
        for name, tail in accepted:
            with self.subTest(accepted=name):
                payload = a.js({k: v for k, v in base.items() if k != "exp"})[:-1] + tail + "}"
                rc = a.connack_311(self.broker.host, self.broker.port,
                                   h.unique_id("atk-" + name), "dev-1",
                                   a.forge({"alg": "RS256"}, payload))
                self.assertEqual(rc, 0, "%s: CONNACK %r\n%s" % (name, rc, self.tail()))

    def test_sub_wildcards_nul_and_utf8(self):
        base = a.claims()
        for sub in ("+", "#", "a/+", "a/#", "+/x", "a\u0000b", "", "s" * 300, 7, None,
                    ["dev-1"]):
            with self.subTest(sub=sub if not isinstance(sub, str) else sub[:20]):
                tok = a.forge({"alg": "RS256"}, dict(base, sub=sub))
                self.refuse_311("sub", tok, ("bad sub", "missing required claim", "bad payload"))
        rest = a.js({k: v for k, v in base.items() if k != "sub"})[1:]
        for name, raw in (("invalid-utf8", b'{"sub":"dev\xff\xfe",'),
                          ("overlong-utf8", b'{"sub":"\xc0\xaf",'),
                          ("lone-surrogate", b'{"sub":"\\ud800x",'),
                          ("cesu-surrogate", b'{"sub":"\xed\xa0\x80",')):
            with self.subTest(sub=name):
                tok = a.forge({"alg": "RS256"}, raw + rest.encode())
                self.refuse_311("sub-" + name, tok, ("bad payload", "bad sub"))

    def test_typ_must_be_jwt(self):
        for typ in ("JWE", "jose", "application/jose+json", 1, "JWT "):
            with self.subTest(typ=typ):
                tok = a.forge({"alg": "RS256", "typ": typ}, a.claims())
                self.refuse_311("typ", tok, "bad header")

    def test_nul_inside_the_password(self):
        # The broker hands the password to the plugin as a C string
        # (docs/design.md, "Broker facts"): the plugin sees the bytes before the
        # first NUL. Whatever comes first must be refused on its own.
        tok = self.good().encode()
        head, body, sig = tok.split(b".")
        cases = {
            "nul-first": b"\0" + tok,
            "nul-in-header": head[:10] + b"\0" + tok[10:],
            "nul-in-payload": head + b"." + body[:10] + b"\0" + body[10:] + b"." + sig,
            "nul-before-sig": head + b"." + body + b".\0" + sig,
            "nul-in-sig": head + b"." + body + b"." + sig[:40] + b"\0" + sig[40:],
        }
        for name, pw in cases.items():
            with self.subTest(case=name):
                self.refuse_311(name, pw, ("malformed token", "not a JWT", "no token",
                                           "bad signature"))
        # After a complete valid token, the rest never reaches the plugin:
        # the token it verifies is exactly the genuine one, so this client
        # gets in as dev-1 and no other identity.
        rc = a.connack_311(self.broker.host, self.broker.port, h.unique_id("atk-nul-tail"),
                           "dev-1", tok + b"\0" + b".evil." + tok)
        self.assertEqual(rc, 0, self.tail())


@h.skip_if_external("the attack suite needs its own broker, options and log")
class HostileEnhancedAuth(h.BrokerTestCase, a.AttackChecks):
    """The same attacks through MQTT 5 enhanced authentication (method
    "jwt"): a separate code path, whose token arrives with its length."""

    class_broker = True

    def test_good_token_connects(self):
        from mqtt5raw import RawClient
        with RawClient(self.broker.host, self.broker.port, timeout=h.CLIENT_TIMEOUT) as c:
            ack = c.connect(h.unique_id("atkx-ok"), auth_method="jwt",
                            auth_data=h.mint("dev-1").encode())
        self.assertEqual(ack.reason, 0, self.tail())

    def test_hostile_auth_data(self):
        good = h.mint("dev-1").encode()
        payload = a.claims()
        limit = int(h.EXAMPLE.get("max_token_bytes", "8192"))
        cases = [
            # Here the NUL is inside the data the plugin sees: no truncation
            # may turn these into the valid token before or after the NUL.
            ("nul-tail", good + b"\0junk", ("malformed token", "not a JWT")),
            ("nul-tail-only", good + b"\0", ("malformed token", "not a JWT")),
            ("nul-first", b"\0" + good, ("malformed token", "not a JWT")),
            ("empty", b"", ("no token", "malformed token", "not a JWT")),
            ("none", a.b64('{"alg":"none"}') + "." + a.b64(a.js(payload)) + ".",
             ("algorithm not allowed", "malformed token")),
            ("crit", a.forge({"alg": "RS256", "crit": ["exp"]}, payload),
             "crit header not supported"),
            ("hs-rs", a.forge({"alg": "HS256"}, payload, alg="HS256",
                              key=a.demo_rsa_public_pem()), "bad signature"),
            ("kid-path", a.forge({"alg": "RS256", "kid": "../../etc/passwd"}, payload),
             "unknown kid"),
            ("jwk-header", a.forge({"alg": "RS256", "jwk": a.attacker_rsa_jwk()}, payload,
                                   key=a.attacker_rsa()), "bad signature"),
            ("huge", b"eyJ" + b"A" * 60000 + b".e30.AA", "token too long"),
            ("just-over", b"eyJ" + b"A" * (limit - 8) + b".e30.AA", "token too long"),
            ("dup-sub", a.forge({"alg": "RS256"}, '{"sub":"admin",' + a.js(payload)[1:]),
             "bad payload"),
        ]
        for name, data, reasons in cases:
            with self.subTest(case=name):
                self.refuse_ext(name, data, reasons)


@h.skip_if_external("the attack suite needs its own broker, options and log")
class NonJwtDefault(h.BrokerTestCase, a.AttackChecks):
    """Default `non_jwt defer` with no other auth: broken tokens still get
    "not authorized" (the broker refuses what every plugin deferred)."""

    class_broker = True

    def test_broken_tokens_refused_without_other_auth(self):
        tok = h.mint("dev-1", alg="RS256")
        for name, bad in (("pad", tok + "=="), ("space", " " + tok), ("nul", "\0" + tok),
                          ("two-segments", tok.rsplit(".", 1)[0])):
            with self.subTest(case=name):
                cid = h.unique_id("atk-defer-" + name)
                rc = a.connack_311(self.broker.host, self.broker.port, cid, "dev-1",
                                   bad.encode())
                self.assertEqual(rc, a.NOT_AUTHORIZED_311, self.tail())
                self.assert_not_logged(a.segments(tok))


@h.skip_if_external("the attack suite needs its own broker, options and log")
class MaxTokenAge(h.BrokerTestCase, a.AttackChecks):
    """With max_token_age, a signed far-future exp is refused, not wrapped."""

    class_broker = True
    broker_kwargs = {"extra": {"max_token_age": "3600"}}

    def test_huge_exp_refused_as_too_old(self):
        base = a.claims()
        for raw in ("9223372036854775807", "1e300", "%d" % (int(time.time()) + 7200)):
            with self.subTest(exp=raw):
                payload = a.js({k: v for k, v in base.items() if k != "exp"})[:-1] \
                    + ',"exp":' + raw + "}"
                self.refuse_311("age", a.forge({"alg": "RS256"}, payload), "token too old")


if __name__ == "__main__":
    unittest.main()
