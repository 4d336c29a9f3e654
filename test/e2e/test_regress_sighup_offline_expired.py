"""Regression: SIGHUP after the expiry kick of a durable client crashed
Mosquitto 2.0.

A durable client's token expires; the plugin disconnects it and its
session goes offline; SIGHUP comes; the broker re-checks every session it
holds, offline ones included. The plugin refused the offline session's
expired token, and Mosquitto 2.0 then puts that session on its
session-expiry list a second time (a bug of every 2.0 release, fixed in
2.1.0); once it expires and other sessions come and go, the broker
segfaults. On a 2.0 broker the plugin now answers that re-check with
success and ends the session itself: kicked, denied everything; a
reconnect authenticates afresh.

The sequence runs three rounds (the crash came within three), each followed
by a churn of short sessions; the broker must stay up and keep accepting
valid tokens, and the ended session must not get its messages.
"""

import time
import unittest

import harness as h
import mqtt5raw as raw


def reloaded(broker, mark):
    return broker.wait_log("jwt-auth: reloaded", after=mark) or broker.wait_log(
        "jwt-auth: reload failed", after=mark)


@h.skip_if_external("sends SIGHUP and waits for session expiry")
class SighupAfterExpiryKickOfDurableClient(h.BrokerTestCase):

    broker_kwargs = dict(extra={"leeway": "0"})
    ROUNDS = 3

    def churn(self, round_no, n=12):
        """Short durable sessions that come and go and expire."""
        for i in range(n):
            cid = "churn-%d-%d" % (round_no, i)
            c = self.raw()
            ack = c.connect(cid, username=cid, password=h.mint(cid).encode(),
                            clean_start=True, session_expiry=1)
            self.assertEqual(ack.reason, 0, "churn %s refused\n%s" % (cid, self.tail()))
            c.disconnect()
            c.close()
        time.sleep(2.5)   # their sessions (and the ended one) expire

    def test_broker_survives_sighup_after_expiry_kick_and_churn(self):
        for r in range(self.ROUNDS):
            sub = "durable-%d" % r
            t = int(time.time())
            d = self.raw()
            ack = d.connect(sub, username=sub, password=h.mint(sub, now=t, ttl=2).encode(),
                            clean_start=False, session_expiry=3)
            self.assertEqual(ack.reason, 0, self.tail())
            d.subscribe("devices/%s/inbox" % sub, 1)
            self.assertEqual(d.expect(raw.SUBACK).reasons, [1])
            closed, _ = d.wait_closed(6)
            self.assertTrue(closed, "expired client not disconnected\n" + self.tail())
            d.close()
            mark = self.broker.log_size()
            self.broker.sighup()
            self.assertIsNotNone(reloaded(self.broker, mark), self.tail())
            time.sleep(0.3)
            self.assertTrue(self.broker.running(), "broker died at SIGHUP\n" + self.tail())
            self.churn(r)
            self.assertTrue(self.broker.running(),
                            "broker died in round %d\n%s" % (r, self.tail()))
        # still serving
        c = self.raw()
        self.assertEqual(c.connect("after", username="after",
                                   password=h.mint("after").encode()).reason, 0, self.tail())
        c.disconnect()

    def test_ended_session_logged_and_its_client_can_return(self):
        sub = h.unique_id("durable-e")
        t = int(time.time())
        d = self.raw()
        ack = d.connect(sub, username=sub, password=h.mint(sub, now=t, ttl=2).encode(),
                        clean_start=False, session_expiry=600)
        self.assertEqual(ack.reason, 0, self.tail())
        d.subscribe("devices/%s/inbox" % sub, 1)
        self.assertEqual(d.expect(raw.SUBACK).reasons, [1])
        closed, _ = d.wait_closed(6)
        self.assertTrue(closed, self.tail())
        d.close()
        mark = self.broker.log_size()
        self.broker.sighup()
        self.assertIsNotNone(reloaded(self.broker, mark), self.tail())
        # 2.0 line: ended, not refused; 2.1: refused (the broker ends it)
        line = (self.broker.wait_log("jwt-auth: re-check ended the offline session of client",
                                     sub, after=mark, timeout=3)
                or self.broker.wait_log("jwt-auth: re-check refused client", sub, after=mark,
                                        timeout=1))
        self.assertIsNotNone(line, self.tail())
        # a message for it while it is away
        p = self.paho(h.V311, username="pub", password=h.mint(sub))
        self.assertConnected(p)
        p.publish("devices/%s/inbox" % sub, b"while ended", 1)
        time.sleep(0.5)
        # its client returns with a fresh token: a new login
        d = self.raw()
        ack = d.connect(sub, username=sub, password=h.mint(sub).encode(),
                        clean_start=False, session_expiry=600)
        self.assertEqual(ack.reason, 0, self.tail())
        d.subscribe("devices/%s/inbox" % sub, 1)
        self.assertEqual(d.expect(raw.SUBACK).reasons, [1])
        p.publish("devices/%s/inbox" % sub, b"after return", 1)
        got = []
        deadline = time.time() + 3
        while time.time() < deadline and b"after return" not in got:
            try:
                pkt = d.read_packet(0.5)
            except Exception:
                continue
            if pkt is not None and pkt.type == raw.PUBLISH:
                got.append(pkt.payload)
        self.assertIn(b"after return", got, self.tail())
        self.assertTrue(self.broker.running(), self.tail())


if __name__ == "__main__":
    unittest.main()
