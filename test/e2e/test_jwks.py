"""Keys from JWKS URLs against an HTTPS server of the test's own: each way a
fetch can fail keeps the last good keys, the broker keeps serving (and never
waits for the network), the log says why; an unknown-kid storm costs one
fetch; Cache-Control and SIGHUP steer the schedule.

Everything is on 127.0.0.1 with a CA the test makes (jwkstest.py).
"""

import os
import shutil
import tempfile
import time
import unittest

from harness import BrokerTestCase, Broker, V311, V5, wait_until, unique_id, skip_if_external, \
    broker_version
from mqtt5raw import RawClient, CONNACK, PINGRESP
import jwkstest
from jwkstest import SigningKey, jwks

ISSUER = "https://idp.test"

# Failure modes served on the main server: path -> (route, what the log says)
FAILURES = {
    "/status500": (dict(status=500, body="oops"), "HTTP status 500"),
    "/badjson": (dict(body='{"keys": [ {"kty": '), "invalid JSON"),
    "/private": (None, "private key"),                  # body set in setUpClass
    "/huge": (dict(mode="huge"), "larger than 1048576 bytes"),
    "/redirect": (None, "redirect to a non-https URL refused"),
    "/redirect4": (None, "more than 3 redirects"),      # four https hops
    "/hang": (dict(mode="hang", seconds=40), "timed out"),
    "/trickle": (dict(mode="trickle"), "timed out"),
}


class Base(BrokerTestCase):
    start_broker = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="mja-jwks-")
        cls.ca = jwkstest.TestCA(os.path.join(cls.tmp, "ca"))
        # the broker reads the CA file after dropping root
        os.chmod(cls.tmp, 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def broker_with(self, urls, refresh, extra=()):
        opts = [("jwks_url", u) for u in urls]
        opts += [("jwks_ca_file", self.ca.ca), ("jwks_refresh", str(refresh)),
                 ("issuer", ISSUER)]
        opts += list(extra)
        b = self.make_broker(listeners=[{"options": opts}])
        b.start()
        self.broker = b
        return b

    def connect_raw(self, token, client_id=None):
        """CONNECT (MQTT 5) with the token as password; (reason, seconds)."""
        c = RawClient("127.0.0.1", self.broker.port, timeout=5)
        try:
            t0 = time.monotonic()
            ack = c.connect(client_id or unique_id("jw"), password=token.encode())
            dt = time.monotonic() - t0
            self.assertIsNotNone(ack, "no CONNACK")
            self.assertEqual(ack.type, CONNACK)
            return ack.reason, dt
        finally:
            c.close()


STATS = "$SYS/broker/plugin/jwt-auth/"


@skip_if_external("needs its own broker and HTTPS servers")
class StatsPerSource(Base):
    """README "Numbers to watch": jwks/N/last-success, failures and keys per
    source, N in configuration order; a figure that is 0 is not published."""

    def test_jwks_stats(self):
        srv = jwkstest.HTTPSServer(self.ca.good)
        self.addCleanup(srv.close)
        k1, k2 = SigningKey("stats-a"), SigningKey("stats-b")
        srv.route("/good", body=jwks(k1, k2))
        srv.route("/bad", status=500, body="oops")
        t0 = int(time.time())
        b = self.broker_with([srv.url("/good"), srv.url("/bad")], refresh=1,
                             extra=[("stats_interval", "1")])
        self.assertTrue(b.wait_log("JWKS %s: fetched, 2 key(s)" % srv.url("/good"),
                                   timeout=15), self.tail())
        m = self.paho(V311, username="monitor",
                      password=k1.token(sub="monitor", claims={"iss": ISSUER}))
        self.assertConnected(m)
        self.assertEqual(m.subscribe(STATS + "jwks/#", 0), [0], self.tail())

        seen = {}

        def enough():
            msg = m.get(timeout=0.2)
            while msg is not None:
                topic, payload, _ = msg
                seen[topic[len(STATS):]] = int(payload)
                msg = m.get(timeout=0.05)
            return seen.get("jwks/2/failures", 0) >= 2 and "jwks/1/keys" in seen
        self.assertTrue(wait_until(enough, timeout=15), "%r\n%s" % (seen, self.tail()))
        t1 = int(time.time())
        self.assertEqual(seen["jwks/1/keys"], 2, seen)
        self.assertTrue(t0 <= seen["jwks/1/last-success"] <= t1, (t0, seen, t1))
        # the good source never failed, the failing one never succeeded
        self.assertNotIn("jwks/1/failures", seen)
        self.assertNotIn("jwks/2/last-success", seen)
        self.assertNotIn("jwks/2/keys", seen)
        self.assertNotIn("jwks/3/failures", seen)
        # a retained figure a later subscriber gets at once, and the count
        # of the failing source only grows
        late = self.paho(V311, username="late",
                         password=k2.token(sub="late", claims={"iss": ISSUER}))
        self.assertConnected(late)
        self.assertEqual(late.subscribe(STATS + "jwks/2/failures", 0), [0])
        msg = late.get(timeout=3)
        self.assertIsNotNone(msg, self.tail())
        self.assertGreaterEqual(int(msg[1]), seen["jwks/2/failures"])


@skip_if_external("needs its own broker and HTTPS servers")
class FailuresKeepLastGoodKeys(Base):
    """One broker, one source per failure mode; every source first serves a
    good JWKS with a kid of its own, then fails its way."""

    def test_failures(self):
        main = jwkstest.HTTPSServer(self.ca.good)
        wrong = jwkstest.HTTPSServer(self.ca.good)     # later: a cert for other.example
        selfs = jwkstest.HTTPSServer(self.ca.good)     # later: self-signed, not in the CA file
        self.addCleanup(main.close)
        self.addCleanup(wrong.close)
        self.addCleanup(selfs.close)
        keys = {}
        urls = {}
        for path in FAILURES:
            keys[path] = SigningKey("kid" + path.replace("/", "-"))
            main.route(path, body=jwks(keys[path]))
            urls[path] = main.url(path)
        for name, srv in (("wronghost", wrong), ("selfsigned", selfs)):
            keys[name] = SigningKey("kid-" + name)
            srv.route("/jwks", body=jwks(keys[name]))
            urls[name] = srv.url("/jwks")
        # three https redirects are followed (the limit is 3), throughout
        keys["redirect3"] = SigningKey("kid-redirect3")
        for i in range(3):
            main.route("/hop3-%d" % i, status=302, body="", location=main.url("/hop3-%d" % (i + 1)))
        main.route("/hop3-3", body=jwks(keys["redirect3"]))
        urls["redirect3"] = main.url("/hop3-0")
        b = self.broker_with(list(urls.values()), refresh=1)

        # every source's first fetch succeeds
        for name, url in urls.items():
            self.assertTrue(b.wait_log("JWKS %s: fetched, 1 key(s)" % url, timeout=15),
                            name + "\n" + self.tail())
        for name, k in keys.items():
            rc, _ = self.connect_raw(k.token(claims={"iss": ISSUER}))
            self.assertEqual(rc, 0, name + "\n" + self.tail())

        # now each fails its way
        mark = b.log_size()
        t_mark = time.monotonic()
        for path, (route, _) in FAILURES.items():
            if path == "/private":
                route = dict(body=jwks(keys[path], private=True))
            elif path == "/redirect":
                route = dict(status=302, location="http://127.0.0.1:%d/jwks" % main.port,
                             body="")
            elif path == "/redirect4":
                for i in range(1, 4):
                    main.route("/hop4-%d" % i, status=302, body="",
                               location=main.url("/hop4-%d" % (i + 1)))
                main.route("/hop4-4", body=jwks(keys[path]))
                route = dict(status=302, body="", location=main.url("/hop4-1"))
            main.route(path, **route)
        wrong.set_cert(self.ca.wrong_host)
        selfs.set_cert(self.ca.self_signed)

        # the broker never waits for the network: while sources hang and
        # trickle, PINGREQ is answered and cached-key CONNECTs are fast
        self.assertTrue(wait_until(lambda: main.count("/hang") >= 2, 15), self.tail())
        ping = RawClient("127.0.0.1", b.port, timeout=5)
        self.addCleanup(ping.close)
        ack = ping.connect(unique_id("ping"), password=keys["/status500"].token(
            claims={"iss": ISSUER}).encode(), keepalive=60)
        self.assertEqual(ack.reason, 0)
        worst = 0.0
        deadline = time.monotonic() + 12
        n = 0
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            ping.ping()
            pkt = ping.expect(PINGRESP, timeout=2, skip=())
            self.assertIsNotNone(pkt)
            worst = max(worst, time.monotonic() - t0)
            for name in ("/hang", "/trickle", "wronghost"):
                rc, dt = self.connect_raw(keys[name].token(claims={"iss": ISSUER}))
                self.assertEqual(rc, 0, name + "\n" + self.tail())
                worst = max(worst, dt)
                n += 1
            time.sleep(0.2)
        self.assertGreater(n, 20)
        self.assertLess(worst, 0.2, "a CONNECT or PINGREQ took %.3f s while the JWKS "
                        "server hung" % worst)

        # every failure is logged with its URL and reason, once a minute at most
        expect = {p: why for p, (_, why) in FAILURES.items()}
        expect["wronghost"] = "SSL"
        # OpenSSL's reason; libcurl's wording around it differs between
        # versions ("SSL certificate problem: ..." in 7.88, "SSL certificate
        # OpenSSL verify result: ..." in 8.x)
        expect["selfsigned"] = "self-signed certificate"
        for name, why in expect.items():
            line = b.wait_log("JWKS %s: fetch failed" % urls[name], why, after=mark,
                              timeout=30)
            self.assertTrue(line, "%s: no log line with %r\n%s" % (name, why, self.tail(60)))
            self.assertIn("keeping the 1 key(s)", line)
        allowed = 1 + int((time.monotonic() - t_mark) / 60)
        for name in expect:
            lines = [l for l in b.log()[mark:].splitlines()
                     if "JWKS %s: fetch failed" % urls[name] in l]
            self.assertLessEqual(len(lines), allowed, "%s logged %d times in %.0f s"
                                 % (name, len(lines), time.monotonic() - t_mark))
        # several failed fetches per source, yet: the last good keys stay
        # (one fetcher thread: a round over the sources takes some 20 s, the
        # hanging and the trickling one 10 s each)
        self.assertTrue(wait_until(lambda: main.count("/status500") >= 3, 30),
                        "%d fetches of /status500" % main.count("/status500"))  # 1 good, 2+ failed
        for name, k in keys.items():
            rc, _ = self.connect_raw(k.token(claims={"iss": ISSUER}))
            self.assertEqual(rc, 0, name + "\n" + self.tail())
        # the redirect was not followed to http; the fourth https hop never
        # asked for; the three-hop chain reached its end and never failed
        self.assertEqual(main.count("/jwks"), 0)
        self.assertEqual(main.count("/hop4-4"), 0)
        self.assertGreaterEqual(main.count("/hop3-3"), 1)
        self.assertEqual(b.log_lines("JWKS %s: fetch failed" % urls["redirect3"]), [])
        # the private key's material never reaches the log
        self.assertNotIn(keys["/private"].jwk(private=True)["d"], b.log())


@skip_if_external("needs its own broker and HTTPS server")
class StormCacheControlSighup(Base):
    def test_storm_cache_control_sighup(self):
        srv = jwkstest.HTTPSServer(self.ca.good)
        self.addCleanup(srv.close)
        k = SigningKey("kid-1")
        srv.route("/jwks", body=jwks(k), headers={"Cache-Control": "public, max-age=5"})
        b = self.broker_with([srv.url("/jwks")], refresh=3600)
        self.assertTrue(b.wait_log("JWKS %s: fetched" % srv.url("/jwks"), timeout=15),
                        self.tail())
        t_first = srv.times["/jwks"][0]
        self.assertEqual(srv.count("/jwks"), 1)

        # 500 CONNECTs with unknown kids: refused, one refetch in all
        stranger = SigningKey("kid-unknown")
        refused = 0
        t0 = time.monotonic()
        for i in range(500):
            tok = stranger.token(claims={"iss": ISSUER}, kid="kid-unknown-%d" % (i % 7))
            rc, _ = self.connect_raw(tok)
            refused += rc != 0
        storm = time.monotonic() - t0
        self.assertEqual(refused, 500)
        self.assertLess(storm, 25, "the storm took too long to prove the 30 s bound")
        self.assertTrue(wait_until(lambda: srv.count("/jwks") >= 2, 5))
        time.sleep(1)
        self.assertEqual(srv.count("/jwks"), 2, "fetches during the storm")
        self.assertTrue(b.log_lines("unknown kid"))
        t_kid = srv.times["/jwks"][1]

        # Cache-Control max-age=5 is honoured, but not below 30 s: no fetch
        # until 30 s after the last, one soon after (refresh is 3600)
        wait_until(lambda: srv.count("/jwks") >= 3, 40)
        self.assertEqual(srv.count("/jwks"), 3, self.tail())
        gap = srv.times["/jwks"][2] - t_kid
        self.assertGreaterEqual(gap, 29.0)
        self.assertLess(gap, 33.0)
        self.assertLess(t_kid - t_first, 26)

        # SIGHUP refetches at once
        b.sighup()
        self.assertTrue(wait_until(lambda: srv.count("/jwks") >= 4, 3),
                        "no fetch within 3 s of SIGHUP")
        rc, _ = self.connect_raw(k.token(claims={"iss": ISSUER}))
        self.assertEqual(rc, 0)


@skip_if_external("needs its own broker")
class StartsWithoutProvider(Base):
    def test_first_fetch_fails(self):
        """The broker starts though the JWKS server is not there; key_file
        keys work meanwhile; JWKS tokens are refused as keys unavailable
        (CONNACK 0x88 "server unavailable" on Mosquitto 2.1, which passes the
        plugin's reason on; 0x87 on 2.0); plain http across the network is
        refused at start."""
        port = jwkstest.free_port()
        url = "https://127.0.0.1:%d/jwks" % port
        b = self.broker_with([url], refresh=1, extra=[
            ("secret_file", "/etc/mosquitto/jwt/keys/hs256.secret")])
        self.assertTrue(b.wait_log("JWKS %s: fetch failed (no keys from it yet)" % url,
                                   timeout=10), self.tail())
        rc, _ = self.connect_raw(SigningKey("k").token(claims={"iss": ISSUER}))
        self.assertEqual(rc, 0x88 if broker_version() >= (2, 1, 0) else 0x87, self.tail())
        self.assertTrue(b.wait_log("keys unavailable", timeout=5), self.tail())
        import jwt as pyjwt
        from harness import demo_secret
        now = int(time.time())
        hs = pyjwt.encode({"sub": "d", "iss": ISSUER, "exp": now + 60}, demo_secret(),
                          algorithm="HS256")
        rc, _ = self.connect_raw(hs)
        self.assertEqual(rc, 0, self.tail())

        bad = self.make_broker(listeners=[{"options": [
            ("jwks_url", "http://idp.example/jwks")]}])
        self.assertNotEqual(bad.start(expect_exit=True), 0)
        self.assertIn("option jwks_url", bad.log())
        self.assertIn("loopback", bad.log())


if __name__ == "__main__":
    unittest.main()
