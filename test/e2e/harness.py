"""harness.py - a real Mosquitto with the plugin, tokens, and MQTT clients.

Two modes:

* local (default): each test starts Debian's /usr/sbin/mosquitto on
  127.0.0.1 and a free port, with a mosquitto.conf generated from the
  example configuration (config-examples/mosquitto.conf: its plugin_opt_
  lines, keys and ACL, with paths rewritten to a temporary folder) plus the
  test's own options. The broker's log (log_type all) is captured so tests
  can assert log lines. Environment, set by test/e2e/tests.cmake:
    MJA_PLUGIN         the built mosquitto_jwt_auth.so
    MJA_CONF_EXAMPLES  the config-examples/ folder
* external: MJA_E2E_HOST and MJA_E2E_PORT name a broker that is already
  running with config-examples/mosquitto.conf (e.g. in a container);
  MJA_E2E_CONF_DIR is the folder holding that broker's mosquitto.conf,
  keys/, demo-private/ and acl.conf (default: config-examples/). Tokens are
  minted with demo-private/ keys and the claims that mosquitto.conf asks
  for. Tests that need other options, a restart, a signal or the log skip
  with the reason.
"""

import functools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import queue

import jwt  # python3-jwt (PyJWT 2.6)
import paho.mqtt.client as mqtt  # python3-paho-mqtt 1.6
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.environ.get("MJA_CONF_EXAMPLES") or os.path.join(SOURCE_DIR, "config-examples")
PLUGIN = os.environ.get("MJA_PLUGIN", "")
MOSQUITTO = os.environ.get("MJA_MOSQUITTO", "/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"

EXTERNAL = bool(os.environ.get("MJA_E2E_HOST") and os.environ.get("MJA_E2E_PORT"))
CONF_DIR = (os.environ.get("MJA_E2E_CONF_DIR") or EXAMPLES) if EXTERNAL else EXAMPLES

# The prefix under which config-examples/mosquitto.conf names its files.
EXAMPLE_PREFIX = "/etc/mosquitto/jwt/"

# Upper bounds for every wait (seconds).
START_TIMEOUT = 10
STOP_TIMEOUT = 5
CLIENT_TIMEOUT = 5
TOOL_TIMEOUT = 15

# MJA_E2E_BROKER_WRAPPER: a command the broker is started under, split like
# a shell would (test/valgrind/ runs it under valgrind; the broker matrix
# under scripts/broker-matrix.sh run SUITE, a chroot). Such a broker is
# slower, so every wait is longer, unless MJA_E2E_BROKER_SLOW=0 says the
# wrapper costs nothing (a chroot).
BROKER_WRAPPER = shlex.split(os.environ.get("MJA_E2E_BROKER_WRAPPER", ""))
if BROKER_WRAPPER and os.environ.get("MJA_E2E_BROKER_SLOW", "1") != "0":
    START_TIMEOUT, STOP_TIMEOUT, CLIENT_TIMEOUT = 60, 60, 20

V311, V5 = "311", "5"


@functools.lru_cache(maxsize=None)
def broker_version():
    """The version of the broker under test as a tuple, e.g. (2, 0, 11),
    from `mosquitto -h` (run under the wrapper, so a chroot's broker
    answers); None for an external broker or when it cannot be told."""
    if EXTERNAL:
        return None
    try:
        out = subprocess.run(BROKER_WRAPPER + [MOSQUITTO, "-h"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"mosquitto version (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else None


@functools.lru_cache(maxsize=None)
def broker_user_ids():
    """(uid, gid) the broker runs as: the mosquitto user (asked under the
    wrapper, so a chroot's user) when the tests run as root, else ours;
    None when it cannot be told (secrets then stay readable by all)."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        out = subprocess.run(BROKER_WRAPPER + ["/bin/sh", "-c", "id -u mosquitto; id -g mosquitto"],
                             capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return None
    if len(out) < 2 or not all(x.isdigit() for x in out[-2:]):
        return None
    return int(out[-2]), int(out[-1])


def skip_unless_broker(lo=None, hi=None, reason=""):
    """Decorator: run only when lo <= broker version < hi (tuples); the
    skip message says which versions the case is for and why."""
    v = broker_version()
    ok = v is not None and (lo is None or v >= lo) and (hi is None or v < hi)
    def ver(t):
        return ".".join(map(str, t))
    parts = (["%s or later" % ver(lo)] if lo else []) + (["before %s" % ver(hi)] if hi else [])
    span = " and ".join(parts) or "any"
    have = ".".join(map(str, v)) if v else "unknown"
    return unittest.skipUnless(ok, "broker %s, case for brokers %s: %s" % (have, span, reason))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, step=0.05):
    """Poll pred until it returns a true value or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def reloaded(broker, mark):
    """The plugin's reload line (success or failure) after log offset mark,
    or None if none came in time."""
    return broker.wait_log("jwt-auth: reloaded", after=mark) or broker.wait_log(
        "jwt-auth: reload failed", after=mark)


def drain(c, timeout):
    """Packets a mqtt5raw.RawClient reads until the connection is quiet for
    timeout seconds (or closed)."""
    got = []
    while True:
        try:
            p = c.read_packet(timeout)
        except socket.timeout:
            return got
        if p is None:
            return got
        got.append(p)


# --------------------------------------------------------------------------
# The example configuration

class ExampleConf:
    """The plugin_opt_ lines of <conf_dir>/mosquitto.conf, in order."""

    def __init__(self, conf_dir):
        self.dir = conf_dir
        self.options = []
        self.lines = []
        with open(os.path.join(conf_dir, "mosquitto.conf")) as f:
            for line in f:
                s = line.strip()
                if not s or s.startswith("#"):
                    continue
                self.lines.append(s)
                if s.startswith("plugin_opt_"):
                    key, _, value = s[len("plugin_opt_"):].partition(" ")
                    self.options.append((key, value.strip()))

    def get(self, key, default=None):
        vals = [v for k, v in self.options if k == key]
        return vals[-1] if vals else default

    def values(self, key):
        return [v for k, v in self.options if k == key]

    def words(self, key):
        v = self.get(key)
        return re.split(r"[,\s]+", v.strip()) if v else []


EXAMPLE = ExampleConf(CONF_DIR)


def skip_if_external(reason):
    """Decorator: the test needs a broker of its own."""
    return unittest.skipIf(EXTERNAL, "external broker mode: " + reason)


def demo_key_path(name):
    return os.path.join(CONF_DIR, "demo-private", name)


# --------------------------------------------------------------------------
# Tokens

# Private demo keys by algorithm family (config-examples/demo-private).
FAMILY_KEYS = {
    "RS": "rsa.key.pem", "PS": "rsa.key.pem", "ES": "ec-p256.key.pem",
    "Ed": "ed25519.key.pem",
}
KID_KEYS = {
    "demo-rsa-2026": ("jwks-rsa.key.pem", "RS256"),
    "demo-ec-2026": ("jwks-ec.key.pem", "ES256"),
    "demo-ed25519-2026": ("jwks-ed25519.key.pem", "EdDSA"),
}


def read_secret(path):
    """The secret file's bytes less one trailing newline (docs/design.md, "Keys")."""
    with open(path, "rb") as f:
        data = f.read()
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith(b"\n"):
        return data[:-1]
    return data


def demo_secret():
    return read_secret(os.path.join(CONF_DIR, "keys", "hs256.secret"))


def demo_key(alg):
    if alg.startswith("HS"):
        return demo_secret()
    with open(demo_key_path(FAMILY_KEYS[alg[:2]]), "rb") as f:
        return f.read()


def mint(sub="dev-1", alg="RS256", ttl=300, kid=None, key=None, iss=True,
         aud=True, claims=None, headers=None, now=None, omit=()):
    """A token the example broker accepts, unless the arguments say
    otherwise. iss / aud: True for the configured value, a value, or None to
    leave it out. kid selects a JWKS demo key (and its algorithm) unless key
    is given."""
    now = int(time.time()) if now is None else now
    payload = {"sub": sub, "iat": now, "exp": now + ttl}
    if iss is True:
        iss = EXAMPLE.words("issuer")[0] if EXAMPLE.get("issuer") else None
    if iss is not None:
        payload["iss"] = iss
    if aud is True:
        aud = EXAMPLE.words("audience")[0] if EXAMPLE.get("audience") else None
    if aud is not None:
        payload["aud"] = aud
    payload.update(claims or {})
    for k in omit:
        payload.pop(k, None)
    hdr = dict(headers or {})
    if kid is not None:
        hdr["kid"] = kid
        if key is None and kid in KID_KEYS:
            fname, alg = KID_KEYS[kid]
            with open(demo_key_path(fname), "rb") as f:
                key = f.read()
    if key is None:
        key = demo_key(alg)
    return jwt.encode(payload, key, algorithm=alg, headers=hdr or None)


def b64url(raw):
    """base64url without padding (RFC 7515 section 2)."""
    import base64
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def alg_none_token(sub="dev-1", ttl=300):
    """An unsigned token (RFC 7519 section 6): header alg none, empty
    signature."""
    def seg(obj):
        return b64url(json.dumps(obj, separators=(",", ":")).encode())
    now = int(time.time())
    payload = {"sub": sub, "iat": now, "exp": now + ttl}
    if EXAMPLE.get("issuer"):
        payload["iss"] = EXAMPLE.words("issuer")[0]
    if EXAMPLE.get("audience"):
        payload["aud"] = EXAMPLE.words("audience")[0]
    return seg({"alg": "none", "typ": "JWT"}) + "." + seg(payload) + "."


def tamper_signature(token):
    """The same token with one signature character changed (a valid
    base64url character, so only the signature check can catch it)."""
    head, payload, sig = token.split(".")
    mid = len(sig) // 2
    c = "A" if sig[mid] != "A" else "B"
    return ".".join([head, payload, sig[:mid] + c + sig[mid + 1:]])


def leeway():
    """The leeway of the broker under test (example config or default)."""
    return int(EXAMPLE.get("leeway", "30"))


# --------------------------------------------------------------------------
# The broker

@functools.lru_cache(maxsize=None)
def plugin_is_sanitized(path):
    try:
        out = subprocess.run(["readelf", "-d", path], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libasan" in out


@functools.lru_cache(maxsize=None)
def plugin_is_tsan(path):
    """A plugin built with -DMJA_SANITIZE=thread (README Testing)."""
    try:
        out = subprocess.run(["readelf", "-d", path], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libtsan" in out


def tsan_preload():
    # MJA_E2E_TSAN_RUNTIME: the runtime as the broker sees it (a broker in
    # a chroot, scripts/broker-matrix.sh, has its own compiler's)
    if os.environ.get("MJA_E2E_TSAN_RUNTIME"):
        return os.environ["MJA_E2E_TSAN_RUNTIME"]
    out = subprocess.run(["gcc", "-print-file-name=libtsan.so"], capture_output=True,
                         text=True, timeout=10).stdout.strip()
    return os.path.realpath(out) if out and os.path.isabs(out) else ""


def sanitizer_preload():
    libs = []
    for name in ("libasan.so", "libubsan.so"):
        out = subprocess.run(["gcc", "-print-file-name=" + name], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        if out and os.path.isabs(out) and os.path.exists(out):
            libs.append(os.path.realpath(out))
    return ":".join(libs)


class Broker:
    """A mosquitto process with the plugin, or the external broker.

    listeners: list of dicts, one per listener, each with optional keys
      'options': list of (name, value) plugin options replacing the
                 example's (None: the example's options), 'extra': a dict
                 {name: value or [values] or None} applied on top of them,
      'conf': extra raw mosquitto.conf lines for the listener,
      'plugin': False for a listener without the plugin.
    per_listener: write per_listener_settings true.
    global_conf: extra raw lines before the listeners.
    files: {relative name: bytes or str} written into the config folder.
    """

    def __init__(self, extra=None, listeners=None, per_listener=False,
                 global_conf="", files=None, acl=True):
        self.external = EXTERNAL
        self.proc = None
        self.dir = None
        self.log_path = None
        if self.external:
            self.host = os.environ["MJA_E2E_HOST"]
            self.ports = [int(os.environ["MJA_E2E_PORT"])]
            return
        self.host = "127.0.0.1"
        if listeners is None:
            listeners = [{"extra": extra or {}}]
        self.listeners = listeners
        self.per_listener = per_listener
        self.global_conf = global_conf
        self.files = files or {}
        self.ports = [free_port() for _ in listeners]
        if not PLUGIN or not os.path.exists(PLUGIN):
            raise AssertionError("plugin not built: %r (set MJA_PLUGIN)" % PLUGIN)
        self.dir = tempfile.mkdtemp(prefix="mja-e2e-")
        self.conf_dir = os.path.join(self.dir, "conf")
        os.mkdir(self.conf_dir)
        for name in ("keys", "demo-private"):
            shutil.copytree(os.path.join(CONF_DIR, name), os.path.join(self.conf_dir, name))
        if os.path.exists(os.path.join(CONF_DIR, "acl.conf")):
            shutil.copy(os.path.join(CONF_DIR, "acl.conf"), self.conf_dir)
        for rel, data in self.files.items():
            self.write_file(rel, data)
        # The broker loads the plugin after dropping root: a copy in the
        # opened-up folder works wherever the build folder is (even /root).
        self.plugin = os.path.join(self.dir, "mosquitto_jwt_auth.so")
        shutil.copy(PLUGIN, self.plugin)
        self.conf_path = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "broker.log")
        self.asan_dir = os.path.join(self.dir, "asan")
        os.mkdir(self.asan_dir)
        os.chmod(self.asan_dir, 0o777)
        self.write_conf()

    @property
    def port(self):
        return self.ports[0]

    def path(self, rel):
        return os.path.join(self.conf_dir, rel)

    def write_file(self, rel, data):
        """Write a file into the config folder, readable by the broker's
        user. Written to a new file then renamed, as an operator would."""
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tmp = p + ".new"
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.rename(tmp, p)
        self._open_up()

    def _open_up(self):
        # The broker drops root to user mosquitto before plugin init
        # (docs/design.md, "Broker facts"): open the folder up (chmod -R a+rX).
        subprocess.run(["chmod", "-R", "a+rX", self.dir], check=True, timeout=10)
        # ... but HMAC secrets (*.secret) readable by the broker's user
        # only, as an operator keeps them: the plugin warns at start about
        # a secret every user can read.
        ids = broker_user_ids()
        if ids is None:
            return
        for top, _dirs, names in os.walk(self.conf_dir):
            for name in names:
                if name.endswith(".secret"):
                    p = os.path.join(top, name)
                    if os.geteuid() == 0:
                        os.chown(p, *ids)
                    os.chmod(p, 0o600)

    def plugin_options(self, listener):
        opts = listener.get("options")
        if opts is None:
            opts = list(EXAMPLE.options)
        opts = [(k, v.replace(EXAMPLE_PREFIX, self.conf_dir + "/")) for k, v in opts]
        for k, v in (listener.get("extra") or {}).items():
            opts = [(ok, ov) for ok, ov in opts if ok != k]
            if v is None:
                continue
            for one in (v if isinstance(v, list) else [v]):
                opts.append((k, str(one).replace(EXAMPLE_PREFIX, self.conf_dir + "/")))
        return opts

    def write_conf(self):
        lines = [
            "# generated by test/e2e/harness.py",
            "per_listener_settings %s" % ("true" if self.per_listener else "false"),
            "log_dest stderr",
            "log_type all",
            "connection_messages true",
            self.global_conf,
        ]
        for port, lst in zip(self.ports, self.listeners):
            lines.append("listener %d 127.0.0.1" % port)
            if self.per_listener or lst is self.listeners[0]:
                lines.append("allow_anonymous false")
            lines.append(lst.get("conf", ""))
            if lst.get("plugin", True) and (self.per_listener or lst is self.listeners[0]):
                lines.append("plugin %s" % self.plugin)
                for k, v in self.plugin_options(lst):
                    lines.append("plugin_opt_%s %s" % (k, v))
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self._open_up()

    def start(self, expect_exit=False):
        """Start and wait until every port accepts connections. With
        expect_exit, wait for the broker to exit instead and return its
        exit code."""
        if self.external:
            return None
        env = dict(os.environ)
        if plugin_is_sanitized(PLUGIN):
            # A sanitized plugin in an uninstrumented broker: the runtime
            # must come first. Reports go to files checked at stop().
            env["LD_PRELOAD"] = sanitizer_preload()
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:log_path=%s/asan" % self.asan_dir
            supp = os.path.join(self.dir, "lsan.supp")
            shutil.copy(os.path.join(HERE, "lsan.supp"), supp)
            os.chmod(supp, 0o644)
            env["LSAN_OPTIONS"] = "print_suppressions=0:suppressions=%s" % supp
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:log_path=%s/ubsan" % self.asan_dir
        if plugin_is_tsan(PLUGIN):
            # ThreadSanitizer in an uninstrumented broker: its runtime
            # first; reports (data races) go to files checked at stop()
            env["LD_PRELOAD"] = tsan_preload()
            env["TSAN_OPTIONS"] = "log_path=%s/tsan:report_signal_unsafe=0" % self.asan_dir
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(BROKER_WRAPPER + [MOSQUITTO, "-c", self.conf_path],
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        if expect_exit:
            try:
                return self.proc.wait(START_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise AssertionError("broker still running; expected it to stop at start.\n"
                                     + self.log())
        pending = list(self.ports)
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError("broker exited with %s at start:\n%s\n%s"
                                     % (self.proc.returncode, self.log(),
                                        self.sanitizer_reports(everything=True)))
            if time.monotonic() > deadline:
                raise AssertionError("broker did not listen on %s in %ss:\n%s"
                                     % (pending, START_TIMEOUT, self.log()))
            try:
                socket.create_connection(("127.0.0.1", pending[0]), timeout=1).close()
                pending.pop(0)
            except OSError:
                time.sleep(0.05)
        return None

    def stop(self):
        """Stop the broker (SIGTERM, then SIGKILL) and return its exit code.
        Also fails if a sanitizer reported an error."""
        if self.external or self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                rc = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                rc = self.proc.wait(STOP_TIMEOUT)
        self.log_file.close()
        return rc

    def sanitizer_reports(self, everything=False):
        if self.dir is None or not os.path.isdir(self.asan_dir):
            return ""
        out = []
        for name in sorted(os.listdir(self.asan_dir)):
            with open(os.path.join(self.asan_dir, name), errors="replace") as f:
                text = f.read()
            if everything or "ERROR:" in text or "runtime error" in text or \
                    "WARNING: ThreadSanitizer" in text:
                out.append(text)
        return "\n".join(out)

    def cleanup(self):
        """Stop the broker and remove its folder; returns the sanitizer
        reports (empty without)."""
        self.stop()
        reports = self.sanitizer_reports()
        if self.dir and not os.environ.get("MJA_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return reports

    def sighup(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        if self.log_path is None or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self, *needles):
        """Log lines containing every needle."""
        return [l for l in self.log().splitlines() if all(n in l for n in needles)]

    def wait_log(self, *needles, timeout=CLIENT_TIMEOUT, after=0):
        """Wait for a log line (from byte offset `after`) holding every
        needle; returns it or None."""
        def find():
            text = self.log()[after:]
            for l in text.splitlines():
                if all(n in l for n in needles):
                    return l
            return None
        return wait_until(find, timeout)

    def log_size(self):
        return len(self.log())


class BrokerTestCase(unittest.TestCase):
    """Starts a broker per test when the class sets broker_kwargs (a dict
    for Broker) or per class when class_broker is true; always stops it."""

    broker_kwargs = {}
    class_broker = False
    start_broker = True

    @classmethod
    def setUpClass(cls):
        cls.shared = None
        if cls.class_broker:
            cls.shared = Broker(**cls.broker_kwargs)
            try:
                cls.shared.start()
            except BaseException:
                cls.shared.cleanup()
                raise

    @classmethod
    def tearDownClass(cls):
        if cls.shared is not None:
            reports = cls.shared.cleanup()
            if reports:
                raise AssertionError("sanitizer report from the broker:\n" + reports)

    def setUp(self):
        self._clients = []
        if self.class_broker:
            self.broker = self.shared
        elif self.start_broker:
            self.broker = self.make_broker(**self.broker_kwargs)
            self.broker.start()

    def make_broker(self, **kw):
        b = Broker(**kw)
        self.addCleanup(self._finish_broker, b)
        return b

    def _finish_broker(self, b):
        reports = b.cleanup()
        if reports:
            self.fail("sanitizer report from the broker:\n" + reports)

    def tearDown(self):
        for c in self._clients:
            c.close()

    def track(self, c):
        self._clients.append(c)
        return c

    # convenience wrappers bound to this test's broker

    def paho(self, proto=V311, client_id=None, username=None, password=None,
             port=None, **kw):
        c = PahoClient(self.broker.host, port or self.broker.port, proto,
                       client_id or unique_id(), username, password, **kw)
        return self.track(c)

    def raw(self, port=None):
        from mqtt5raw import RawClient
        c = RawClient(self.broker.host, port or self.broker.port, timeout=CLIENT_TIMEOUT)
        self._clients.append(c)
        return c

    def assertConnected(self, c):
        self.assertEqual(c.rc, 0, "CONNACK %s, expected success\n%s" % (c.rc, self.tail()))

    def assertRefused(self, c, proto, reasons=(0x86, 0x87)):
        """Refused: MQTT 3.1.1 return code 5; MQTT 5 one of reasons."""
        if proto == V311:
            self.assertEqual(c.rc, 5, "CONNACK %s, expected 5 (not authorised)" % c.rc)
        else:
            self.assertIn(c.rc, reasons, "CONNACK 0x%x, expected one of %s"
                          % (c.rc or 0, "/".join("0x%x" % r for r in reasons)))

    # trusted files (key, secret, ACL, CA): a bad one is refused at once

    def assert_fails_fast_at_start(self, b, needles, within=5):
        """b (not started) must exit non-zero within `within` seconds, its
        log naming every one of needles."""
        t0 = time.monotonic()
        rc = b.start(expect_exit=True)
        took = time.monotonic() - t0
        log = b.log()
        self.assertNotEqual(rc, 0, "broker exited 0:\n" + log)
        self.assertLess(took, within, "broker took %.1f s to give up:\n%s" % (took, log))
        for n in needles:
            self.assertIn(n, log, "log does not name %r:\n%s" % (n, log))

    def assert_reload_fails(self, b, p, why):
        """SIGHUP to the running broker b must fail with a line naming the
        file p and why; the broker keeps running."""
        mark = b.log_size()
        b.sighup()
        line = b.wait_log("jwt-auth:", "reload failed", p, after=mark)
        self.assertIsNotNone(line, "no reload failure naming %s\n%s" % (p, self.tail()))
        self.assertIn(why, line)
        self.assertTrue(b.running(), "broker stopped on a bad reload")

    def assert_bad_reload_keeps_set(self, b, rel, spoil, why, c_old):
        """On the running broker b, spoil(path) makes the file rel bad and
        SIGHUP must fail naming it and why, keep the broker, the connected
        client c_old and the previous keys (RS256 and HS256 tokens); with the
        good file back the next reload succeeds."""
        p = b.path(rel)
        with open(p, "rb") as f:
            saved = f.read()
        spoil(p)
        self.assert_reload_fails(b, p, why)
        for alg in ("RS256", "HS256"):
            self.assertConnected(self.paho(V311, username="dev-1",
                                           password=mint("dev-1", alg=alg)))
        self.assertFalse(c_old.disconnected.is_set(), "client lost on a bad reload")
        os.unlink(p)
        b.write_file(rel, saved)
        mark = b.log_size()
        b.sighup()
        self.assertIsNotNone(b.wait_log("jwt-auth:", "reloaded", after=mark), self.tail())
        # The broker clears its SIGHUP flag only after its reload pass, which
        # goes on after this line: a SIGHUP sent now could be lost. A CONNECT
        # sent now is read in a later round of its loop, once the pass is over.
        self.assertConnected(self.paho(V311, username="dev-1", password=mint("dev-1")))

    def tail(self, n=30):
        if self.broker.external:
            return ""
        return "broker log (tail):\n" + "\n".join(self.broker.log().splitlines()[-n:])


_ids = [0]


def unique_id(prefix="e2e"):
    _ids[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _ids[0])


# --------------------------------------------------------------------------
# Paho clients

class PahoClient:
    """A connected (or refused) paho client with its own network thread.

    After construction: rc is the CONNACK code as an int (None if no CONNACK
    came in time); messages is a queue of received (topic, payload, retain);
    disconnected is an Event set when the connection is lost."""

    def __init__(self, host, port, proto, client_id, username=None, password=None,
                 will=None, clean=True, auth_props=None, connect=True,
                 timeout=CLIENT_TIMEOUT, keepalive=60):
        self.proto = proto
        p = mqtt.MQTTv5 if proto == V5 else mqtt.MQTTv311
        if proto == V5:
            self.c = mqtt.Client(client_id=client_id, protocol=p)
        else:
            self.c = mqtt.Client(client_id=client_id, protocol=p, clean_session=clean)
        self.client_id = client_id
        self.rc = None
        self.connack = threading.Event()
        self.disconnected = threading.Event()
        self.disconnect_rc = None
        self.messages = queue.Queue()
        self.subacks = {}
        self.suback_event = threading.Condition()
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        if username is not None or password is not None:
            self.c.username_pw_set(username, password)
        if will:
            # will: (topic, payload, qos, retain)
            self.c.will_set(will[0], will[1], will[2], will[3])
        self.host, self.port, self.keepalive = host, port, keepalive
        self.timeout = timeout
        self.auth_props = auth_props
        self.started = False
        if connect:
            self.connect()

    def connect(self):
        props = None
        if self.proto == V5:
            props = Properties(PacketTypes.CONNECT)
            if self.auth_props:
                for k, v in self.auth_props.items():
                    setattr(props, k, v)
        try:
            if self.proto == V5:
                self.c.connect(self.host, self.port, self.keepalive, properties=props)
            else:
                self.c.connect(self.host, self.port, self.keepalive)
        except OSError:
            self.rc = None
            self.disconnected.set()
            return
        self.c.loop_start()
        self.started = True
        self.connack.wait(self.timeout)
        if self.rc != 0:
            # Refused (or no answer): stop paho from reconnecting.
            self.close()

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        self.rc = rc.value if hasattr(rc, "value") else int(rc)
        self.connack.set()

    def _on_disconnect(self, client, userdata, rc, properties=None):
        self.disconnect_rc = rc.value if hasattr(rc, "value") else rc
        self.disconnected.set()

    def _on_message(self, client, userdata, msg):
        self.messages.put((msg.topic, msg.payload, bool(msg.retain)))

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        codes = [g.value if hasattr(g, "value") else int(g) for g in granted]
        with self.suback_event:
            self.subacks[mid] = codes
            self.suback_event.notify_all()

    @property
    def connected(self):
        return self.rc == 0 and not self.disconnected.is_set()

    def subscribe(self, topic, qos=0):
        """Returns the SUBACK codes (list of int), or None on time-out."""
        rc, mid = self.c.subscribe(topic, qos)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        with self.suback_event:
            self.suback_event.wait_for(lambda: mid in self.subacks, self.timeout)
            return self.subacks.get(mid)

    def publish(self, topic, payload, qos=0, retain=False, wait=True):
        info = self.c.publish(topic, payload, qos, retain)
        if wait and qos > 0:
            info.wait_for_publish(self.timeout)
        return info

    def get(self, timeout=CLIENT_TIMEOUT):
        """The next received message, or None."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        if self.started:
            try:
                self.c.disconnect()
            except Exception:
                pass
            self.c.loop_stop()
            self.started = False


# --------------------------------------------------------------------------
# mosquitto_pub / mosquitto_sub

def tool_args(proto, host, port, username=None, password=None, client_id=None):
    args = ["-h", host, "-p", str(port), "-V", "mqttv5" if proto == V5 else "mqttv311"]
    if username is not None:
        args += ["-u", username]
    if password is not None:
        args += ["-P", password]
    if client_id is not None:
        args += ["-i", client_id]
    return args


def mosquitto_pub(broker, proto, topic, message, username=None, password=None,
                  client_id=None, qos=0, retain=False, port=None):
    args = ["mosquitto_pub"] + tool_args(proto, broker.host, port or broker.port,
                                         username, password, client_id)
    args += ["-t", topic, "-m", message, "-q", str(qos)]
    if retain:
        args.append("-r")
    return subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def sub_args(broker, proto, topic, username=None, password=None, client_id=None,
             count=1, wait=5, port=None, extra=()):
    """mosquitto_sub arguments: exit after count messages or wait seconds."""
    args = ["mosquitto_sub"] + tool_args(proto, broker.host, port or broker.port,
                                         username, password, client_id)
    return args + ["-t", topic, "-C", str(count), "-W", str(wait)] + list(extra)


def mosquitto_sub(broker, proto, topic, wait=5, **kw):
    """Runs mosquitto_sub to its end; returns the CompletedProcess."""
    return subprocess.run(sub_args(broker, proto, topic, wait=wait, **kw), capture_output=True,
                          text=True, timeout=wait + TOOL_TIMEOUT, stdin=subprocess.DEVNULL)


def start_sub(broker, proto, topic, **kw):
    """mosquitto_sub in the background; collect with .communicate()."""
    return subprocess.Popen(sub_args(broker, proto, topic, **kw), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
