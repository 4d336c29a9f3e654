#!/usr/bin/python3
"""Regenerate the fuzzers' fixed keyset (fuzz/keys/public.jwks) and seed
corpora (fuzz/corpus/<harness>/) from the test-only keys in fuzz/keys.

The keys in fuzz/keys are throwaway fixtures for fuzzing; they protect
nothing. Seeds are small and each shows one meaningful shape of input, so
that libFuzzer starts from the interesting parts of each parser. Tokens are
valid at the harness's fixed clock MJA_FUZZ_NOW (fuzz/fuzz_common.h).

Run with Debian's python (python3-jwt, python3-cryptography):
    /usr/bin/python3 fuzz/make_corpus.py
"""
import base64
import hashlib
import json
import os
import shutil

import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from cryptography.hazmat.primitives import serialization

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "keys")
CORPUS = os.path.join(HERE, "corpus")
NOW = 1700000000  # keep equal to MJA_FUZZ_NOW in fuzz_common.h


def read(name, mode="r"):
    with open(os.path.join(KEYS, name), mode) as f:
        return f.read()


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def js(obj, ensure_ascii=True):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ensure_ascii)


def seg(obj):
    return b64(js(obj))


def load_private(name):
    return serialization.load_pem_private_key(read(name, "rb"), None)


def write_corpus(harness, seeds):
    d = os.path.join(CORPUS, harness)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds.items():
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def jwk_of(alg_cls, key, **extra):
    j = json.loads(alg_cls.to_jwk(key.public_key()))
    j.update(extra)
    return j


def main():
    secret = read("hs.secret", "rb")
    rsa = load_private("rsa-private.pem")
    ec = load_private("ec-private.pem")
    ed = load_private("ed25519-private.pem")

    rsa_jwk = jwk_of(RSAAlgorithm, rsa, kid="rsa-1", use="sig")
    ec_jwk = jwk_of(ECAlgorithm, ec, kid="ec-1", alg="ES256")
    ed_jwk = jwk_of(OKPAlgorithm, ed, kid="ed-1", alg="EdDSA")
    jwks = {"keys": [rsa_jwk, ec_jwk, ed_jwk]}
    with open(os.path.join(KEYS, "public.jwks"), "w") as f:
        json.dump(jwks, f, indent=1)
        f.write("\n")

    claims = {"sub": "device-1", "iss": "https://issuer.example",
              "aud": "mqtt.example.com", "iat": NOW - 60, "exp": NOW + 3600,
              "roles": ["operator"]}
    tok = {}
    for alg in ("HS256", "HS384", "HS512"):
        tok[alg] = jwt.encode(claims, secret, alg, headers={"kid": "hs-1"})
    for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
        tok[alg] = jwt.encode(claims, rsa, alg, headers={"kid": "rsa-1"})
    tok["ES256"] = jwt.encode(claims, ec, "ES256", headers={"kid": "ec-1"})
    tok["EdDSA"] = jwt.encode(claims, ed, "EdDSA", headers={"kid": "ed-1"})
    tok["RS256-nokid"] = jwt.encode(claims, rsa, "RS256")

    hs_hdr = {"alg": "HS256", "typ": "JWT", "kid": "hs-1"}
    token_seeds = {"valid-" + k.lower(): v for k, v in tok.items()}
    # One dot: the harness signs "header.payload" with the HS secret itself,
    # so the payload and claim checks behind the signature get fuzzed too.
    token_seeds.update({
        "signme-basic": seg(hs_hdr) + "." + seg(claims),
        "signme-aud-array": seg(hs_hdr) + "." + seg(dict(claims, aud=["x", "mqtt.example.com"])),
        "signme-exp-float": seg(hs_hdr) + "." + seg(dict(claims, exp=NOW + 0.5)),
        "signme-exp-string": seg(hs_hdr) + "." + seg(dict(claims, exp=str(NOW + 60))),
        "signme-exp-huge": seg(hs_hdr) + "." + b64('{"sub":"a","exp":1e400,"iat":-9223372036854775809}'),
        "signme-dup-sub": seg(hs_hdr) + "." + b64('{"sub":"a","sub":"b","exp":1700003600}'),
        "signme-sub-wild": seg(hs_hdr) + "." + seg(dict(claims, sub="a/+/#")),
        "signme-sub-nul": seg(hs_hdr) + "." + b64(b'{"sub":"a\\u0000b","exp":1700003600}'),
        "signme-typ-at": seg(dict(hs_hdr, typ="at+JWT")) + "." + seg(claims),
        "signme-nested": seg(hs_hdr) + "." + b64('{"sub":"a","exp":1700003600,"x":' + "[" * 64 + "]" * 64 + "}"),
        "signme-realm-roles": seg(hs_hdr) + "." + seg(dict(claims, realm_access={"roles": ["a", 1, None]})),
        # Attacks: alg none, crit, key-bearing headers, odd kids.
        "none": seg({"alg": "none"}) + "." + seg(claims) + ".",
        "none-case": seg({"alg": "nOnE"}) + "." + seg(claims) + ".",
        "crit": seg({"alg": "HS256", "crit": ["exp"], "exp": 1}) + "." + seg(claims) + ".AAAA",
        "jwk-header": seg({"alg": "RS256", "jwk": rsa_jwk}) + "." + seg(claims) + ".AAAA",
        "jku": seg({"alg": "RS256", "jku": "http://127.0.0.1/k", "x5u": "x", "x5c": ["AAAA"]}) + "." + seg(claims) + ".AAAA",
        "kid-path": seg({"alg": "HS256", "kid": "../../etc/passwd"}) + "." + seg(claims) + ".AAAA",
        "kid-nonstring": seg({"alg": "HS256", "kid": 7}) + "." + seg(claims) + ".AAAA",
        "dup-alg": b64('{"alg":"none","alg":"HS256"}') + "." + seg(claims) + ".AAAA",
        "es256-short-sig": tok["ES256"].rsplit(".", 1)[0] + "." + b64(b"\x01" * 63),
        "padding": tok["HS256"] + "==",
    })
    # Starting with '{': "header JSON\0payload JSON", encoded and signed by
    # the harness, so mutations work on the JSON text directly.
    hs_json = js(hs_hdr)
    json_payloads = {
        "basic": js(claims),
        "aud-array": js(dict(claims, aud=["other", "mqtt.example.com"])),
        "realm-roles": js(dict(claims, realm_access={"roles": ["operator", 7, "x"]})),
        "role-string": js(dict(claims, roles="operator")),
        "sub-utf8": js(dict(claims, sub="d\u00ebvice-\u2713-\U0001f600"), ensure_ascii=False),
        "sub-bad-utf8": b'{"sub":"dev\xc3\x28","exp":1700003600}',
        "sub-surrogate": '{"sub":"\\ud83d\\ude00","exp":1700003600}',
        "exp-float": js(dict(claims, exp=NOW + 0.25)),
        "exp-edge": js(dict(claims, exp=NOW - 30)),
        "nbf-iat": js(dict(claims, nbf=NOW + 29, iat=NOW + 31)),
        "max-age": js(dict(claims, iat=NOW - 7300, exp=NOW + 10)),
        "dup": '{"sub":"a","exp":1700003600,"exp":1}',
        "big-ints": '{"sub":"a","exp":9223372036854775807,"nbf":-9223372036854775808,"iat":1e18}',
        "iss-array": js(dict(claims, iss=["https://issuer.example"])),
    }
    for name, p in json_payloads.items():
        raw = p if isinstance(p, bytes) else p.encode()
        token_seeds["json-" + name] = hs_json.encode() + b"\0" + raw
    token_seeds["json-typ-at"] = js(dict(hs_hdr, typ="AT+JWT")).encode() + b"\0" + js(claims).encode()
    token_seeds["json-hdr-crit"] = js(dict(hs_hdr, crit=["x"])).encode() + b"\0" + js(claims).encode()
    token_seeds["json-hdr-nokid"] = js({"alg": "HS256"}).encode() + b"\0" + js(claims).encode()
    write_corpus("fuzz_token", token_seeds)

    def pem_public(k):
        return k.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)

    jwk_seeds = {
        "jwks": json.dumps(jwks),
        "jwk-rsa": json.dumps(rsa_jwk),
        "jwk-ec": json.dumps(ec_jwk),
        "jwk-okp": json.dumps(ed_jwk),
        "jwk-oct": json.dumps({"kty": "oct", "kid": "hs-1", "alg": "HS256", "k": b64(secret)}),
        "jwk-ops": json.dumps(dict(rsa_jwk, key_ops=["verify"], use="enc")),
        "jwk-private": json.dumps(dict(ec_jwk, d="AAAA")),
        "jwk-unknown-kty": json.dumps({"keys": [{"kty": "XYZ"}]}),
        "jwk-bad-curve": json.dumps(dict(ec_jwk, crv="P-384")),
        "pem-rsa": pem_public(rsa),
        "pem-rsa-pkcs1": read("rsa-public-pkcs1.pem"),
        "pem-ec": pem_public(ec),
        "pem-ed25519": pem_public(ed),
        "pem-cert": read("rsa-cert.pem"),
        "pem-private": read("ec-private.pem"),
    }
    write_corpus("fuzz_jwk", jwk_seeds)

    spec_acl = (
        "# rules for every token client\n"
        "pattern read      fleet/broadcast/#\n"
        "pattern readwrite devices/%s/#\n"
        "pattern write     clients/%c/out\n"
        "pattern read      users/%u/in\n\n"
        "sub gateway-7\n"
        "topic read  devices/+/telemetry\n"
        "topic write commands/#\n\n"
        "sub sensor-*\n"
        "topic readwrite sensors/%s/+\n\n"
        "role operator\n"
        "topic read #\n"
        "topic deny  secrets/#\n"
        "topic read $SYS/broker/#\n")
    # After "\0\0": NUL-separated sub, client id, username, then topics.
    acl_seeds = {
        "spec": spec_acl,
        "spec-who": spec_acl + "\0\0sensor-9\0+\0u/x\0sensors/sensor-9/t\0devices/#\0$share/g/secrets/a",
        "escape": spec_acl + "\0\0a/#\0+\0#\0devices/a/#/x\0devices/+/x\0clients/+/out",
        "deny-overlap": "pattern read a/#\npattern deny a/b/+\n\0\0s\0c\0u\0a/#\0a/c\0a/b/c",
        "percent": "pattern read x/%%/%s/%c/%u\n\0\0s\0c\0u\0x/%/s/c/u",
        "bad-line": "pattern frob a\n",
        "crlf": "sub a\r\ntopic read b\r\n",
    }
    write_corpus("fuzz_acl", acl_seeds)

    # acl claim: JSON value, optionally \0\0 then sub, client id, username, topics
    v2 = js([
        {"permission": "deny", "action": "all", "topic": "devices/${clientid}/secret/#"},
        {"permission": "allow", "action": "publish", "topic": "devices/${sub}/#", "qos": [0, 1],
         "retain": False},
        {"permission": "allow", "action": "sub", "topics": ["in/${username}/+", "eq fleet/#"],
         "qos": 2},
        {"permission": "deny", "action": "pub", "topic": "#", "retain": True},
        {"permission": "allow", "action": "all", "topic": "$SYS/broker/#", "retain": "all"},
    ])
    aclclaim_seeds = {
        "v1": js({"pub": ["up/${clientid}"], "sub": ["down/#", "eq x/+"], "all": ["${sub}/#"]}),
        "v1-who": js({"all": ["a/${clientid}/${username}-x", "#"]}) +
        "\0\0s\0c\0u\0a/c/u-x\0a/+/u-x\0$SYS/x\0a/#",
        "v2": v2,
        "v2-who": v2 + "\0\0dev\0dev\0+\0devices/dev/secret/k\0in/+/x\0fleet/#\0fleet/a",
        "v2-qos-pieces": js([
            {"permission": "deny", "action": "sub", "topic": "q/#", "qos": [0, 2]},
            {"permission": "deny", "action": "sub", "topic": "q/x", "qos": 1},
            {"permission": "allow", "action": "sub", "topic": "eq q/+"}]),
        "empty-array": "[]",
        "empty-object": "{}",
        "bad-type": "\"acl\"",
        "bad-qos": js([{"permission": "allow", "action": "all", "topic": "a", "qos": 3}]),
        "bad-member": js({"pub": ["a"], "publish": ["b"]}),
        "bad-placeholder": js([{"permission": "allow", "action": "all", "topic": "a/${peerhost}"}]),
    }
    write_corpus("fuzz_aclclaim", aclclaim_seeds)

    # filter NUL topic-or-filter
    topic_pairs = [
        ("sensors/+/data", "sensors/x/data"), ("sensors/+/data", "sensors/#"),
        ("#", "$SYS/broker/load"), ("$SYS/#", "$SYS/broker"), ("a/#", "a"),
        ("+/+", "/x"), ("a//b", "a/+/b"), ("$share/g/a/+", "a/b"),
        ("$share//a", "a"), ("a/b#", "a/b"), ("+", ""), ("a/+/#", "+/b/c/d"),
    ]
    write_corpus("fuzz_topic", {"pair-%02d" % i: a + "\0" + b
                                for i, (a, b) in enumerate(topic_pairs)})

    write_corpus("fuzz_b64url", {
        "empty": "", "one": "QQ", "two": "QUI", "three": "QUJD",
        "urlchars": "-_-_", "noncanon": "QR", "pad": "QQ==", "std": "+/+/",
        "ws": "QU JD", "len1": "Q",
        "header": tok["HS256"].split(".")[0],
        "sig": tok["RS256"].split(".")[2],
    })


if __name__ == "__main__":
    main()
