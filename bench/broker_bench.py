#!/usr/bin/python3
"""Broker benchmark: Debian's real Mosquitto on 127.0.0.1, loaded by
mqtt_load (libmosquitto, non-blocking), every configuration in the same
run, reported as a table with ratios (docs/performance.md).

  broker_bench.py --plugin build/plugin/mosquitto_jwt_auth.so --load build/bench/mqtt_load
                  [--connects 5000] [--messages 200000] [--repeat 3] [--no-publish]

Configurations: allow_anonymous true; Mosquitto's password_file; the plugin
with HS256, RS256 and ES256 tokens (one distinct token per connection, so
every CONNECT verifies a new signature); RS256 and ES256 with the same token
for every connection (the verified-token cache); the plugin with the ACL file
for publish throughput. CONNECT rates: --repeat rounds, each running every
configuration once in an order rotated from round to round; rates are medians
of the rounds, ratios medians of the per-round ratios. Publish throughput: a
median of --repeat runs of each configuration.
"""
import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

NOW = int(time.time())
AUD = "bench.example.com"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("broker exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("broker did not open port %d" % port)


CONNTRACK = "/proc/sys/net/netfilter/nf_conntrack_"


def conntrack_guard(limit=0.5, timeout=150.0):
    """Where netfilter tracks loopback connections (its NAT rules are loaded, as
    Podman's are), every connection of a run stays in the tracking table for
    minutes after it closes; once the table is full the kernel drops new SYNs
    and a run stalls on 1 s, 3 s... retransmits ("nf_conntrack: table full" in
    the kernel log), a measurement of the firewall, not of the broker. So before
    each measurement: wait while the table is more than `limit` full, up to
    `timeout` seconds, saying so on stderr. Nothing to do where it is not loaded."""
    try:
        with open(CONNTRACK + "max") as f:
            cap = int(f.read())
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + timeout
    said = False
    while True:
        try:
            with open(CONNTRACK + "count") as f:
                count = int(f.read())
        except (OSError, ValueError):
            return
        if count <= limit * cap:
            if said:
                print("conntrack: %d of %d, measuring" % (count, cap), file=sys.stderr)
            return
        if time.monotonic() > deadline:
            print("warning: the connection-tracking table is still %d of %d full: this "
                  "measurement may include dropped SYNs" % (count, cap), file=sys.stderr)
            return
        if not said:
            print("conntrack: %d of %d entries in use, waiting for them to expire"
                  % (count, cap), file=sys.stderr)
            said = True
        time.sleep(2)


class Broker:
    def __init__(self, workdir, name, conf_lines):
        self.port = free_port()
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            f.write("log_dest file %s\n" % os.path.join(self.dir, "broker.log"))
            f.write("log_type error\nlog_type warning\n")
            f.write("max_keepalive 600\n")
            for line in conf_lines:
                f.write(line + "\n")
        subprocess.run(["chmod", "-R", "a+rX", workdir], check=True)

    def __enter__(self):
        conntrack_guard()
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def log_tail(broker, n=5):
    try:
        with open(os.path.join(broker.dir, "broker.log")) as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def write_creds(path, pairs):
    with open(path, "w") as f:
        for user, pw in pairs:
            f.write("%s\t%s\n" % (user or "-", pw or "-"))
    return path


def run_load(load, args):
    out = subprocess.run([load] + args, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("mqtt_load %s failed: %s" % (" ".join(args[:1]), out.stderr.strip()))
    return json.loads(out.stdout.strip().splitlines()[-1])


def tokens(alg, key, n, distinct):
    toks = []
    for i in range(n if distinct else 1):
        claims = {"sub": "device-%05d" % (i % 100000), "aud": AUD, "iat": NOW,
                  "exp": NOW + 3600, "jti": "%d" % i}
        toks.append(jwt.encode(claims, key, algorithm=alg))
    return toks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--connects", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--messages", type=int, default=200000)
    ap.add_argument("--repeat", type=int, default=3, help="rounds")
    ap.add_argument("--no-publish", action="store_true", help="the CONNECT rates only")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="mja-bench-")
    try:
        os.chmod(work, 0o755)
        secret = b"bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
        with open(os.path.join(work, "hs.secret"), "wb") as f:
            f.write(secret)
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ec_key = ec.generate_private_key(ec.SECP256R1())
        for name, k in (("rsa.pem", rsa_key), ("ec.pem", ec_key)):
            with open(os.path.join(work, name), "wb") as f:
                f.write(k.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
        with open(os.path.join(work, "acl.conf"), "w") as f:
            f.write("pattern read fleet/broadcast/#\npattern readwrite devices/%s/#\n")
            for i in range(1000):
                f.write("sub device-%05d\ntopic write telemetry/%05d/#\n" % (i, i))
            f.write("sub bench-*\ntopic readwrite bench/#\n")
        pwfile = os.path.join(work, "passwd")
        subprocess.run(["mosquitto_passwd", "-b", "-c", pwfile, "bench", "bench-password"],
                       check=True, capture_output=True)

        plugin = ["plugin " + os.path.abspath(args.plugin),
                  "plugin_opt_audience " + AUD]
        hs = plugin + ["plugin_opt_secret_file " + os.path.join(work, "hs.secret")]
        rs = plugin + ["plugin_opt_key_file " + os.path.join(work, "rsa.pem")]
        es = plugin + ["plugin_opt_key_file " + os.path.join(work, "ec.pem")]
        n = args.connects
        confs = [
            ("allow_anonymous true", ["allow_anonymous true"], [(None, None)]),
            ("password_file", ["allow_anonymous false", "password_file " + pwfile],
             [("bench", "bench-password")]),
            ("plugin HS256", hs, [("bench", t) for t in tokens("HS256", secret, n, True)]),
            ("plugin RS256", rs, [("bench", t) for t in tokens("RS256", rsa_key, n, True)]),
            ("plugin ES256", es, [("bench", t) for t in tokens("ES256", ec_key, n, True)]),
            ("plugin RS256, same token", rs, [("bench", t) for t in tokens("RS256", rsa_key, n, False)]),
            ("plugin ES256, same token", es, [("bench", t) for t in tokens("ES256", ec_key, n, False)]),
            ("plugin RS256, same token, token_cache_size 0", rs + ["plugin_opt_token_cache_size 0"],
             [("bench", t) for t in tokens("RS256", rsa_key, n, False)]),
            ("plugin ES256, same token, token_cache_size 0", es + ["plugin_opt_token_cache_size 0"],
             [("bench", t) for t in tokens("ES256", ec_key, n, False)]),
        ]
        # Rounds: every configuration once per round, in an order rotated each round, so
        # that a slow spell of the machine hits every configuration alike; a ratio is the
        # median of the per-round ratios.
        credfiles = [write_creds(os.path.join(work, "creds-%d" % i), cred)
                     for i, (_, _, cred) in enumerate(confs)]
        rates = {name: [] for name, _, _ in confs}
        for rnd in range(args.repeat):
            k = rnd % len(confs)
            for i in list(range(k, len(confs))) + list(range(k)):
                name, conf, _ = confs[i]
                with Broker(work, "b%d-%d" % (i, rnd), conf) as b:
                    r = run_load(args.load, ["connect", "--port", str(b.port), "--count", str(n),
                                             "--concurrency", str(args.concurrency), "--creds",
                                             credfiles[i]])
                    if r["ok"] != n:
                        raise RuntimeError("%s: only %d of %d connects accepted (%s)\n%s"
                                           % (name, r["ok"], n, r, log_tail(b)))
                    rates[name].append(r["rate"])
            print("round %d: %s" % (rnd + 1, ", ".join("%s %.0f" % (name, rates[name][-1])
                                                      for name, _, _ in confs)), file=sys.stderr)

        def ratio(name, to):
            return statistics.median([a / b for a, b in zip(rates[name], rates[to])])

        anon, pw = "allow_anonymous true", "password_file"
        print("## Broker: CONNECT/CONNACK rate (%d connections, %d at a time, %d interleaved "
              "rounds)\n" % (n, args.concurrency, args.repeat))
        print("Rates are medians of the rounds; ratios are medians of the per-round ratios "
              "(with their range).\n")
        print("| configuration | connects/s | ratio to allow_anonymous | ratio to password_file |")
        print("|---|---:|---:|---:|")
        for name, _, _ in confs:
            ra = [a / b for a, b in zip(rates[name], rates[anon])]
            rp = [a / b for a, b in zip(rates[name], rates[pw])]
            print("| %s | %.0f | %.3f (%.2f-%.2f) | %.3f (%.2f-%.2f) |" % (
                name, statistics.median(rates[name]), ratio(name, anon), min(ra), max(ra),
                ratio(name, pw), min(rp), max(rp)))

        if args.no_publish:
            return
        # QoS 0 publish throughput
        pub_confs = [
            ("no auth plugin (allow_anonymous true)", ["allow_anonymous true"], [(None, None)]),
            ("plugin HS256 + ACL file", hs + ["plugin_opt_acl_file " + os.path.join(work, "acl.conf")],
             [("bench-pub", jwt.encode({"sub": "bench-pub", "aud": AUD, "exp": NOW + 3600}, secret, "HS256")),
              ("bench-sub", jwt.encode({"sub": "bench-sub", "aud": AUD, "exp": NOW + 3600}, secret, "HS256"))]),
        ]
        pres = {}
        for name, conf, cred in pub_confs:
            cf = write_creds(os.path.join(work, "pcreds-%d" % len(pres)), cred)
            rates = []
            for _ in range(args.repeat):
                with Broker(work, "p%d" % len(pres), conf) as b:
                    r = run_load(args.load, ["publish", "--port", str(b.port), "--messages",
                                             str(args.messages), "--size", "64", "--topic",
                                             "bench/room-1/temp", "--filter", "bench/+/temp",
                                             "--creds", cf])
                    if r["received"] != r["sent"]:
                        raise RuntimeError("%s: %d of %d messages received" % (name, r["received"], r["sent"]))
                    rates.append(r["rate"])
            pres[name] = statistics.median(rates)
            print("measured %-40s %10.0f msg/s" % (name, pres[name]), file=sys.stderr)
        pbase = pres[pub_confs[0][0]]
        print("\n## Broker: QoS 0 publish throughput (%d messages of 64 bytes, median of %d)\n"
              % (args.messages, args.repeat))
        print("| configuration | messages/s | ratio to no plugin |")
        print("|---|---:|---:|")
        for name, _, _ in pub_confs:
            print("| %s | %.0f | %.3f |" % (name, pres[name], pres[name] / pbase))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
