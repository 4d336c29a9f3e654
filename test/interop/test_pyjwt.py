"""test_pyjwt.py - interoperability with an independent JWT implementation:
PyJWT 2.6 and python3-cryptography (Debian's python3-jwt), for all 13
algorithms (HS256 ... EdDSA), in both directions, at two levels.

The library (LibraryVerifiesPyJWT): PyJWT makes keys and tokens, plus
negative variants (wrong key, swapped payload, truncated signature, expired,
wrong audience, header and alg-confusion attacks, shape errors); the keys
are written in every format the plugin reads (secret files with and without
a trailing newline, PEM, X.509 certificate, JWK, JWKS with kid) and
verify_tokens (mja_token_verify with keys loaded from files, a fixed clock)
must give the expected reason word for each.

The tool (ToolSignsPyJWTVerifies, ToolAndPyJWT): `mosquitto_jwt sign`
signs with keys made by python3-cryptography (PKCS#8 and traditional PEM,
secret files) and with keys made by `mosquitto_jwt keygen`; PyJWT must
verify each token and refuse it with the wrong key. PyJWT signs with the
keys keygen wrote; `mosquitto_jwt verify` (the plugin's own CONNECT
decision) must accept them, refuse tampered ones with "bad signature", and
give the plugin's reason words for expired, wrong audience, unknown kid,
alg none and the HS/RS confusion.

Run by ctest as interop_pyjwt (test/interop/tests.cmake) with Debian's
/usr/bin/python3; MJA_VERIFY_TOKENS and MJA_TOOL name the built programs.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import unittest

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from toolharness import NOW as TOOL_NOW, ToolCase

VERIFY_TOKENS = os.environ.get("MJA_VERIFY_TOKENS", "")

NOW = 1700000000           # fixed clock, passed to the C side
ISS = "https://issuer.example"
AUD = "mqtt.example.com"
SUB = "interop-device"

ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384",
        "PS512", "ES256", "ES384", "ES512", "EdDSA"]
CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
CRV_NAMES = {"secp256r1": ("P-256", 32), "secp384r1": ("P-384", 48), "secp521r1": ("P-521", 66)}
HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}

OK = "ok"
BAD_SIG = "bad signature"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_int(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(size, "big"))


def claims(**over):
    c = {"sub": SUB, "iss": ISS, "aud": AUD, "iat": NOW, "exp": NOW + 600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def public_jwk(pub, **extra):
    """A public JWK built from the key's numbers (RFC 7517, 7518 6, 8037 2)."""
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        jwk = {"kty": "RSA", "n": b64u_int(n.n), "e": b64u_int(n.e)}
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        crv, size = CRV_NAMES[pub.curve.name]
        n = pub.public_numbers()
        jwk = {"kty": "EC", "crv": crv, "x": b64u_int(n.x, size), "y": b64u_int(n.y, size)}
    else:
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
    jwk.update(extra)
    return jwk


def pem_public(priv):
    return priv.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def pem_private(priv, traditional=False):
    fmt = (serialization.PrivateFormat.TraditionalOpenSSL if traditional
           else serialization.PrivateFormat.PKCS8)
    return priv.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def self_signed_cert(priv):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "interop issuer")])
    start = datetime.datetime(2020, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(priv.public_key()).serial_number(1)
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .sign(priv, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def split(tok):
    return tok.split(".")


def resign_hmac(header, payload, secret, digest=hashlib.sha256):
    """A compact JWS made by hand, for variants PyJWT refuses to make."""
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret, (h + "." + p).encode(), digest).digest()
    return h + "." + p + "." + b64u(mac)


class Keys:
    """Keys for every algorithm, and a second "wrong" key of each kind."""

    def __init__(self):
        self.secret = {a: secrets.token_hex(int(a[2:]) // 16).encode() for a in ALGS[:3]}
        self.wrong_secret = {a: secrets.token_hex(int(a[2:]) // 16).encode() for a in ALGS[:3]}
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = {a: ec.generate_private_key(c) for a, c in CURVES.items()}
        self.ec_wrong = {a: ec.generate_private_key(c) for a, c in CURVES.items()}
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.ed_wrong = ed25519.Ed25519PrivateKey.generate()

    def signing_key(self, alg, wrong=False):
        if alg.startswith("HS"):
            return (self.wrong_secret if wrong else self.secret)[alg]
        if alg[:2] in ("RS", "PS"):
            return self.rsa_wrong if wrong else self.rsa
        if alg.startswith("ES"):
            return (self.ec_wrong if wrong else self.ec)[alg]
        return self.ed_wrong if wrong else self.ed


# alg -> (mosquitto_jwt keygen arguments, file prefix)
TOOL_KEYGEN = {
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


def flip_signature(tok):
    """Change one bit in the middle of the signature (a valid base64url token)."""
    h, p, s = tok.split(".")
    sig = bytearray(b64d(s))
    sig[len(sig) // 2] ^= 0x01
    return "%s.%s.%s" % (h, p, b64u(bytes(sig)))


def change_payload(tok, **claims):
    h, p, s = tok.split(".")
    body = json.loads(b64d(p))
    body.update(claims)
    return "%s.%s.%s" % (h, b64u(json.dumps(body).encode()), s)


class Files:
    """A temporary folder for key and token files."""

    def __init__(self, tmp):
        self.tmp = tmp

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)


def key_files(s, k):
    """Write the verification key of each algorithm in a different format:
    secret files (with and without trailing newline), PEM, JWK, JWKS with
    kid, X.509 certificate. Returns {alg: (kind, path, kid or None)}."""
    files = {
        "HS256": ("secret", s.write("hs256.secret", k.secret["HS256"] + b"\n"), None),
        "HS384": ("secret", s.write("hs384.secret", k.secret["HS384"] + b"\r\n"), None),
        "HS512": ("secret", s.write("hs512.secret", k.secret["HS512"]), None),
        "RS256": ("key", s.write("rsa.pem", pem_public(k.rsa)), None),
        "RS384": ("key", s.write("rsa-rs384.jwk",
                                 json.dumps(public_jwk(k.rsa.public_key(), alg="RS384"))), None),
        "RS512": ("key", s.write("rsa-cert.pem", self_signed_cert(k.rsa)), None),
        "PS256": ("key", s.write("rsa.jwks", json.dumps({"keys": [
            public_jwk(k.rsa_wrong.public_key(), kid="old"),
            public_jwk(k.rsa.public_key(), kid="rsa-1", use="sig")]})), "rsa-1"),
        "PS384": ("key", s.path("rsa.pem"), None),
        "PS512": ("key", s.write("rsa.jwk", json.dumps(public_jwk(k.rsa.public_key()))), None),
        "ES256": ("key", s.write("p256.pem", pem_public(k.ec["ES256"])), None),
        "ES384": ("key", s.write("p384.jwk", json.dumps(public_jwk(k.ec["ES384"].public_key()))),
                  None),
        "ES512": ("key", s.write("p521.jwks", json.dumps({"keys": [
            public_jwk(k.ec["ES512"].public_key(), kid="ec-521", alg="ES512")]})), "ec-521"),
        "EdDSA": ("key", s.write("ed25519.pem", pem_public(k.ed)), None),
    }
    return files


def verify_cases(s):
    """The library cases: [(name, kind, keyfile, algs, token, want)]."""
    k = Keys()
    files = key_files(s, k)
    cases = []

    def add(name, alg_for_key, tok, want, algs="-"):
        kind, path, _ = files[alg_for_key]
        cases.append((name, kind, path, algs, tok, want))

    for alg in ALGS:
        kid = files[alg][2]
        headers = {"kid": kid} if kid else None
        key = k.signing_key(alg)
        good = jwt.encode(claims(), key, algorithm=alg, headers=headers)
        add(alg + "/ok", alg, good, OK)
        add(alg + "/ok-allow-listed", alg, good, OK, algs=alg)
        # another key of the same kind
        add(alg + "/wrong-key", alg,
            jwt.encode(claims(), k.signing_key(alg, wrong=True), algorithm=alg,
                       headers=headers), BAD_SIG)
        # payload swapped in from another genuine token
        other = jwt.encode(claims(sub="someone-else"), key, algorithm=alg, headers=headers)
        h, _, sig = split(good)
        add(alg + "/payload-swapped", alg, ".".join([h, split(other)[1], sig]), BAD_SIG)
        # truncated signature
        add(alg + "/sig-truncated", alg, ".".join([h, split(good)[1], b64u(
            base64.urlsafe_b64decode(sig + "==")[:-1])]), BAD_SIG)
        # claims, checked after the signature with the fixed clock
        add(alg + "/expired", alg,
            jwt.encode(claims(exp=NOW - 30), key, algorithm=alg, headers=headers), "expired")
        add(alg + "/wrong-aud", alg,
            jwt.encode(claims(aud=["other", "x"]), key, algorithm=alg, headers=headers),
            "wrong audience")
        # not in the allow-list
        add(alg + "/not-allowed", alg, good, "algorithm not allowed",
            algs="EdDSA" if alg != "EdDSA" else "ES256")

    hs = k.secret["HS256"]
    add("claims/exp-leeway-edge", "HS256",
        jwt.encode(claims(exp=NOW - 29), hs, algorithm="HS256"), OK)
    add("claims/aud-array", "HS256",
        jwt.encode(claims(aud=["a", AUD]), hs, algorithm="HS256"), OK)
    add("claims/nbf-future", "HS256",
        jwt.encode(claims(nbf=NOW + 31), hs, algorithm="HS256"), "not yet valid")
    add("claims/iat-future", "HS256",
        jwt.encode(claims(iat=NOW + 31), hs, algorithm="HS256"), "issued in the future")
    add("claims/wrong-iss", "HS256",
        jwt.encode(claims(iss="https://evil.example"), hs, algorithm="HS256"), "wrong issuer")
    add("claims/no-sub", "HS256",
        jwt.encode(claims(sub=None), hs, algorithm="HS256"), "missing required claim")
    add("claims/no-exp", "HS256",
        jwt.encode(claims(exp=None), hs, algorithm="HS256"), "missing required claim")
    add("claims/sub-wildcard", "HS256",
        jwt.encode(claims(sub="dev/+"), hs, algorithm="HS256"), "bad sub")
    add("claims/exp-string", "HS256",
        resign_hmac({"alg": "HS256"}, claims(exp=str(NOW + 600)), hs), "bad payload")
    add("claims/exp-real", "HS256",
        jwt.encode(claims(exp=NOW + 0.5 - 30), hs, algorithm="HS256"), OK)
    add("claims/exp-huge", "HS256",
        jwt.encode(claims(exp=1e300), hs, algorithm="HS256"), OK)

    # header attacks
    add("header/alg-none", "HS256", jwt.encode(claims(), None, algorithm="none"),
        "malformed token")
    none_signed = resign_hmac({"alg": "none"}, claims(), hs)
    add("header/alg-none-with-sig", "HS256", none_signed, "algorithm not allowed")
    add("header/alg-NoNe-with-sig", "HS256", resign_hmac({"alg": "NoNe"}, claims(), hs),
        "algorithm not allowed")
    add("header/crit", "HS256",
        jwt.encode(claims(), hs, algorithm="HS256", headers={"crit": ["exp"]}),
        "crit header not supported")
    add("header/typ-JWS", "HS256",
        jwt.encode(claims(), hs, algorithm="HS256", headers={"typ": "JWS"}), "bad header")
    add("header/typ-at+jwt", "HS256",
        jwt.encode(claims(), hs, algorithm="HS256", headers={"typ": "at+jwt"}), OK)
    add("header/kid-unknown", "PS256",
        jwt.encode(claims(), k.rsa, algorithm="PS256", headers={"kid": "nope"}), "unknown kid")
    add("header/kid-selects-other-key", "PS256",
        jwt.encode(claims(), k.rsa, algorithm="PS256", headers={"kid": "old"}), BAD_SIG)
    add("header/no-kid-tries-all", "PS256",
        jwt.encode(claims(), k.rsa_wrong, algorithm="PS256"), OK)
    add("header/jwk-embedded", "RS256",
        jwt.encode(claims(), k.rsa_wrong, algorithm="RS256",
                   headers={"jwk": public_jwk(k.rsa_wrong.public_key()),
                            "jku": "https://evil.example/jwks"}), BAD_SIG)
    # RFC 8725 2.1: HS256 keyed with the RSA public key's PEM (PyJWT refuses
    # to make this, so it is made by hand)
    add("confusion/hs256-with-rsa-pem", "RS256",
        resign_hmac({"alg": "HS256", "typ": "JWT"}, claims(), pem_public(k.rsa)),
        "algorithm not allowed")
    # PS256 signature relabelled RS256
    ps = jwt.encode(claims(), k.rsa, algorithm="PS256")
    add("confusion/ps-as-rs", "RS256",
        ".".join([b64u(b'{"alg":"RS256"}')] + split(ps)[1:]), BAD_SIG)
    # wrong curve: ES256 token against a P-384 key
    add("confusion/es256-vs-p384", "ES384",
        jwt.encode(claims(), k.ec["ES256"], algorithm="ES256"), "algorithm not allowed")
    # ES256 label on a P-384 signature with SHA-256, against the P-384 key
    hp = b64u(b'{"alg":"ES256"}') + "." + b64u(json.dumps(claims()).encode())
    der = k.ec["ES384"].sign(hp.encode(), ec.ECDSA(hashes.SHA256()))
    add("confusion/es256-label-p384-key", "ES384", hp + "." + b64u(der),
        "algorithm not allowed")
    # ECDSA in DER instead of raw R||S (RFC 7518 3.4)
    hp = b64u(b'{"alg":"ES256"}') + "." + b64u(json.dumps(claims()).encode())
    der = k.ec["ES256"].sign(hp.encode(), ec.ECDSA(hashes.SHA256()))
    add("shape/ecdsa-der-signature", "ES256", hp + "." + b64u(der), BAD_SIG)
    # EdDSA with the key marked for encryption only
    enc_jwk = s.write("ed-enc.jwk", json.dumps(public_jwk(k.ed.public_key(), use="enc")))
    cases.append(("keys/jwk-use-enc", "key", enc_jwk, "-",
                  jwt.encode(claims(), k.ed, algorithm="EdDSA"), "algorithm not allowed"))
    # shape
    good = jwt.encode(claims(), hs, algorithm="HS256")
    add("shape/padded-signature", "HS256", good + "=", "malformed token")
    add("shape/four-segments", "HS256", good + ".e30", "malformed token")
    h, p, sig = split(good)
    add("shape/std-base64-alphabet", "HS256", ".".join([h, p, "+" + sig[1:]]), "malformed token")
    add("shape/whitespace", "HS256", ".".join([h, p[:5] + " " + p[5:], sig]), "malformed token")
    add("shape/too-long", "HS256",
        jwt.encode(claims(pad="x" * 9000), hs, algorithm="HS256"), "token too long")
    return cases


class TempDirCase(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="mja-interop-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.files = Files(tmp)


class LibraryVerifiesPyJWT(TempDirCase):
    """PyJWT signs, mja_token_verify (through verify_tokens) decides."""

    def test_every_case_gives_its_reason(self):
        if not VERIFY_TOKENS or not os.access(VERIFY_TOKENS, os.X_OK):
            self.fail("MJA_VERIFY_TOKENS does not name the built verify_tokens: %r"
                      % VERIFY_TOKENS)
        s = self.files
        cases = verify_cases(s)
        self.assertGreater(len(cases), 13 * 8)
        lines = []
        for i, (name, kind, keyfile, algs, tok, _) in enumerate(cases):
            tokfile = s.write("tok-%d.jwt" % i, tok)
            lines.append("%s %s %s %s %d %s\n" % (name, kind, keyfile, algs, NOW, tokfile))
        manifest = s.write("manifest", "".join(lines))
        out = subprocess.run([VERIFY_TOKENS, manifest], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        got = dict(line.split("\t", 1) for line in out.stdout.splitlines())
        for name, _, _, _, _, want in cases:
            with self.subTest(case=name):
                self.assertEqual(got.get(name), want)


class ToolSignsPyJWTVerifies(ToolCase):
    """mosquitto_jwt sign with keys made by python3-cryptography (PKCS#8 and
    traditional PEM, secret files with a trailing newline); PyJWT verifies."""

    def test_every_algorithm(self):
        k = Keys()
        s = Files(self.dir)
        for alg in ALGS:
            with self.subTest(alg=alg):
                kid = "kid-" + alg.lower()
                if alg.startswith("HS"):
                    keyopt = ["--secret", s.write(alg + ".secret", k.secret[alg] + b"\n")]
                    verify_key, wrong_key = k.secret[alg], k.wrong_secret[alg]
                else:
                    priv = k.signing_key(alg)
                    # traditional PEM for two of them, PKCS#8 for the rest
                    keyopt = ["--key", s.write(alg + ".key", pem_private(
                        priv, traditional=alg in ("RS256", "ES256")))]
                    verify_key = priv.public_key()
                    wrong_key = k.signing_key(alg, wrong=True).public_key()
                r = self.ok("sign", *keyopt, "--alg", alg, "--kid", kid, "--sub", SUB,
                            "--iss", ISS, "--aud", AUD, "--ttl", "600", "--now", NOW)
                tok = r.out.strip()
                got = jwt.decode(tok, verify_key, algorithms=[alg], audience=AUD, issuer=ISS,
                                 options={"verify_exp": False})
                hdr = jwt.get_unverified_header(tok)
                self.assertEqual((got["sub"], got["exp"], hdr["alg"], hdr["kid"]),
                                 (SUB, NOW + 600, alg, kid))
                with self.assertRaises(jwt.InvalidSignatureError):
                    jwt.decode(tok, wrong_key, algorithms=[alg], audience=AUD, issuer=ISS,
                               options={"verify_exp": False})
                if alg.startswith("ES"):
                    # raw R||S of exactly twice the coordinate size (RFC 7518 3.4)
                    size = CRV_NAMES[CURVES[alg].name][1]
                    sig = base64.urlsafe_b64decode(split(tok)[2] + "==")
                    self.assertEqual(len(sig), 2 * size)


class ToolAndPyJWT(ToolCase):
    """mosquitto_jwt keygen / sign / verify against PyJWT."""

    def make_key(self, alg):
        args, prefix = TOOL_KEYGEN[alg]
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
        for alg in TOOL_KEYGEN:
            with self.subTest(alg=alg):
                prefix = self.make_key(alg)
                r = self.ok("sign", "--key", self.path(self.key_file(alg, prefix)), "--alg", alg,
                            "--sub", "device-1", "--aud", "mqtt.example.com", "--iss", "issuer-1",
                            "--role", "operator", "--claim", "tenant=42", "--ttl", "600",
                            "--now", TOOL_NOW)
                tok = r.out.strip()
                self.assertEqual(r.out, tok + "\n")
                header = jwt.get_unverified_header(tok)
                self.assertEqual(header["alg"], alg)
                self.assertEqual(header["typ"], "JWT")
                claims = jwt.decode(tok, self.verify_key(alg, prefix), algorithms=[alg],
                                    audience="mqtt.example.com", issuer="issuer-1",
                                    options={"verify_exp": False, "verify_iat": False})
                self.assertEqual(claims, {"iss": "issuer-1", "sub": "device-1",
                                          "aud": "mqtt.example.com", "iat": TOOL_NOW,
                                          "exp": TOOL_NOW + 600, "roles": ["operator"],
                                          "tenant": 42})
                # and PyJWT refuses it under another algorithm of the family
                other = {"HS256": "HS384", "ES256": "ES384"}.get(alg)
                if other:
                    with self.assertRaises(jwt.InvalidTokenError):
                        jwt.decode(tok, self.verify_key(alg, prefix), algorithms=[other],
                                   audience="mqtt.example.com",
                                   options={"verify_exp": False})

    def test_pyjwt_signs_tool_verifies(self):
        for alg in TOOL_KEYGEN:
            with self.subTest(alg=alg):
                prefix = self.make_key(alg)
                for use_jwks in (False, True):
                    # a PEM or secret file has no kid: a token with a kid
                    # finds no key there (docs/design.md, "Token rules");
                    # the JWKS has the kid
                    tok = jwt.encode({"sub": "device-2", "exp": TOOL_NOW + 300, "iat": TOOL_NOW - 5,
                                      "aud": ["x", "mqtt.example.com"], "roles": ["a", "b"]},
                                     self.signing_key(alg, prefix), algorithm=alg,
                                     headers={"kid": prefix + "-kid"} if use_jwks else None)
                    opts = self.verify_opts(alg, prefix, use_jwks)
                    r = self.ok("verify", *opts, "--audience", "mqtt.example.com",
                                "--now", TOOL_NOW, tok)
                    self.assertEqual(r.out.splitlines()[0], "valid")
                    self.assertIn("sub: device-2\n", r.out)
                    self.assertIn("exp: %d " % (TOOL_NOW + 300), r.out)
                    self.assertIn('roles: ["a", "b"]\n', r.out)
                    # the token on stdin
                    r = self.ok("verify", *opts, "--now", TOOL_NOW, "-", stdin=tok + "\n")
                    self.assertEqual(r.out.splitlines()[0], "valid")

                    # tampered: one signature bit, or a changed claim
                    for bad in (flip_signature(tok), change_payload(tok, sub="device-3")):
                        r = self.tool("verify", *opts, "--now", TOOL_NOW, bad)
                        self.assertEqual(r.rc, 1, r)
                        self.assertEqual(r.out, "refused: bad signature\n")

    def test_refusal_reasons_match_the_plugin_words(self):
        prefix = self.make_key("ES256")
        key = self.signing_key("ES256", prefix)
        pub = ["--key-file", self.path(prefix + ".jwks")]
        cases = [
            ({"sub": "d", "exp": TOOL_NOW - 31}, [], "expired"),
            ({"sub": "d", "exp": TOOL_NOW + 60, "nbf": TOOL_NOW + 100}, [], "not yet valid"),
            ({"sub": "d", "exp": TOOL_NOW + 60, "aud": "other"}, ["--audience", "mine"], "wrong audience"),
            ({"sub": "d", "exp": TOOL_NOW + 60, "iss": "eve"}, ["--issuer", "alice"], "wrong issuer"),
            ({"exp": TOOL_NOW + 60}, [], "missing required claim"),
            ({"sub": "a/#", "exp": TOOL_NOW + 60}, [], "bad sub"),
            ({"sub": "d", "exp": TOOL_NOW + 60}, ["--key-file", self.path("es384.jwks"),
                                             "--algorithms", "ES384"], "algorithm not allowed"),
        ]
        self.make_key("ES384")
        for claims, opts, reason in cases:
            with self.subTest(reason=reason):
                tok = jwt.encode(claims, key, algorithm="ES256", headers={"kid": prefix + "-kid"})
                r = self.tool("verify", *pub, *opts, "--now", TOOL_NOW, tok)
                self.assertEqual((r.rc, r.out), (1, "refused: %s\n" % reason), r)
        # a kid that no key has
        tok = jwt.encode({"sub": "d", "exp": TOOL_NOW + 60}, key, algorithm="ES256",
                         headers={"kid": "nobody"})
        r = self.tool("verify", *pub, "--now", TOOL_NOW, tok)
        self.assertEqual((r.rc, r.out), (1, "refused: unknown kid\n"), r)
        # alg none is never accepted, with or without a signature segment
        tok = jwt.encode({"sub": "d", "exp": TOOL_NOW + 60}, None, algorithm="none")
        for t in (tok, tok + b64u(b"x")):
            r = self.tool("verify", *pub, "--now", TOOL_NOW, t)
            self.assertEqual(r.rc, 1, r)
            self.assertIn(r.out, ("refused: algorithm not allowed\n", "refused: malformed token\n"))
        # alg confusion (RFC 8725 2.1): an HS256 token whose HMAC secret is
        # the broker's public key PEM must not verify against that key
        pem = self.read(prefix + ".pub.pem", "rb")
        head = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64u(json.dumps({"sub": "d", "exp": TOOL_NOW + 60}).encode())
        mac = hmac.new(pem, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
        forged = "%s.%s.%s" % (head, body, b64u(mac))
        for keyfile in (prefix + ".pub.pem", prefix + ".jwks"):
            r = self.tool("verify", "--key-file", self.path(keyfile), "--now", TOOL_NOW, forged)
            self.assertEqual((r.rc, r.out), (1, "refused: algorithm not allowed\n"), r)


if __name__ == "__main__":
    unittest.main()
