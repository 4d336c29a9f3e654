#!/usr/bin/python3
"""A/B benchmark of the CONNECT path: the CONNECT/CONNACK rate of two builds
of the plugin (e.g. before and after a change) with HS256 tokens, one distinct
token per connection, in alternating rounds on the same machine so that load
from other processes hits both alike. Prints each round and the median ratio
B / A with its range.

  connect_ab.py --a OLD.so --b NEW.so --load build/bench/mqtt_load
                [--connects 3000] [--rounds 7] [--opt KEY=VALUE ...]

--opt adds a plugin option to both (e.g. stats_interval=1).
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_bench import AUD, Broker, run_load, tokens, write_creds  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--connects", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--opt", action="append", default=[])
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mja-ab-")
    try:
        os.chmod(work, 0o755)
        secret = b"bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
        with open(os.path.join(work, "hs.secret"), "wb") as f:
            f.write(secret)
        creds = write_creds(os.path.join(work, "creds"),
                            [("bench", t) for t in tokens("HS256", secret, args.connects, True)])
        extra = ["plugin_opt_%s %s" % tuple(o.split("=", 1)) for o in args.opt]
        confs = {}
        for name, so in (("A", args.a), ("B", args.b)):
            confs[name] = ["plugin " + os.path.abspath(so), "plugin_opt_audience " + AUD,
                           "plugin_opt_secret_file " + os.path.join(work, "hs.secret")] + extra
        rates = {"A": [], "B": []}
        ratios = []
        for r in range(args.rounds):
            order = ("A", "B") if r % 2 == 0 else ("B", "A")
            got = {}
            for name in order:
                with Broker(work, "%s%d" % (name, r), confs[name]) as b:
                    res = run_load(args.load, ["connect", "--port", str(b.port), "--count",
                                               str(args.connects), "--concurrency",
                                               str(args.concurrency), "--creds", creds])
                    if res["ok"] != args.connects:
                        raise RuntimeError("%s: %d of %d accepted" % (name, res["ok"], args.connects))
                    got[name] = res["rate"]
                    rates[name].append(res["rate"])
            ratios.append(got["B"] / got["A"])
            print("round %d: A %.0f/s, B %.0f/s, B/A %.3f" % (r + 1, got["A"], got["B"], ratios[-1]),
                  file=sys.stderr)
        print("| build | CONNECT/s (median of %d rounds, %d connects each) |" % (args.rounds, args.connects))
        print("|---|---:|")
        print("| A %s | %.0f |" % (args.a, statistics.median(rates["A"])))
        print("| B %s | %.0f |" % (args.b, statistics.median(rates["B"])))
        print("\nB / A per round: median %.3f, min %.3f, max %.3f"
              % (statistics.median(ratios), min(ratios), max(ratios)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
