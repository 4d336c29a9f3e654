#!/usr/bin/python3
"""Instructions per CONNECT in the broker, counted by callgrind (docs/performance.md).

  connect_cost.py --plugin build/prof/plugin/mosquitto_jwt_auth.so --load build/prof/bench/mqtt_load
                  [--connects 3000] [--concurrency 4] [--alg HS256] [--keep DIR]

Runs Debian's Mosquitto under `valgrind --tool=callgrind` twice: once with
`allow_anonymous true` and no plugin, once with the plugin and one distinct
token per connection. The counters are zeroed once the broker listens
(`callgrind_control -z`), mqtt_load makes the connects (CONNECT, CONNACK,
DISCONNECT), then the counters are dumped (`callgrind_control -d`) before the
broker is stopped, so start-up and shutdown are not counted. Prints the
instructions per connect of both runs and their difference: the plugin's own
cost per CONNECT. Instruction counts do not depend on the machine's load.
--keep DIR keeps the callgrind profiles there (for callgrind_annotate).
"""
import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUD = "bench.example.com"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("broker exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("broker did not open port %d" % port)


def total_ir(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in %s" % path)


def measure(work, name, conf_lines, creds, load, connects, concurrency, keep):
    d = os.path.join(work, name)
    os.makedirs(d)
    port = free_port()
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\n" % port)
        f.write("log_dest file %s\n" % os.path.join(d, "broker.log"))
        f.write("log_type error\nlog_type warning\n")
        if os.geteuid() == 0:
            # Stay the user that started valgrind: callgrind_control talks to
            # the process through FIFOs made before a privilege drop would be.
            f.write("user root\n")
        for line in conf_lines:
            f.write(line + "\n")
    cf = os.path.join(d, "creds")
    with open(cf, "w") as f:
        for user, pw in creds:
            f.write("%s\t%s\n" % (user or "-", pw or "-"))
    subprocess.run(["chmod", "-R", "a+rX", work], check=True)
    out = os.path.join(d, "callgrind.out")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                             "/usr/sbin/mosquitto", "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "valgrind.log"), "w"))
    try:
        wait_port(port, proc)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        r = subprocess.run([load, "connect", "--port", str(port), "--count", str(connects),
                            "--concurrency", str(concurrency), "--creds", cf],
                           capture_output=True, text=True, timeout=3600)
        if r.returncode != 0 or '"ok":%d,' % connects not in r.stdout:
            raise RuntimeError("%s: mqtt_load: %s %s" % (name, r.stdout.strip(), r.stderr.strip()))
        time.sleep(1.0)  # let the broker finish the last DISCONNECTs
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.terminate()
        proc.wait(120)
    dumps = sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]) if p.rsplit(".", 1)[1].isdigit() else 0)
    dumps = [p for p in dumps if p.rsplit(".", 1)[1].isdigit()]
    if not dumps:
        raise RuntimeError("%s: no callgrind dump" % name)
    ir = total_ir(dumps[0])
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(dumps[0], os.path.join(keep, "callgrind.%s" % name))
    return ir


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--connects", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--alg", default="HS256", choices=["HS256", "RS256", "ES256"])
    ap.add_argument("--keep")
    args = ap.parse_args()

    now = int(time.time())
    work = tempfile.mkdtemp(prefix="mja-cost-")
    try:
        os.chmod(work, 0o755)
        plugin = ["plugin " + os.path.abspath(args.plugin), "plugin_opt_audience " + AUD]
        if args.alg == "HS256":
            key = b"bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
            with open(os.path.join(work, "hs.secret"), "wb") as f:
                f.write(key)
            plugin.append("plugin_opt_secret_file " + os.path.join(work, "hs.secret"))
        else:
            key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if args.alg == "RS256"
                   else ec.generate_private_key(ec.SECP256R1()))
            with open(os.path.join(work, "pub.pem"), "wb") as f:
                f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
            plugin.append("plugin_opt_key_file " + os.path.join(work, "pub.pem"))
        toks = [jwt.encode({"sub": "device-%05d" % i, "aud": AUD, "iat": now, "exp": now + 3600,
                            "jti": "%d" % i}, key, algorithm=args.alg) for i in range(args.connects)]
        n = args.connects
        anon = measure(work, "anonymous", ["allow_anonymous true"], [(None, None)],
                       args.load, n, args.concurrency, args.keep)
        plug = measure(work, "plugin", plugin, [("bench", t) for t in toks],
                       args.load, n, args.concurrency, args.keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("## Instructions per CONNECT/DISCONNECT in the broker (callgrind, %s, %d connects, %d at a time)\n"
          % (args.alg, n, args.concurrency))
    print("| configuration | instructions per connect |")
    print("|---|---:|")
    print("| allow_anonymous true, no plugin | %.0f |" % (anon / n))
    print("| plugin, %s, distinct tokens | %.0f |" % (args.alg, plug / n))
    print("| the plugin's own cost | %.0f |" % ((plug - anon) / n))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
