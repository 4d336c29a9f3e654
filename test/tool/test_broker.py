"""test_broker.py - `mosquitto_jwt verify` says what the real broker does.

Debian's mosquitto 2.0.11 runs on 127.0.0.1 and a free port with the built
plugin and a mosquitto.conf written here; for each token the broker's
CONNACK (and SUBACK, for topics) is compared with `mosquitto_jwt verify
--config` on the very same file. The broker uses the system clock, so the
tool does too here (tokens live for minutes; no test depends on a boundary).
Fails when MJA_PLUGIN does not name the built plugin.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

import jwt  # python3-jwt (PyJWT 2.6)
import paho.mqtt.client as mqtt  # python3-paho-mqtt 1.6
from cryptography.hazmat.primitives import serialization

from toolharness import ToolCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import plugin_is_sanitized, sanitizer_preload  # noqa: E402 (test/e2e)

PLUGIN = os.environ.get("MJA_PLUGIN", "")
MOSQUITTO = "/usr/sbin/mosquitto"

ACL = """\
pattern readwrite devices/%s/#
pattern deny devices/+/credentials/#
role operator
topic read ops/#
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mqtt_try(port, client_id, username, password, subscribe=()):
    """CONNECT (MQTT 3.1.1); returns (connack rc, {filter: granted qos or 0x80})."""
    done = threading.Event()
    result = {"rc": None, "subs": {}}
    pending = {}
    c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311)
    if username is not None or password is not None:
        c.username_pw_set(username, password)

    def on_connect(client, userdata, flags, rc):
        result["rc"] = rc
        if rc != 0 or not subscribe:
            done.set()
            return
        for f in subscribe:
            mid = client.subscribe(f, qos=0)[1]
            pending[mid] = f

    def on_subscribe(client, userdata, mid, granted):
        result["subs"][pending.pop(mid)] = granted[0]
        if not pending:
            done.set()

    c.on_connect = on_connect
    c.on_subscribe = on_subscribe
    c.connect("127.0.0.1", port, keepalive=10)
    c.loop_start()
    try:
        if not done.wait(10):
            raise AssertionError("no CONNACK/SUBACK within 10 s")
    finally:
        c.disconnect()
        c.loop_stop()
    return result["rc"], result["subs"]


@unittest.skipUnless(os.access(MOSQUITTO, os.X_OK), "Debian's mosquitto is not installed")
class ToolAgreesWithBroker(ToolCase):
    def setUp(self):
        super().setUp()
        if not PLUGIN or not os.path.exists(PLUGIN):
            self.fail("MJA_PLUGIN does not name the built plugin: %r" % PLUGIN)
        self.keygen("ec", "ec", "--kid", "ec-1")
        self.keygen("rsa", "rsa")
        self.write("acl.conf", ACL)
        self.key = serialization.load_pem_private_key(self.read("ec.key", "rb"), None)
        self.rsa = serialization.load_pem_private_key(self.read("rsa.key", "rb"), None)
        self.port = free_port()
        # the broker runs as user mosquitto: load a copy of the plugin from
        # this test's folder (opened up below), not from a build folder that
        # may sit under a private (0700) directory, as the e2e harness does
        plugin = self.path("mosquitto_jwt_auth.so")
        shutil.copy(PLUGIN, plugin)
        self.conf = self.write("mosquitto.conf", (
            "listener %d 127.0.0.1\n"
            "allow_anonymous false\n"
            "plugin %s\n"
            "plugin_opt_key_file %s\n"
            "plugin_opt_key_file %s\n"
            # read alike by both: leading spaces skipped, trailing kept
            # by Mosquitto and trimmed by the plugin
            "   plugin_opt_audience    mqtt.example.com  \r\n"
            "plugin_opt_clientid_match sub\n"
            "plugin_opt_non_jwt deny\n"
            "plugin_opt_acl_file %s\n"
            "log_dest stderr\nlog_type all\n") % (
                self.port, plugin, self.path("ec.jwks"), self.path("rsa.pub.pem"),
                self.path("acl.conf")))
        # the broker drops root privileges before plugin init (docs/design.md,
        # "Broker facts")
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.chmod(os.path.join(root, n), 0o755 if n in dirs else 0o644)
        os.chmod(self.dir, 0o755)
        self.log = open(self.path("broker.log"), "w")
        env = dict(os.environ)
        if plugin_is_sanitized(PLUGIN):
            # a sanitized plugin in Debian's uninstrumented broker: the
            # sanitizer runtime must be loaded first (as the e2e suite does);
            # the broker is only the reference here, its leaks are not ours
            env["LD_PRELOAD"] = sanitizer_preload()
            env["ASAN_OPTIONS"] = "detect_leaks=0"
        self.broker = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self.log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env)
        self.addCleanup(self.stop_broker)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.broker.poll() is not None:
                self.fail("mosquitto exited: %s" % self.read("broker.log"))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.fail("mosquitto did not listen: %s" % self.read("broker.log"))

    def stop_broker(self):
        if self.broker.poll() is None:
            self.broker.terminate()
            try:
                self.broker.wait(5)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait(5)
        self.log.close()

    def tok(self, key=None, alg="ES256", kid="ec-1", **claims):
        body = {"sub": "dev-1", "exp": int(time.time()) + 300, "aud": "mqtt.example.com"}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm=alg,
                          headers={"kid": kid} if kid else None)

    def test_connect_decisions_agree(self):
        now = int(time.time())
        other = serialization.load_pem_private_key(
            subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                            "ec_paramgen_curve:P-256"], capture_output=True, check=True).stdout, None)
        cases = [
            ("valid", "dev-1", self.tok(), "valid"),
            ("valid, RSA PEM without kid", "dev-1", self.tok(key=self.rsa, alg="PS256", kid=None), "valid"),
            ("expired", "dev-1", self.tok(exp=now - 120), "refused: expired"),
            ("wrong audience", "dev-1", self.tok(aud="other"), "refused: wrong audience"),
            ("unknown kid", "dev-1", self.tok(kid="ec-2"), "refused: unknown kid"),
            ("bad signature", "dev-1", self.tok(key=other), "refused: bad signature"),
            ("client id", "someone-else", self.tok(), "refused: client id does not match sub"),
            ("not a JWT", "dev-1", "hunter2", "refused: not a JWT"),
        ]
        for name, client_id, token, want in cases:
            with self.subTest(case=name):
                r = self.tool("verify", "--config", self.conf, "--client-id", client_id, token)
                self.assertEqual(r.out.splitlines()[0], want, r)
                rc, _ = mqtt_try(self.port, client_id, "user", token)
                # CONNACK 0 accepted, 5 not authorized
                self.assertEqual(rc == 0, want == "valid", "broker rc=%r, tool: %s" % (rc, r.out))
                self.assertEqual(r.rc == 0, rc == 0)
                if rc != 0:
                    self.assertEqual(rc, 5)

    def test_subscribe_decisions_agree(self):
        filters = ["devices/dev-1/x", "devices/dev-1/#", "devices/dev-2/x",
                   "devices/dev-1/credentials/k", "ops/a", "#"]
        for roles in (None, ["operator"]):
            with self.subTest(roles=roles):
                token = self.tok(roles=roles)
                args = ["verify", "--config", self.conf, "--client-id", "dev-1"]
                for f in filters:
                    args += ["--acl-topic", f]
                r = self.ok(*args, token)
                tool = {}
                for line in r.out.splitlines():
                    if line.startswith("acl "):
                        topic, rest = line[4:].split(": ", 1)
                        tool[topic] = "subscribe allow" in rest
                rc, subs = mqtt_try(self.port, "dev-1", "dev-1", token, subscribe=filters)
                self.assertEqual(rc, 0)
                broker = {f: subs[f] != 0x80 for f in filters}
                self.assertEqual(tool, broker)
                # and the cases are not all alike
                self.assertIn(True, broker.values())
                self.assertIn(False, broker.values())


if __name__ == "__main__":
    unittest.main()
