#!/usr/bin/python3
"""Signature checks on worker threads (option verify_threads, Mosquitto 2.1):
the broker with the plugin, ES256 tokens all distinct, verify_threads 1
against 0, in alternating rounds of one run, printed as Markdown tables with
ratios (docs/performance.md).

  workers_bench.py --plugin build/matrix-sid/plugin/mosquitto_jwt_auth.so \\
                   --load build/bench/bench/mqtt_load \\
                   --wrapper "scripts/broker-matrix.sh run sid" [--rounds 5]

1. CONNECT/CONNACK rate: --connects connections, --concurrency at a time
   (mqtt_load connect), one distinct ES256 token each.
2. Latency of an unrelated client: one client (an HS256 token) publishes a
   QoS 0 message to itself every --interval-us; the 99th percentile of its
   publish-to-receive latency while idle, and while --storm ES256 clients
   connect at once (mqtt_load connect --concurrency = --storm; samples sent
   between the storm's start and its end).
3. The floor of 2: the same storm with HS256 tokens all distinct (a check
   of a few microseconds) and verify_threads 0: what the broker's own work
   for 2,000 connections at once costs the unrelated client, whatever the
   plugin does with signatures.

Every figure is a median over --rounds rounds; ratios are medians of the
per-round ratios. A fresh broker per measurement (an empty token cache).
--wrapper runs the broker inside a chroot (scripts/broker-matrix.sh: the
same paths inside and out); --mosquitto names the broker there.
"""
import argparse
import json
import os
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_bench import conntrack_guard  # noqa: E402

NOW = int(time.time())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, args, work, name, threads):
        """threads None: no plugin at all, allow_anonymous true."""
        self.args = args
        self.port = free_port()
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            f.write("allow_anonymous %s\n" % ("true" if threads is None else "false"))
            f.write("log_dest file %s\n" % os.path.join(self.dir, "broker.log"))
            f.write("log_type error\nlog_type warning\n")
            f.write("max_keepalive 600\n")
            if threads is not None:
                f.write("plugin %s\n" % os.path.join(work, "plugin.so"))
                f.write("plugin_opt_key_file %s\n" % os.path.join(work, "ec.pem"))
                f.write("plugin_opt_secret_file %s\n" % os.path.join(work, "hs.secret"))
                f.write("plugin_opt_stats_interval 0\n")
                f.write("plugin_opt_verify_threads %d\n" % threads)
        subprocess.run(["chmod", "-R", "a+rX", work], check=True)
        self.conf = conf

    def __enter__(self):
        conntrack_guard()
        cmd = shlex.split(self.args.wrapper) + [self.args.mosquitto, "-c", self.conf]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("broker exited with %s" % self.proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("broker did not open its port")
                time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def run_load(load, args, timeout=600, nice=0):
    cmd = ([] if nice == 0 else ["nice", "-n", str(nice)]) + [load] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("mqtt_load %s failed: %s" % (args[0], out.stderr.strip()))
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_creds(path, pairs):
    with open(path, "w") as f:
        for user, pw in pairs:
            f.write("%s\t%s\n" % (user, pw))
    return path


def p99(values):
    v = sorted(values)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]


def latency(args, port, creds, seconds):
    return run_load(args.load, ["latency", "--port", str(port), "--seconds", str(seconds),
                                "--interval-us", str(args.interval_us), "--topic",
                                "bench/latency", "--creds", creds], nice=args.probe_nice)


def storm_latency(args, port, probe_creds, storm_creds):
    """The probe runs; --storm clients connect at once meanwhile. Returns
    (p99 of the samples sent during the storm, samples, storm seconds, ok)."""
    out = {}
    seconds = args.probe_seconds

    def probe():
        out["probe"] = latency(args, port, probe_creds, seconds)
    t = threading.Thread(target=probe)
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    r = run_load(args.load, ["connect", "--port", str(port), "--count", str(args.storm),
                             "--concurrency", str(args.storm), "--creds", storm_creds],
                 nice=args.storm_nice)
    t1 = time.monotonic()
    t.join()
    if r["ok"] != args.storm:
        raise RuntimeError("storm: %d of %d accepted (%s)" % (r["ok"], args.storm, r))
    lat = [l for (ts, l) in out["probe"]["samples"] if t0 <= ts <= t1]
    if t1 - t0 > seconds - 0.5:
        print("warning: the storm (%.1f s) outlasted the probe" % (t1 - t0), file=sys.stderr)
    return p99(lat), len(lat), t1 - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--wrapper", default="")
    ap.add_argument("--mosquitto", default="/usr/sbin/mosquitto")
    ap.add_argument("--connects", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--storm", type=int, default=2000)
    ap.add_argument("--interval-us", type=int, default=1000)
    ap.add_argument("--probe-seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--storm-nice", type=int, default=0,
                    help="run the storm's load generator at this nice value")
    ap.add_argument("--probe-nice", type=int, default=0,
                    help="run the latency probe at this nice value")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, 4 * args.storm + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    work = tempfile.mkdtemp(prefix="mja-wbench-")
    try:
        os.chmod(work, 0o755)
        shutil.copy(args.plugin, os.path.join(work, "plugin.so"))
        secret = b"bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
        with open(os.path.join(work, "hs.secret"), "wb") as f:
            f.write(secret)
        key = ec.generate_private_key(ec.SECP256R1())
        with open(os.path.join(work, "ec.pem"), "wb") as f:
            f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
        n = max(args.connects, args.storm)
        toks = [jwt.encode({"sub": "device-%05d" % i, "iat": NOW, "exp": NOW + 7200,
                            "jti": "%d" % i}, key, algorithm="ES256") for i in range(n)]
        creds = write_creds(os.path.join(work, "es.creds"),
                            [("device-%05d" % i, t) for i, t in enumerate(toks)])
        storm_creds = write_creds(os.path.join(work, "storm.creds"),
                                  [("device-%05d" % i, t) for i, t in
                                   enumerate(toks[:args.storm])])
        hs_storm_creds = write_creds(os.path.join(work, "hs-storm.creds"), [
            ("device-%05d" % i, jwt.encode({"sub": "device-%05d" % i, "iat": NOW,
                                            "exp": NOW + 7200, "jti": "%d" % i},
                                           secret, algorithm="HS256"))
            for i in range(args.storm)])
        anon_creds = write_creds(os.path.join(work, "anon.creds"), [("-", "-")])
        probe_creds = write_creds(os.path.join(work, "probe.creds"), [
            ("probe", jwt.encode({"sub": "probe", "exp": NOW + 7200}, secret, algorithm="HS256"))])

        rates = {0: [], 1: []}
        # "hs": verify_threads 0 and an HS256 storm; "anon": no plugin at all
        kinds = (0, 1, "hs", "anon")
        idle = {k: [] for k in kinds}
        busy = {k: [] for k in kinds}
        busy_n = {k: [] for k in kinds}
        storm_s = {k: [] for k in kinds}
        for rnd in range(args.rounds):
            order = (0, 1) if rnd % 2 == 0 else (1, 0)
            for vt in order:
                with Broker(args, work, "c%d-%d" % (rnd, vt), vt) as b:
                    r = run_load(args.load, ["connect", "--port", str(b.port), "--count",
                                             str(args.connects), "--concurrency",
                                             str(args.concurrency), "--creds", creds])
                    if r["ok"] != args.connects:
                        raise RuntimeError("verify_threads %d: %d of %d accepted (%s)"
                                           % (vt, r["ok"], args.connects, r))
                    rates[vt].append(r["rate"])
            for vt in order + ("hs", "anon"):
                threads = {"hs": 0, "anon": None}.get(vt, vt)
                pcreds = anon_creds if vt == "anon" else probe_creds
                screds = {"hs": hs_storm_creds, "anon": anon_creds}.get(vt, storm_creds)
                with Broker(args, work, "l%d-%s" % (rnd, vt), threads) as b:
                    idle_r = latency(args, b.port, pcreds, args.probe_seconds - 1.0)
                    idle[vt].append(p99([l for _t, l in idle_r["samples"]]))
                    pb, nb, sd = storm_latency(args, b.port, pcreds, screds)
                    busy[vt].append(pb)
                    busy_n[vt].append(nb)
                    storm_s[vt].append(sd)
            print("round %d: rate %.0f / %.0f connects/s; p99 idle %.2f / %.2f ms, storm "
                  "%.2f / %.2f ms (verify_threads 0 / 1), HS256 storm %.2f ms, no plugin "
                  "%.2f / %.2f ms" % (
                      rnd + 1, rates[0][-1], rates[1][-1], idle[0][-1] * 1e3, idle[1][-1] * 1e3,
                      busy[0][-1] * 1e3, busy[1][-1] * 1e3, busy["hs"][-1] * 1e3,
                      idle["anon"][-1] * 1e3, busy["anon"][-1] * 1e3),
                  file=sys.stderr)

        med = statistics.median
        print("## Mosquitto 2.1: signature checks on worker threads (ES256, tokens all distinct)\n")
        print("Rounds: %d, both settings in alternating order within each round; medians.\n"
              % args.rounds)
        print("| CONNECT/CONNACK rate (%d connections, %d at a time) | connects/s |"
              % (args.connects, args.concurrency))
        print("|---|---:|")
        print("| verify_threads 0 (on the broker's thread) | %.0f |" % med(rates[0]))
        print("| verify_threads 1 | %.0f |" % med(rates[1]))
        print("| **ratio 1 / 0** (median of per-round ratios) | **%.2f** |\n"
              % med([a / b for a, b in zip(rates[1], rates[0])]))
        print("| p99 publish-to-receive latency of an unrelated client | idle (ms) | while %d "
              "clients connect at once (ms) | storm / idle | storm (s) | samples in storm |"
              % args.storm)
        print("|---|---:|---:|---:|---:|---:|")
        for vt, name in ((0, "verify_threads 0"), (1, "verify_threads 1"),
                         ("hs", "floor: HS256 storm, verify_threads 0"),
                         ("anon", "floor: no plugin, allow_anonymous true")):
            print("| %s | %.2f | %.2f | **%.1f** | %.2f | %d |" % (
                name, med(idle[vt]) * 1e3, med(busy[vt]) * 1e3,
                med([b / i for b, i in zip(busy[vt], idle[vt])]), med(storm_s[vt]),
                med(busy_n[vt])))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
