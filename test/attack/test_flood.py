"""10,000 CONNECTs with bad tokens in a row: each one refused with
"not authorized" and a logged reason, in bounded time, with no token data
in the log; afterwards a good client still connects, publishes and
receives, and the broker's resident memory has stayed flat.

The flood uses raw MQTT 3.1.1 sockets from a few threads (the broker is
single-threaded; parallel connections only keep its queue full). The bad
tokens cycle through the refusal paths that allocate: a tampered RS256
and ES256 signature (full verification), an unknown kid, alg none, a
duplicate-name header, an oversized token and broken base64url."""

import os
import queue
import threading
import time
import unittest

import attack as a
import harness as h

FLOOD = int(os.environ.get("MJA_FLOOD_CONNECTS", "10000"))
WARMUP = 1000
THREADS = 6
TIME_LIMIT = 180          # seconds for the whole flood
RSS_GROWTH_LIMIT_KB = 4096


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def bad_tokens():
    good_rs = h.mint("dev-1", alg="RS256")
    good_es = h.mint("dev-1", alg="ES256")
    c = a.claims()
    limit = int(h.EXAMPLE.get("max_token_bytes", "8192"))
    return [
        ("bad signature", h.tamper_signature(good_rs)),
        ("bad signature", h.tamper_signature(good_es)),
        ("unknown kid", a.forge({"alg": "RS256", "kid": "no-such-kid"}, c)),
        ("algorithm not allowed", a.forge({"alg": "none"}, c, sig_alg="RS256")),
        ("bad header", a.forge('{"alg":"RS256","alg":"RS256"}', c, sig_alg="RS256")),
        ("token too long", h.mint("dev-1", claims={"pad": "p" * limit})),
        ("malformed token", good_rs[:-1] + "B" if good_rs[-1] != "B" else good_rs[:-1] + "C"),
    ]


@h.skip_if_external("the attack suite needs its own broker, options and log")
class Flood(h.BrokerTestCase, a.AttackChecks):
    broker_kwargs = {"extra": {"non_jwt": "deny"}}

    def flood(self, n, tokens, prefix):
        """n CONNECTs from THREADS threads; returns the list of unexpected
        CONNACK codes (empty when every one was refused with 5)."""
        jobs = queue.Queue()
        for i in range(n):
            jobs.put(i)
        bad = []
        lock = threading.Lock()

        def worker():
            while True:
                try:
                    i = jobs.get_nowait()
                except queue.Empty:
                    return
                _, tok = tokens[i % len(tokens)]
                try:
                    rc = a.connack_311(self.broker.host, self.broker.port,
                                       "%s-%d" % (prefix, i), "attacker", tok)
                except OSError as e:
                    rc = "error %s" % e
                if rc != a.NOT_AUTHORIZED_311:
                    with lock:
                        bad.append((i, rc))
        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIME_LIMIT)
        self.assertFalse(any(t.is_alive() for t in threads), "flood did not finish in time")
        return bad

    def test_flood_of_bad_tokens(self):
        tokens = bad_tokens()
        pid = self.broker.proc.pid
        self.assertEqual(self.flood(WARMUP, tokens, "warm"), [])
        rss_before = vm_rss_kb(pid)

        t0 = time.monotonic()
        bad = self.flood(FLOOD, tokens, "flood")
        elapsed = time.monotonic() - t0
        self.assertEqual(bad[:10], [], "%d of %d CONNECTs not refused with 5" % (len(bad), FLOOD))
        self.assertLess(elapsed, TIME_LIMIT)
        self.assertTrue(self.broker.running(), "broker died during the flood\n" + self.tail())
        rss_after = vm_rss_kb(pid)

        # Still serving: a good client connects, subscribes, publishes and
        # receives its own message.
        tok = h.mint("dev-1", alg="ES256")
        c = self.paho(h.V311, client_id="after-flood", username="dev-1", password=tok)
        self.assertConnected(c)
        self.assertEqual(c.subscribe("devices/dev-1/after", 1), [1])
        c.publish("devices/dev-1/after", b"still here", qos=1)
        msg = c.get()
        self.assertEqual(msg[:2], ("devices/dev-1/after", b"still here"))

        # Every refusal logged with its reason; nothing of any token logged.
        def count():
            return sum(1 for l in self.broker.log().splitlines()
                       if "jwt-auth: refused client flood-" in l)
        h.wait_until(lambda: count() >= FLOOD, h.CLIENT_TIMEOUT)
        lines = [l for l in self.broker.log().splitlines()
                 if "jwt-auth: refused client flood-" in l]
        self.assertEqual(len(lines), FLOOD)
        for i in (0, 1, 2, 3, 4, 5, 6, FLOOD - 1):
            reason = tokens[i % len(tokens)][0]
            line = next(l for l in lines if "client flood-%d from" % i in l)
            self.assertTrue(line.endswith(": " + reason), line)
        for _, tok in tokens:
            self.assert_not_logged(a.segments(tok))

        growth = rss_after - rss_before
        print("flood: %d refused CONNECTs in %.1f s (%.0f/s); VmRSS %d kB -> %d kB (%+d kB)"
              % (FLOOD, elapsed, FLOOD / elapsed, rss_before, rss_after, growth))
        self.assertLess(growth, RSS_GROWTH_LIMIT_KB,
                        "broker VmRSS grew by %d kB over %d refused CONNECTs" % (growth, FLOOD))


if __name__ == "__main__":
    unittest.main()
