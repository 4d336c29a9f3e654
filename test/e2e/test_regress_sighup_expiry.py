"""Regression: SIGHUP after a durable client's token expired must not crash
a Mosquitto 2.0 broker.

The story. A client with a durable MQTT 5 session (session expiry > 0)
holds a token that expires; the plugin disconnects it and its session
stays offline. Then the operator sends SIGHUP: the broker re-runs
authentication for every client it knows, offline sessions included, and
the plugin refused the offline session (its token is expired). Every 2.0
release (2.0.11 and 2.0.21 tested) then puts that session on its
session-expiry list a second time (an upstream bug, fixed in 2.1.0; the
same happens to `password_file` users whose password was removed); when
the session expires the list is corrupt, and once other sessions come and
go the broker segfaults, here within three rounds. The plugin must not
trigger it: an offline session whose token no longer holds is ended safely
instead of refused in the re-check (it cannot come back without a new
CONNECT, which is authenticated afresh).

Each round: a churn of short sessions (so that the broker's freed client
records get handed out again), the durable client's token expires and it is
disconnected, SIGHUP, its session expires, then another churn. The broker
must stay up through every round, and the durable client cannot resume
with its expired token. 2.1 never had the broker bug; the sequence runs
there too (the broker must stay up everywhere).
"""

import socket
import time
import unittest

import harness as h
import mqtt5raw as raw

ROUNDS = 4
TTL = 2             # seconds until the durable client's token expires
SESSION_EXPIRY = 2  # its session expiry interval
CHURN = 20          # short sessions per round
BATCH = 5           # of them connected at once


def quiet(c, timeout):
    """True when the broker closed the connection within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            p = c.read_packet(max(0.05, deadline - time.monotonic()))
        except socket.timeout:
            return False
        if p is None:
            return True
    return False


@h.skip_if_external("sends SIGHUP and needs the broker's log")
class SighupAfterExpiry(h.BrokerTestCase):

    broker_kwargs = dict(extra={"leeway": "0"})

    def durable_client_expires(self, rnd):
        """The durable client connects with a token that expires in TTL s
        and is disconnected by the plugin; its session stays offline."""
        t = int(time.time())
        tok = h.mint("alice", now=t, ttl=TTL)
        a = self.raw()
        ack = a.connect("alice-durable", username="alice", password=tok.encode(),
                        clean_start=(rnd == 0), session_expiry=SESSION_EXPIRY)
        self.assertEqual(ack.reason, 0, "round %d: %r\n%s" % (rnd, ack, self.tail()))
        a.subscribe("devices/alice/#", 1)
        self.assertEqual(a.expect(raw.SUBACK).reasons, [1])
        self.assertTrue(quiet(a, TTL + 4),
                        "round %d: not disconnected after its token expired\n%s"
                        % (rnd, self.tail()))
        a.close()
        return tok

    def sighup(self, rnd):
        mark = self.broker.log_size()
        self.broker.sighup()
        self.assertIsNotNone(self.broker.wait_log("jwt-auth: reload", after=mark),
                             "round %d: no reload line\n%s" % (rnd, self.tail()))

    def churn(self, rnd, tag):
        """Short sessions in batches: a batch connects (some durable, some
        clean), stays a little over a second (the broker's expiry check
        runs once a second) and goes."""
        for b in range(CHURN // BATCH):
            batch = []
            for i in range(BATCH):
                if not self.broker.running():
                    return
                sub = "churn-%d" % i
                c = self.raw()
                try:
                    ack = c.connect("churn-%d%s-%d-%d" % (rnd, tag, b, i), username=sub,
                                    password=h.mint(sub).encode(), clean_start=(i % 2 == 0),
                                    session_expiry=1 if i % 3 else 0)
                    if ack is not None and ack.reason == 0:
                        batch.append(c)
                        continue
                except OSError:
                    pass
                c.close()
            time.sleep(1.2)
            for c in batch:
                c.disconnect()
                c.close()

    def durable_churn(self, rnd):
        """Durable short sessions (session expiry 1 s) that connect and go
        at once: offline, on the broker's expiry list, when it checks."""
        for i in range(CHURN):
            if not self.broker.running():
                return
            sub = "churn-%d" % i
            c = self.raw()
            try:
                ack = c.connect("durable-%d-%d" % (rnd, i), username=sub,
                                password=h.mint(sub).encode(), clean_start=False,
                                session_expiry=1)
                if ack is not None and ack.reason == 0:
                    c.disconnect()
            except OSError:
                pass
            c.close()
            time.sleep(0.1)

    def assert_up(self, rnd):
        time.sleep(0.5)
        self.assertTrue(self.broker.running(),
                        "round %d: the broker died (exit %s)\n%s"
                        % (rnd, self.broker.proc.poll(), self.tail(60)))

    def round(self, rnd):
        # Sessions come and go before, so that the broker's freed client
        # records are handed out again (the crash needs one).
        self.churn(rnd, "a")
        expired = self.durable_client_expires(rnd)
        mark = self.broker.log_size()
        self.sighup(rnd)
        # The offline session expires in the broker (or has been ended
        # otherwise: the line is only a point to wait for).
        self.broker.wait_log("Expiring client alice-durable", after=mark,
                             timeout=SESSION_EXPIRY + 4)
        self.churn(rnd, "b")
        self.durable_churn(rnd)
        return expired

    def test_broker_survives_sighup_after_expiry_kick(self):
        expired = None
        for rnd in range(ROUNDS):
            try:
                expired = self.round(rnd)
            except (AssertionError, OSError, raw.ConnectionClosed):
                # A dead broker shows up as a refused connection, a closed
                # one or a missing log line: say what happened.
                self.assert_up(rnd)
                raise
            self.assert_up(rnd)
        # Fail closed: the expired token never resumes the session.
        a = self.raw()
        ack = a.connect("alice-durable", username="alice", password=expired.encode(),
                        clean_start=False, session_expiry=SESSION_EXPIRY)
        self.assertIn(ack.reason, (0x86, 0x87), repr(ack))
        a.close()
        self.assertTrue(self.broker.running(), self.tail(60))


if __name__ == "__main__":
    unittest.main()
