"""attack.py - shared tools of the attack suite (test/attack/).

The attack suite runs hostile CONNECTs and sessions against the real broker
started by the end-to-end harness (test/e2e/harness.py, on PYTHONPATH). It
forges tokens byte by byte (any header or payload text, signed with the
broker's own demo keys or with an attacker's key) and speaks raw MQTT 3.1.1
so that passwords may hold any bytes, NUL included.

Checklist: RFC 8725 (JWT Best Current Practices) and the known JWT-library
CVEs (alg none, HS/RS key confusion, embedded jwk / jku key injection,
crit, kid injection, integer and type confusion in exp).
"""

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import harness as h
import mqtt5raw as raw

# Segments shorter than this are not searched for in the log: "e30" ({}) or
# an empty signature could match unrelated text by chance.
MIN_SEGMENT = 8

NOT_AUTHORIZED_311 = 5
NOT_AUTHORIZED_5 = (0x86, 0x87)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def js(obj):
    return json.dumps(obj, separators=(",", ":"))


def claims(sub="dev-1", ttl=300, **extra):
    """The payload the example broker accepts (iss, aud from its config)."""
    now = int(time.time())
    c = {"sub": sub, "iat": now, "exp": now + ttl}
    if h.EXAMPLE.get("issuer"):
        c["iss"] = h.EXAMPLE.words("issuer")[0]
    if h.EXAMPLE.get("audience"):
        c["aud"] = h.EXAMPLE.words("audience")[0]
    c.update(extra)
    return c


# --------------------------------------------------------------------------
# Keys

def demo_rsa():
    return serialization.load_pem_private_key(h.demo_key("RS256"), None)


def demo_rsa_public_pem():
    """The broker's RSA public key exactly as it sits in the key file."""
    return demo_rsa().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


_attacker = {}


def attacker_rsa():
    if "rsa" not in _attacker:
        _attacker["rsa"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _attacker["rsa"]


def attacker_rsa_jwk(kid=None):
    n = attacker_rsa().public_key().public_numbers()
    j = {"kty": "RSA", "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
         "e": b64(n.e.to_bytes(3, "big"))}
    if kid:
        j["kid"] = kid
    return j


def attacker_cert_der():
    """A self-signed certificate for the attacker's key (for x5c)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    import datetime
    k = attacker_rsa()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(k.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(k, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


# --------------------------------------------------------------------------
# Forging tokens

def sign(signing_input, alg, key):
    """Raw JWS signature (RFC 7515 / 7518) of signing_input (bytes).
    key: bytes for HS*, a cryptography private key otherwise."""
    if alg.startswith("HS"):
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
                  "HS512": hashlib.sha512}[alg]
        return hmac.new(key, signing_input, digest).digest()
    if alg.startswith("RS"):
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if alg.startswith("ES"):
        der = key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    raise ValueError(alg)


def forge(header, payload, alg="RS256", key=None, sig_alg=None):
    """A compact JWS from header and payload given as dicts, or as str/bytes
    (raw JSON text: duplicate names, odd numbers, invalid UTF-8...). Signed
    with key (default: the broker's demo RSA key) using sig_alg (default
    alg, or RS256 for a dict header without a usable alg)."""
    h_raw = js(header) if isinstance(header, dict) else header
    p_raw = js(payload) if isinstance(payload, dict) else payload
    signing_input = (b64(h_raw) + "." + b64(p_raw)).encode()
    if key is None:
        key = demo_rsa()
    sig = sign(signing_input, sig_alg or alg, key)
    return signing_input.decode() + "." + b64(sig)


def segments(token):
    """The token's segments worth searching for in a log."""
    if isinstance(token, bytes):
        token = token.decode("latin-1")
    return [s for s in token.split(".") if len(s) >= MIN_SEGMENT]


# --------------------------------------------------------------------------
# Raw MQTT 3.1.1: the test tree's one raw client (test/e2e/mqtt5raw.py)

def connack_311(host, port, client_id, username=None, password=None,
                timeout=h.CLIENT_TIMEOUT):
    """Send a raw 3.1.1 CONNECT (the password may be any bytes); return the
    CONNACK return code (None if the broker closed without one)."""
    return raw.connack_311(host, port, client_id, username, password, timeout)


# --------------------------------------------------------------------------
# Assertions

class AttackChecks:
    """Mixed into a harness.BrokerTestCase."""

    def assert_refused_logged(self, client_id, reasons, secret_texts=()):
        """A log line names client_id and one of reasons; nothing of
        secret_texts (token segments, unverified header values) is in the
        log."""
        reasons = reasons if isinstance(reasons, tuple) else (reasons,)

        def find():
            for line in self.broker.log().splitlines():
                if "jwt-auth:" in line and client_id in line and \
                        any(r in line for r in reasons):
                    return line
            return None
        line = h.wait_until(find, h.CLIENT_TIMEOUT)
        self.assertIsNotNone(line, "no jwt-auth log line for %s with a reason in %r\n%s"
                             % (client_id, reasons, self.tail()))
        self.assertIn("127.0.0.1", line, "refusal line lacks the address: " + line)
        self.assert_not_logged(secret_texts)
        return line

    def assert_not_logged(self, texts):
        log = self.broker.log()
        for t in texts:
            if isinstance(t, bytes):
                t = t.decode("utf-8", "replace")
            if t:
                self.assertNotIn(t, log, "unverified token data in the broker log")

    def refuse_311(self, name, password, reasons, username="attacker", extra_secrets=()):
        """Raw 3.1.1 CONNECT with password: CONNACK 5, a log line with the
        reason, no segment of the token (or extra_secrets) in the log."""
        cid = h.unique_id("atk-" + name)
        rc = connack_311(self.broker.host, self.broker.port, cid, username, password)
        self.assertEqual(rc, NOT_AUTHORIZED_311,
                         "%s: CONNACK %r, expected 5\n%s" % (name, rc, self.tail()))
        self.assert_refused_logged(cid, reasons, segments(password) + list(extra_secrets))
        return cid

    def refuse_ext(self, name, data, reasons):
        """MQTT 5 enhanced authentication (method "jwt") with data as the
        authentication data: binary with a length, so every byte reaches
        the plugin. Refused with 0x86/0x87 and a logged reason."""
        cid = h.unique_id("atkx-" + name)
        with raw.RawClient(self.broker.host, self.broker.port, timeout=h.CLIENT_TIMEOUT) as c:
            ack = c.connect(cid, auth_method="jwt",
                            auth_data=data.encode() if isinstance(data, str) else data)
        self.assertIsNotNone(ack, "%s: no CONNACK" % name)
        self.assertIn(ack.reason, NOT_AUTHORIZED_5, "%s: answered %r" % (name, ack))
        self.assert_refused_logged(cid, reasons, segments(data))
        return cid

    def refuse_5(self, name, password, reasons):
        """The same over MQTT 5 (reason 0x86 or 0x87)."""
        cid = h.unique_id("atk5-" + name)
        with raw.RawClient(self.broker.host, self.broker.port, timeout=h.CLIENT_TIMEOUT) as c:
            ack = c.connect(cid, username="attacker",
                            password=password.encode() if isinstance(password, str) else password)
        self.assertIsNotNone(ack, "%s: no CONNACK" % name)
        self.assertIn(ack.reason, NOT_AUTHORIZED_5, "%s: CONNACK 0x%x" % (name, ack.reason))
        self.assert_refused_logged(cid, reasons, segments(password))
        return cid
