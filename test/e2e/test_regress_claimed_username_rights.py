"""Regression: a token client's claimed username carried that name's rights.

A token proves its `sub` and nothing else. With Mosquitto's own
`password_file` and `acl_file` beside the plugin (and no plugin `acl_file`:
the plugin then makes no topic decisions), a client with a valid token for
`dev1` that sent the username `admin` kept that username, so Mosquitto's
`acl_file` gave it admin's rights: its SUBSCRIBE to `secrets/#` was granted
(Mosquitto's `acl_file` grants every SUBSCRIBE), admin's messages there were
delivered to it, and its PUBLISH to `secrets/x` was delivered. Now the broker's username for a
token client is its `sub` (kept when the client sent exactly that, replaced
otherwise), so `user` blocks and `%u` see the `sub`; `username_match sub`
still refuses a different username outright.
"""

import os
import subprocess
import time
import unittest

import harness as h
from harness import V311, V5
import mqtt5raw as raw

MOSQ_ACL = """\
user admin
topic readwrite secrets/#

pattern readwrite devices/%u/#
"""


def password_file(broker, user, password):
    path = broker.path("passwd")
    subprocess.run([h.MOSQUITTO_PASSWD, "-c", "-b", path, user, password], check=True,
                   timeout=30, capture_output=True)
    os.chmod(path, 0o644)
    return path


class WithMosquittoFiles(h.BrokerTestCase):
    start_broker = False
    plugin_extra = {"acl_file": None}

    def setUp(self):
        super().setUp()
        self.broker = self.make_broker(extra=dict(self.plugin_extra))
        pw = password_file(self.broker, "admin", "admin-pass-1")
        self.broker.write_file("mosq.acl", MOSQ_ACL)
        os.chmod(self.broker.path("mosq.acl"), 0o644)
        self.broker.global_conf = "password_file %s\nacl_file %s" % (pw, self.broker.path("mosq.acl"))
        self.broker.write_conf()
        self.broker.start()


@h.skip_if_external("needs Mosquitto's password_file and acl_file beside the plugin")
class ClaimedUsernameCarriesNoRights(WithMosquittoFiles):

    def test_token_client_claiming_admin_gets_its_sub_only(self):
        admin = self.paho(V311, username="admin", password="admin-pass-1")
        self.assertConnected(admin)
        self.assertEqual(admin.subscribe("secrets/#", 1), [1], self.tail())

        c = self.raw()
        ack = c.connect("dev1-claims-admin", username="admin", password=h.mint("dev1").encode())
        self.assertEqual(ack.reason, 0, self.tail())
        self.assertIsNotNone(self.broker.wait_log("New client connected", "dev1-claims-admin",
                                                  "u'dev1'"), self.tail())
        # Mosquitto's acl_file grants every SUBSCRIBE and checks deliveries
        c.subscribe("secrets/#", 1)
        c.expect(raw.SUBACK)
        admin.publish("secrets/x", b"for admin only", 1)
        self.assertEqual(admin.get(timeout=3)[1], b"for admin only", self.tail())
        got = []
        while True:
            try:
                p = c.read_packet(0.5)
            except Exception:
                break
            if p is None:
                break
            if p.type == raw.PUBLISH:
                got.append(p.payload)
        self.assertEqual(got, [], "admin's message delivered to a token client\n" + self.tail())
        c.publish("secrets/x", b"from a token client", 1)
        self.assertEqual(c.expect(raw.PUBACK).reason, 0x87, self.tail())
        self.assertIsNone(admin.get(timeout=1.5), "delivered to admin\n" + self.tail())
        # %u in Mosquitto's acl_file is the sub
        c.publish("devices/dev1/x", b"mine", 1)
        self.assertLess(c.expect(raw.PUBACK).reason, 0x80, self.tail())
        c.publish("devices/admin/x", b"not mine", 1)
        self.assertEqual(c.expect(raw.PUBACK).reason, 0x87, self.tail())

    def test_username_equal_to_sub_kept_and_no_username_given_sub(self):
        for i, user in enumerate(("dev2", None)):
            c = self.raw()
            cid = "dev2-u%d" % i
            self.assertEqual(c.connect(cid, username=user,
                                       password=h.mint("dev2").encode()).reason, 0, self.tail())
            self.assertIsNotNone(self.broker.wait_log("New client connected", cid, "u'dev2'"),
                                 self.tail())
            c.publish("devices/dev2/x", b"mine", 1)
            self.assertLess(c.expect(raw.PUBACK).reason, 0x80, self.tail())

    def test_password_file_user_keeps_its_rights(self):
        admin = self.paho(V5, username="admin", password="admin-pass-1")
        self.assertConnected(admin)
        self.assertEqual(admin.subscribe("secrets/#", 1), [1], self.tail())


@h.skip_if_external("needs Mosquitto's password_file and acl_file beside the plugin")
class UsernameMatchStillRefuses(WithMosquittoFiles):
    plugin_extra = {"acl_file": None, "username_match": "sub"}

    def test_different_username_refused(self):
        c = self.paho(V311, username="admin", password=h.mint("dev1"))
        self.assertEqual(c.rc, 5, self.tail())
        self.assertIsNotNone(self.broker.wait_log("username does not match sub"), self.tail())


if __name__ == "__main__":
    unittest.main()
