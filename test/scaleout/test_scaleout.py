"""test_scaleout.py - the scale-out example (docker/scale-out/) run for real.

Starts docker/scale-out/compose.yaml (HAProxy from Debian's package in front
of three broker replicas with the plugin, and the HTTPS JWKS server `jwks`)
under its own project name, with a copy of the demo keys and ACL shared by
the replicas, a JWKS folder of its own (one key it made, kid K1, in no key
file) served by `jwks` with TLS files made by docker/scale-out/jwks-tls.sh
(the replicas' jwks_ca_file), and HAProxy published on 127.0.0.1:<free
port>, then, through HAProxy only:

1. 300 clients, each with its own client id and HS256 token (sub = client
   id), connect, subscribe to their own topic and get their own QoS 1
   message back; every replica serves some (the broker logs say which
   replica accepted which client id);
2. all 300 reconnect with the same tokens: each lands on the replica that
   served it before;
2b. a revoked sub is refused everywhere: for each replica a client id that
   HAProxy sends there connects with a token of sub X and stays connected;
   then `sub X` is added to the revocation file the replicas share
   (replaced by rename): within 3 s every replica disconnects its client
   of X (and logs it), and X's token is then refused through every
   replica (CONNACK 5, logged as revoked by that replica);
3. a token signed with a wrong secret is refused through every replica
   (CONNACK 5, and that replica logs the refusal for that client id);
3b. the container DNS stops answering for 8 s (Podman's aardvark-dns is
   paused with SIGSTOP; it drops queries the same way while it reloads
   after a container stops): HAProxy keeps every replica in service the
   whole time, and a new client reaches each replica meanwhile (with
   Docker's embedded DNS, which cannot be paused from here, this step is
   logged as not run);
4. one durable session (clean session off, QoS 1 subscription) per replica,
   offline, with 5 QoS 1 messages queued for it by a client on the same
   replica;
5. replica broker2 is stopped: HAProxy's health check takes it out; each of
   its clients reconnects with the same token, lands on another replica and
   publishes (message received back); the clients on the other replicas
   keep publishing on their connections; the durable sessions on the
   surviving replicas get their 5 messages; broker2's durable session is
   gone (the documented limit: sessions live in one replica's memory);
6. broker2 is started again: its former clients reconnect to the replicas
   they moved to (the stick table followed them), not back to broker2;
7. the HMAC secret is replaced in the shared keys folder and SIGHUP is sent
   to every replica: on each replica a token with the new secret is
   accepted and one with the old secret refused;
8. keys from the JWKS URL, rotated at the source without SIGHUP: every
   replica has fetched K1 (its log says so); on each replica a token signed
   by K1 (ES256, kid K1) is accepted; the JWKS is replaced (rename) by one
   with K1 and a new key K2: a token with kid K2 is accepted on every
   replica within 10 s (the unknown kid makes the replica refetch; on
   Mosquitto 2.0 the first try is refused `unknown kid`, a retry gets in);
   then the JWKS is replaced by one with K2 only: within 20 s (jwks_refresh
   is 10 s) a K1 token is refused on every replica (logged `unknown kid`),
   and a K2 token is still accepted.

Before starting, the Kubernetes example (docker/scale-out/kubernetes/, not
run on a cluster) is checked statically: its copies of haproxy.cfg and
mosquitto.conf agree with the originals where they should, HAProxy accepts
its haproxy.cfg, and `kubectl kustomize` builds it (when kubectl exists).

The replicas run docker/scale-out/mosquitto.conf (docker/mosquitto.conf
plus the shared revocation_file and jwks_* lines; checked). The HMAC secret in the shared
keys folder is owned by the image's mosquitto user, mode 0600: no replica
may log the plugin's warning about a secret every user can read (checked
once all are up and at the end).

The three images (docker/Dockerfile, docker/scale-out/Dockerfile.haproxy,
docker/scale-out/Dockerfile.jwks) are built on the Debian release their
DEBIAN_SUITE build argument names by default (the Dockerfiles must agree:
checked first), or on the one
MJA_DEBIAN_SUITE names (bookworm, trixie, sid), passed as that argument.

Needs root, Podman with podman-compose (or Docker with `docker compose`)
and that release's base image. As root with CI=true or MJA_CONTAINER=1 it
runs `scripts/container-setup.sh SUITE` first, which makes the base image
from apt's mirror when it is missing (a fresh machine has none). Otherwise
it is skipped with the reason (exit 77); so is a missing base image (the
test never pulls one). MJA_CONTAINER=0 skips. Images are built once and
then come from the engine's layer cache. Every step is bounded;
the whole run stops by DEADLINE, inside the ctest TIMEOUT of tests.cmake.
"""

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import jwt  # python3-jwt
from cryptography.hazmat.primitives import serialization  # python3-cryptography
from cryptography.hazmat.primitives.asymmetric import ec

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
# The test tree's one raw MQTT client (its asyncio 3.1.1 Client311).
sys.path.insert(0, os.path.join(SOURCE_DIR, "test", "e2e"))
import mqtt5raw  # noqa: E402
SCALE_DIR = os.path.join(SOURCE_DIR, "docker", "scale-out")
EXAMPLES = os.path.join(SOURCE_DIR, "config-examples")
BROKER_IMAGE = "mosquitto-jwt-auth:scaleout-test"
HAPROXY_IMAGE = "mosquitto-jwt-auth-haproxy:scaleout-test"
JWKS_IMAGE = "mosquitto-jwt-auth-jwks:scaleout-test"
JWKS_URL = "https://jwks/jwks.json"
REPLICAS = ("broker1", "broker2", "broker3")
STOPPED = "broker2"
N_CLIENTS = 300
PARALLEL = 50
ISSUER, AUDIENCE = "https://issuer.example.com", "mqtt.example.com"
SKIP = 77
DEADLINE = time.monotonic() + 1020
CLEANUP_RESERVE = 60
DNS_OUTAGE = 8.0
CONNECTED_RE = re.compile(r"New client connected from \S+ as (\S+) ")
DOCKERFILES = ("docker/Dockerfile", "docker/scale-out/Dockerfile.haproxy",
               "docker/scale-out/Dockerfile.jwks")


class Skip(Exception):
    pass


class Failed(Exception):
    pass


def log(msg):
    print("scaleout: " + msg, flush=True)


def left():
    return DEADLINE - CLEANUP_RESERVE - time.monotonic()


def run(argv, timeout=120, check=True, quiet=False, cleanup=False, **kw):
    if not quiet:
        log("$ " + " ".join(argv))
    if not cleanup:
        if left() < 1:
            raise Failed("out of time before: " + " ".join(argv))
        timeout = min(timeout, left())
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise Failed("timed out after %.0f s: %s\n%s" % (timeout, " ".join(argv), out[-3000:]))
    if check and p.returncode != 0:
        raise Failed("exit %d: %s\n%s" % (p.returncode, " ".join(argv), p.stdout[-3000:]))
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_suite():
    """The Debian release the Dockerfiles build on by default (their
    `ARG DEBIAN_SUITE=...`); they must name the same one."""
    found = {}
    for rel in DOCKERFILES:
        with open(os.path.join(SOURCE_DIR, rel)) as f:
            found[rel] = re.findall(r"^ARG DEBIAN_SUITE=(\w+)$", f.read(), re.M)
    suites = {s for v in found.values() for s in v}
    if any(len(v) != 1 for v in found.values()) or len(suites) != 1:
        raise Failed("the Dockerfiles' default DEBIAN_SUITE differ or are missing: %r" % found)
    return suites.pop()


def token(secret, sub, ttl=900):
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + ttl, "iss": ISSUER,
                       "aud": AUDIENCE}, secret, algorithm="HS256")


def jwk_token(key, sub, ttl=900):
    """ES256 token signed by key = (kid, private PEM), with that kid."""
    kid, pem = key
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + ttl, "iss": ISSUER,
                       "aud": AUDIENCE}, pem, algorithm="ES256", headers={"kid": kid})


class Deployment:
    """The compose project, its containers and HAProxy's runtime API."""

    def __init__(self):
        self.project = "mja-scale-%d" % os.getpid()
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="mja-scale-")
        self.env = dict(os.environ)
        self.env.setdefault("CONTAINERS_CONF", os.path.join(SOURCE_DIR, "docker",
                                                            "containers.conf"))
        self.engine = self.compose = None
        self.names = {}
        self.suite = None

    def prepare(self):
        if os.environ.get("MJA_CONTAINER") == "0":
            raise Skip("MJA_CONTAINER=0")
        default = default_suite()
        self.suite = os.environ.get("MJA_DEBIAN_SUITE") or default
        log("Debian release of the images: %s (Dockerfiles' default: %s)"
            % (self.suite, default))
        if os.geteuid() != 0:
            raise Skip("needs root (rootful Podman)")
        if os.environ.get("CI") == "true" or os.environ.get("MJA_CONTAINER") == "1":
            p = run(["bash", os.path.join(SOURCE_DIR, "scripts", "container-setup.sh"),
                     self.suite], timeout=420, check=False, env=self.env)
            print(p.stdout, end="")
            if p.returncode != 0:
                raise Failed("scripts/container-setup.sh failed")
        if shutil.which("docker") and subprocess.run(
                ["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=20).returncode == 0:
            self.engine, self.compose = "docker", ["docker", "compose"]
        elif shutil.which("podman") and shutil.which("podman-compose"):
            self.engine, self.compose = "podman", ["podman-compose"]
        else:
            raise Skip("no Docker engine and no podman + podman-compose "
                       "(scripts/container-setup.sh installs them)")
        base = "docker.io/library/debian:%s-slim" % self.suite
        if self.e("image", "inspect", base, check=False, quiet=True).returncode != 0:
            raise Skip("%s has no %s and the test does not pull it: run "
                       "scripts/container-setup.sh %s as root (or MJA_CONTAINER=1)"
                       % (self.engine, base, self.suite))

    def e(self, *args, **kw):
        return run([self.engine] + list(args), env=self.env, **kw)

    def build(self):
        fmt = ["--format", "docker"] if self.engine == "podman" else []
        args = ["--build-arg", "DEBIAN_SUITE=" + self.suite]
        if self.suite == "sid":
            # A mirror snapshot's sid Release file can be past Valid-Until.
            args += ["--build-arg", "APT_UPDATE_OPTS=-o Acquire::Check-Valid-Until=false"]
        for dockerfile, tag in zip(DOCKERFILES, (BROKER_IMAGE, HAPROXY_IMAGE, JWKS_IMAGE)):
            p = self.e("build", *fmt, *args, "-f", dockerfile, "-t", tag, ".", timeout=600,
                       cwd=SOURCE_DIR)
            print(p.stdout[-600:], end="")

    def up(self):
        keys = os.path.join(self.tmp, "keys")
        shutil.copytree(os.path.join(EXAMPLES, "keys"), keys)
        shutil.copy(os.path.join(EXAMPLES, "acl.conf"), self.tmp)
        self.revocation = os.path.join(self.tmp, "revocation")
        shutil.copytree(os.path.join(SCALE_DIR, "revocation"), self.revocation)
        # The JWKS the server `jwks` serves: one key the test made (K1).
        self.jwks_dir = os.path.join(self.tmp, "jwks")
        os.mkdir(self.jwks_dir)
        self.jwk_keys = {}
        self.k1 = self.new_jwk("k1")
        self.publish_jwks([self.k1])
        run(["chmod", "-R", "a+rX", self.tmp], quiet=True)
        # Its TLS files: a test CA (the replicas' jwks_ca_file) and a
        # certificate for the service name; server.key stays mode 0600.
        self.jwks_tls = os.path.join(self.tmp, "jwks-tls")
        run(["sh", os.path.join(SCALE_DIR, "jwks-tls.sh"), self.jwks_tls, "jwks"], quiet=True)
        # The HMAC secret readable by the broker's user only.
        out = self.e("run", "--rm", BROKER_IMAGE, "sh", "-c", "id -u; id -g",
                     quiet=True).stdout.split()
        self.secret_owner = (int(out[-2]), int(out[-1]))
        self.own_secret(os.path.join(keys, "hs256.secret"))
        self.env.update(MJA_SCALE_PORT=str(self.port), MJA_KEYS_DIR=keys,
                        MJA_ACL_FILE=os.path.join(self.tmp, "acl.conf"),
                        MJA_REVOCATION_DIR=self.revocation,
                        MJA_JWKS_DIR=self.jwks_dir, MJA_JWKS_TLS_DIR=self.jwks_tls,
                        MJA_BROKER_IMAGE=BROKER_IMAGE, MJA_HAPROXY_IMAGE=HAPROXY_IMAGE,
                        MJA_JWKS_IMAGE=JWKS_IMAGE)
        p = run(self.compose + ["-p", self.project, "-f", "compose.yaml", "up", "-d"],
                timeout=180, env=self.env, cwd=SCALE_DIR, check=False)
        if p.returncode != 0:
            raise Failed("compose up failed:\n" + p.stdout[-3000:])
        for svc in REPLICAS + ("haproxy", "jwks"):
            out = self.e("ps", "-a", "--filter", "label=com.docker.compose.project=" + self.project,
                         "--filter", "label=com.docker.compose.service=" + svc,
                         "--format", "{{.Names}}", quiet=True).stdout.split()
            if len(out) != 1:
                raise Failed("service %s: containers %r" % (svc, out))
            self.names[svc] = out[0]
        log("containers: " + ", ".join("%s=%s" % kv for kv in self.names.items()))

    def new_jwk(self, tag):
        """A new EC P-256 key pair with a fresh kid: (kid, private PEM)."""
        kid = "scale-%s-%d-%s" % (tag, os.getpid(), os.urandom(3).hex())
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        n = key.public_key().public_numbers()

        def b64(i):
            return base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()
        self.jwk_keys[kid] = {"kty": "EC", "crv": "P-256", "x": b64(n.x), "y": b64(n.y),
                              "kid": kid, "alg": "ES256", "use": "sig"}
        return kid, pem

    def publish_jwks(self, keys):
        """Replace the served jwks.json (by rename) with these keys' public
        halves."""
        path = os.path.join(self.jwks_dir, "jwks.json")
        with open(path + ".new", "w") as f:
            json.dump({"keys": [self.jwk_keys[kid] for kid, _ in keys]}, f)
        os.chmod(path + ".new", 0o644)
        os.rename(path + ".new", path)

    def own_secret(self, path):
        """Owned by the image's mosquitto user (rootful engine: the same
        numbers on the host), mode 0600."""
        os.chown(path, *self.secret_owner)
        os.chmod(path, 0o600)

    def check_no_secret_warning(self):
        for r in REPLICAS:
            bad = [l for l in self.logs(r).splitlines() if "readable by every user" in l]
            if bad:
                raise Failed("%s warns about the secret's mode:\n%s" % (r, "\n".join(bad)))

    def healthy(self, svc):
        """The container's own health check (run by hand: Podman without
        systemd does not schedule it)."""
        if self.engine == "podman":
            return self.e("healthcheck", "run", self.names[svc], check=False,
                          quiet=True).returncode == 0
        p = self.e("inspect", "--format", "{{.State.Health.Status}}", self.names[svc],
                   check=False, quiet=True)
        return p.stdout.strip() == "healthy"

    def haproxy_api(self, command):
        p = self.e("exec", self.names["haproxy"], "bash", "-c",
                   "exec 3<>/dev/tcp/127.0.0.1/9999 && echo '%s' >&3 && timeout 3 cat <&3"
                   % command, check=False, quiet=True)
        return p.stdout

    def server_states(self):
        """{server name: UP/DOWN} from `show servers state` (2 = running)."""
        states = {}
        for line in self.haproxy_api("show servers state brokers").splitlines():
            f = line.split()
            if len(f) > 5 and f[1] == "brokers":
                states[f[3]] = "UP" if f[5] == "2" else "DOWN"
        return states

    def dns_server_pids(self):
        """The container DNS server's processes when it runs on this host
        (rootful Podman: aardvark-dns, one for every network), else []."""
        if self.engine != "podman":
            return []
        pids = []
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/comm" % pid) as f:
                    if f.read().strip() == "aardvark-dns":
                        pids.append(int(pid))
            except (OSError, ValueError):
                continue
        return pids

    def wait_for(self, what, cond, timeout=60):
        deadline = time.monotonic() + min(timeout, left())
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(1)
        raise Failed("timed out waiting for: " + what)

    def wait_ready(self, replicas=REPLICAS):
        for svc in replicas:
            self.wait_for("%s healthy" % svc, lambda: self.healthy(svc))
        self.wait_for("HAProxy sees %s up" % ", ".join(replicas),
                      lambda: all(self.server_states().get(r) == "UP" for r in replicas))
        self.wait_for("HAProxy container healthy", lambda: self.healthy("haproxy"))
        log("ready: %s" % self.server_states())

    def logs(self, svc):
        return self.e("logs", self.names[svc], check=False, quiet=True, timeout=30).stdout

    def connected(self):
        """{replica: [client ids in the order the replica accepted them]}."""
        return {r: CONNECTED_RE.findall(self.logs(r)) for r in REPLICAS}

    def down(self):
        run(self.compose + ["-p", self.project, "-f", "compose.yaml", "down", "-t", "5"],
            timeout=120, env=self.env, cwd=SCALE_DIR, check=False, cleanup=True, quiet=True)
        for name in self.names.values():
            self.e("rm", "-f", name, check=False, cleanup=True, quiet=True, timeout=30)
        if self.engine == "podman":
            # podman-compose's `down` leaves the project's network behind
            # (each holds one of the engine's subnets until removed).
            nets = self.e("network", "ls", "-q", "--filter",
                          "label=com.docker.compose.project=" + self.project,
                          check=False, cleanup=True, quiet=True, timeout=30).stdout.split()
            for net in nets:
                self.e("network", "rm", "-f", net, check=False, cleanup=True, quiet=True,
                       timeout=30)
        shutil.rmtree(self.tmp, ignore_errors=True)


async def gather_bounded(coros, parallel=PARALLEL):
    sem = asyncio.Semaphore(parallel)

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros))


class Scenario:
    def __init__(self, dep, secret):
        self.d = dep
        self.secret = secret
        self.ids = ["dev-%03d" % i for i in range(N_CLIENTS)]
        self.tokens = {cid: token(secret, cid) for cid in self.ids}
        self.clients = {}
        self.home = {}

    def client(self, cid):
        return mqtt5raw.Client311("127.0.0.1", self.d.port, cid)

    async def round_trip(self, c, tag):
        """Subscribe to the client's own topic, publish, get it back."""
        topic = "devices/%s/echo" % c.client_id
        if await c.subscribe(topic) != 1:
            raise Failed("%s: SUBACK refused %s" % (c.client_id, topic))
        await c.publish(topic, tag.encode())
        while True:
            t, payload = await c.receive()
            if t == topic and payload == tag.encode():
                return

    async def connect_one(self, cid, retry_for=0.0, clean=True):
        deadline = time.monotonic() + retry_for
        while True:
            c = self.client(cid)
            try:
                rc = await c.connect(cid, self.tokens[cid], clean=clean)
            except (OSError, asyncio.TimeoutError, mqtt5raw.ConnectionClosed):
                rc = None
            if rc == 0:
                return c
            if rc not in (None,) or time.monotonic() > deadline:
                raise Failed("%s: CONNACK %r through HAProxy" % (cid, rc))
            await asyncio.sleep(0.5)

    async def connect_all(self, tag, ids, retry_for=0.0):
        async def one(cid):
            c = await self.connect_one(cid, retry_for)
            await self.round_trip(c, tag)
            self.clients[cid] = c
        await gather_bounded([one(cid) for cid in ids])

    def placement(self, connected, ids):
        """{client id: replica} for ids, each accepted by exactly one
        replica in `connected` (per replica lists of accepted ids)."""
        where = {}
        for r, seen in connected.items():
            for cid in set(seen) & set(ids):
                if cid in where:
                    raise Failed("%s accepted by both %s and %s" % (cid, where[cid], r))
                where[cid] = r
        missing = set(ids) - set(where)
        if missing:
            raise Failed("no replica logged %d client(s), e.g. %s"
                         % (len(missing), sorted(missing)[:5]))
        return where

    # ---- 1, 2 -------------------------------------------------------------
    def step_connect_300(self):
        t0 = time.monotonic()
        asyncio.run(self._step_connect_300())
        log("300 clients connected and round-tripped twice in %.1f s" % (time.monotonic() - t0))

    async def _step_connect_300(self):
        await self.connect_all("first", self.ids)
        first = self.d.connected()
        self.home = self.placement(first, self.ids)
        counts = {r: sum(1 for v in self.home.values() if v == r) for r in REPLICAS}
        log("first connection per replica: %s" % counts)
        if min(counts.values()) == 0:
            raise Failed("a replica served no client: %s" % counts)
        await gather_bounded([c.disconnect() for c in self.clients.values()])
        self.clients.clear()
        await self.connect_all("second", self.ids)
        second = self.d.connected()
        moved = []
        for r, seen in second.items():
            for cid in set(seen) & set(self.ids):
                n = seen.count(cid)
                if self.home[cid] != r or n != 2:
                    moved.append("%s: home %s, accepted %d time(s) by %s"
                                 % (cid, self.home[cid], n, r))
        if moved:
            raise Failed("reconnections not on the same replica:\n" + "\n".join(moved[:20]))
        log("every reconnection landed on the replica of the first connection")
        self.counts = counts
        # Keep the clients connected for step 5; the event loop ends here,
        # so they are re-made there.
        await gather_bounded([c.disconnect() for c in self.clients.values()])
        self.clients.clear()

    # ---- 2b ---------------------------------------------------------------
    def step_revocation(self):
        asyncio.run(self._step_revocation())

    async def _step_revocation(self):
        revoked_sub = "lost-device"
        chosen = await self._pick_per_replica("rev")
        log("client ids per replica for the revocation: %s" % chosen)
        tok = token(self.secret, revoked_sub)
        held = {}
        for r, cid in chosen.items():
            c = self.client(cid)
            rc = await c.connect(cid, tok)
            if rc != 0:
                raise Failed("%s (sub %s) refused on %s before the revocation (%r)"
                             % (cid, revoked_sub, r, rc))
            # Connected and served: its own topic under the sub's rule.
            topic = "devices/%s/%s" % (revoked_sub, cid)
            if await c.subscribe(topic) != 1:
                raise Failed("%s (sub %s): SUBACK refused %s" % (cid, revoked_sub, topic))
            await c.publish(topic, b"before-revocation")
            while (await c.receive()) != (topic, b"before-revocation"):
                pass
            held[r] = c
        if self.placement(self.d.connected(), list(chosen.values())) != \
                {cid: r for r, cid in chosen.items()}:
            raise Failed("revocation clients not on their replicas")
        path = os.path.join(self.d.revocation, "revoked")
        with open(path) as f:
            text = f.read()
        with open(path + ".new", "w") as f:
            f.write(text + "sub %s\n" % revoked_sub)
        os.chmod(path + ".new", 0o644)
        t0 = time.monotonic()
        os.rename(path + ".new", path)
        # Every replica disconnects its client of the revoked sub.
        for r, c in held.items():
            try:
                await asyncio.wait_for(c.closed.wait(), max(0.1, t0 + 3.0 - time.monotonic()))
            except asyncio.TimeoutError:
                raise Failed("%s: client %s of revoked sub %s still connected 3 s after "
                             "the revocation file changed" % (r, c.client_id, revoked_sub))
        took = time.monotonic() - t0
        for r, cid in chosen.items():
            want = "jwt-auth: disconnecting client %s from " % cid
            self.d.wait_for("%s logs the disconnection of %s" % (r, cid),
                            lambda: any(want in line and "revoked" in line
                                        for line in self.d.logs(r).splitlines()), 10)
        log("every replica disconnected its client of sub %s within %.1f s" % (revoked_sub, took))
        # Its token is refused through every replica (the same client ids:
        # HAProxy sends each to its replica); another sub still gets in.
        for r, cid in chosen.items():
            c = self.client(cid)
            rc = await c.connect(cid, tok)
            await c.disconnect()
            if rc != 5:
                raise Failed("%s: token of revoked sub %s got CONNACK %r, want 5"
                             % (r, revoked_sub, rc))
            want = "jwt-auth: refused client %s from " % cid
            self.d.wait_for("%s logs the refusal of %s as revoked" % (r, cid),
                            lambda: any(want in line and "revoked" in line
                                        for line in self.d.logs(r).splitlines()), 10)
            c = self.client(cid)
            rc = await c.connect(cid, token(self.secret, cid))
            await c.disconnect()
            if rc != 0:
                raise Failed("%s: token of sub %s (not revoked) got CONNACK %r" % (r, cid, rc))
            if self.placement(self.d.connected(), [cid])[cid] != r:
                raise Failed("%s moved away from %s during the revocation" % (cid, r))
        log("sub %s revoked in the shared file: refused by every replica, another sub "
            "accepted" % revoked_sub)

    # ---- 3 ----------------------------------------------------------------
    def step_bad_token(self):
        asyncio.run(self._step_bad_token())

    async def _step_bad_token(self):
        wrong = b"w" * 43
        for r in REPLICAS:
            cid = next(c for c in self.ids if self.home[c] == r)
            c = self.client(cid)
            rc = await c.connect(cid, token(wrong, cid))
            if rc != 5:
                raise Failed("bad token for %s (replica %s): CONNACK %r, want 5" % (cid, r, rc))
            want = "jwt-auth: refused client %s from " % cid
            self.d.wait_for("%s logs the refusal of %s" % (r, cid),
                            lambda: any(want in line and "bad signature" in line
                                        for line in self.d.logs(r).splitlines()), 10)
        log("a token with a wrong signature was refused by every replica")

    # ---- 3b ---------------------------------------------------------------
    def step_dns_outage(self):
        asyncio.run(self._step_dns_outage())

    async def _step_dns_outage(self):
        pids = self.d.dns_server_pids()
        if not pids:
            log("no aardvark-dns process on this host (engine %s): DNS outage step not run"
                % self.d.engine)
            return
        # Fresh ids per replica, picked while DNS works (the hash may send
        # the ids of step 1 elsewhere now that they are stuck).
        chosen = await self._pick_per_replica("dns")
        for cid in chosen.values():
            self.tokens[cid] = token(self.secret, cid)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            seen = []
            while time.monotonic() - t0 < DNS_OUTAGE:
                states = self.d.server_states()
                seen.append(states)
                out = sorted(r for r in REPLICAS if states.get(r) != "UP")
                if out:
                    raise Failed("container DNS silent for %.1f s: HAProxy took %s out of "
                                 "service (%s)" % (time.monotonic() - t0, ", ".join(out),
                                                   states))
                await asyncio.sleep(1)
            before = {r: len(v) for r, v in self.d.connected().items()}
            for r, cid in chosen.items():
                c = await self.connect_one(cid)
                await self.round_trip(c, "dns-outage")
                await c.disconnect()
            after = self.d.connected()
            for r, cid in chosen.items():
                if cid not in after[r][before[r]:]:
                    raise Failed("%s (replica %s) went elsewhere while DNS was silent" % (cid, r))
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        log("container DNS silent for %.1f s: every replica stayed in service (%d checks) and "
            "each took a new client" % (time.monotonic() - t0, len(seen)))

    # ---- 4, 5 -------------------------------------------------------------
    def step_replica_loss(self):
        asyncio.run(self._step_replica_loss())

    async def _durable_setup(self):
        """Per replica: a durable subscriber offline with 5 queued messages,
        published by another client id that lives on the same replica."""
        self.durable = {}
        for r in REPLICAS:
            on_r = [c for c in self.ids if self.home[c] == r]
            sub_id, pub_id = on_r[0], on_r[1]
            topic = "devices/%s/inbox" % sub_id
            s = self.client(sub_id)
            if await s.connect(sub_id, self.tokens[sub_id], clean=False) != 0:
                raise Failed("durable %s: refused" % sub_id)
            if await s.subscribe(topic) != 1:
                raise Failed("durable %s: SUBACK" % sub_id)
            await s.disconnect()
            p = self.client(pub_id)
            if await p.connect(pub_id, token(self.secret, sub_id)) != 0:
                raise Failed("publisher %s: refused" % pub_id)
            for i in range(5):
                await p.publish(topic, b"queued-%d" % i)
            await p.disconnect()
            self.durable[r] = (sub_id, topic)
        log("durable sessions offline with 5 queued messages: %s"
            % {r: v[0] for r, v in self.durable.items()})

    async def _step_replica_loss(self):
        await self._durable_setup()
        others = [c for c in self.ids if self.home[c] != STOPPED
                  and c not in {v[0] for v in self.durable.values()}]
        victims = [c for c in self.ids if self.home[c] == STOPPED
                   and c != self.durable[STOPPED][0]]
        # Everyone connected (clean sessions) before the loss.
        await self.connect_all("before-loss", others + victims)
        before = {r: len(v) for r, v in self.d.connected().items()}
        t0 = time.monotonic()
        self.d.e("stop", "-t", "5", self.d.names[STOPPED])
        # The victims' connections are closed by HAProxy when the server
        # side goes away.
        for cid in victims:
            try:
                await asyncio.wait_for(self.clients[cid].closed.wait(), 20)
            except asyncio.TimeoutError:
                raise Failed("%s still connected 20 s after %s stopped" % (cid, STOPPED))
        self.d.wait_for("HAProxy marks %s down" % STOPPED,
                        lambda: self.d.server_states().get(STOPPED) == "DOWN", 30)
        log("%s stopped; its %d clients disconnected; HAProxy: %s (%.1f s)"
            % (STOPPED, len(victims), self.d.server_states(), time.monotonic() - t0))
        for cid in victims:
            del self.clients[cid]
        await self.connect_all("after-loss", victims, retry_for=30)
        after = self.d.connected()
        placed = {}
        for r in REPLICAS:
            if r == STOPPED:
                continue
            for cid in after[r][before[r]:]:
                placed[cid] = r
        lost = [cid for cid in victims if cid not in placed]
        if lost:
            raise Failed("%d clients of %s not accepted by another replica, e.g. %s"
                         % (len(lost), STOPPED, lost[:5]))
        self.moved = placed
        self.victims = victims
        log("%d clients of %s reconnected with the same tokens: %s" % (
            len(victims), STOPPED,
            {r: sum(1 for c in victims if placed[c] == r) for r in REPLICAS if r != STOPPED}))
        # The survivors' clients kept their connections and keep publishing.
        for cid in others:
            if self.clients[cid].closed.is_set():
                raise Failed("%s (on %s) lost its connection" % (cid, self.home[cid]))
        await gather_bounded([self.round_trip(self.clients[c], "still-here") for c in others])
        log("%d clients on the surviving replicas kept their connections and published"
            % len(others))
        # Durable sessions: kept on the surviving replicas, gone with broker2.
        for r, (sub_id, topic) in self.durable.items():
            s = await self.connect_one(sub_id, retry_for=10, clean=False)
            got = []
            if r != STOPPED:
                if not s.session_present:
                    raise Failed("%s (on %s): session not present" % (sub_id, r))
                while len(got) < 5:
                    t, payload = await s.receive(10)
                    if t == topic:
                        got.append(payload)
                if got != [b"queued-%d" % i for i in range(5)]:
                    raise Failed("%s: queued messages %r" % (sub_id, got))
            elif s.session_present:
                raise Failed("%s: a session of the stopped replica appeared elsewhere" % sub_id)
            await s.disconnect()
        log("durable sessions on the surviving replicas got their 5 messages; "
            "%s's durable session is gone with it (sessions are per replica)" % STOPPED)
        await gather_bounded([c.disconnect() for c in self.clients.values()])
        self.clients.clear()

    # ---- 6 ----------------------------------------------------------------
    def step_return(self):
        self.d.e("start", self.d.names[STOPPED])
        self.d.wait_ready()
        asyncio.run(self._step_return())

    async def _step_return(self):
        """The stick table was updated when the lost replica's clients were
        sent elsewhere: after it returns they stay with their new sessions."""
        before = {r: len(v) for r, v in self.d.connected().items()}
        await self.connect_all("after-return", self.victims)
        after = self.d.connected()
        now = {}
        for r in REPLICAS:
            for cid in after[r][before.get(r, 0):]:
                now[cid] = r
        wrong = ["%s: %s, was moved to %s" % (c, now.get(c), self.moved[c])
                 for c in self.victims if now.get(c) != self.moved[c]]
        if wrong:
            raise Failed("after %s returned, clients moved away did not stay:\n%s"
                         % (STOPPED, "\n".join(wrong[:20])))
        await gather_bounded([c.disconnect() for c in self.clients.values()])
        self.clients.clear()
        log("%s is back; its former %d clients stay on the replicas that hold their "
            "sessions now" % (STOPPED, len(self.victims)))

    def step_rotation(self):
        asyncio.run(self._step_rotation())

    async def _pick_per_replica(self, prefix="rot"):
        """A fresh client id accepted by each replica (new ids spread by
        the hash; the ids of step 1 may be stuck elsewhere now)."""
        chosen, i = {}, 0
        while len(chosen) < len(REPLICAS):
            if i > 200:
                raise Failed("no fresh client id reached every replica: %s" % chosen)
            cid = "%s-%03d" % (prefix, i)
            i += 1
            c = self.client(cid)
            if await c.connect(cid, token(self.secret, cid)) != 0:
                raise Failed("%s refused before the rotation" % cid)
            await c.disconnect()
            where = self.placement(self.d.connected(), [cid])[cid]
            chosen.setdefault(where, cid)
        return chosen

    async def _step_rotation(self):
        chosen = await self._pick_per_replica()
        log("client ids per replica for the rotation: %s" % chosen)
        new_secret = os.urandom(32).hex().encode()
        path = os.path.join(self.d.tmp, "keys", "hs256.secret")
        with open(path + ".new", "wb") as f:
            f.write(new_secret + b"\n")
        self.d.own_secret(path + ".new")
        os.rename(path + ".new", path)
        for r in REPLICAS:
            self.d.e("kill", "-s", "HUP", self.d.names[r])
        for r, cid in chosen.items():
            deadline = time.monotonic() + 15
            while True:
                c = self.client(cid)
                rc = await c.connect(cid, token(new_secret, cid))
                await c.disconnect()
                if rc == 0:
                    break
                if time.monotonic() > deadline:
                    raise Failed("%s: new secret not accepted 15 s after SIGHUP (%r)" % (r, rc))
                await asyncio.sleep(0.5)
            c = self.client(cid)
            rc = await c.connect(cid, token(self.secret, cid))
            await c.disconnect()
            if rc != 5:
                raise Failed("%s: old secret still accepted after the rotation (%r)" % (r, rc))
            if self.placement(self.d.connected(), [cid])[cid] != r:
                raise Failed("%s moved away from %s during the rotation" % (cid, r))
        log("rotated HMAC secret + SIGHUP: new secret accepted, old refused, on every replica")
        # The steps after this one sign their HS256 tokens with the new secret.
        self.secret = new_secret

    # ---- 8 ----------------------------------------------------------------
    def step_jwks(self):
        asyncio.run(self._step_jwks())

    def unknown_kid_lines(self, r, cid):
        """How many refusals of cid as `unknown kid` replica r logged."""
        want = "jwt-auth: refused client %s from " % cid
        return sum(1 for line in self.d.logs(r).splitlines()
                   if want in line and "unknown kid" in line)

    async def _try(self, cid, tok):
        c = self.client(cid)
        try:
            rc = await c.connect(cid, tok)
        except (OSError, asyncio.TimeoutError, mqtt5raw.ConnectionClosed):
            rc = None
        await c.disconnect()
        return rc

    async def _until(self, r, cid, tok, want, within, what):
        """Connect cid with tok every 0.5 s until CONNACK `want`, for at
        most `within` seconds: (seconds taken, first CONNACK)."""
        t0 = time.monotonic()
        first = None
        while True:
            rc = await self._try(cid, tok)
            if first is None:
                first = rc
            if rc == want:
                return time.monotonic() - t0, first
            if time.monotonic() - t0 > within:
                raise Failed("%s: %s: still CONNACK %r after %.0f s (want %r)"
                             % (r, what, rc, within, want))
            await asyncio.sleep(0.5)

    async def _step_jwks(self):
        d = self.d
        k1, k1_kid = d.k1, d.k1[0]
        # Every replica fetched the JWKS (K1) from https://jwks/ at start.
        for r in REPLICAS:
            d.wait_for("%s logs its fetch of %s" % (r, JWKS_URL),
                       lambda: any("JWKS %s: fetched" % JWKS_URL in line and k1_kid in line
                                   for line in d.logs(r).splitlines()), 30)
        chosen = await self._pick_per_replica("jwk")
        log("client ids per replica for the JWKS: %s" % chosen)
        # A key published only in the JWKS: accepted through every replica.
        for r, cid in chosen.items():
            rc = await self._try(cid, jwk_token(k1, cid))
            if rc != 0:
                raise Failed("%s: token of kid %s (JWKS only) got CONNACK %r" % (r, k1_kid, rc))
        log("a token signed by a key only in the JWKS (kid %s) accepted by every replica"
            % k1_kid)
        # Rotation at the source, no SIGHUP: a new key K2 is published
        # next to K1; its first use makes each replica refetch.
        k2 = d.new_jwk("k2")
        d.publish_jwks([k1, k2])
        t0 = time.monotonic()
        took = {}
        for r, cid in chosen.items():
            secs, first = await self._until(r, cid, jwk_token(k2, cid), 0,
                                            max(1.0, t0 + 10 - time.monotonic()),
                                            "token of the new kid %s" % k2[0])
            took[r] = "%.1f s, first CONNACK %r" % (secs, first)
            if first == 5:
                d.wait_for("%s logs unknown kid for %s" % (r, cid),
                           lambda: self.unknown_kid_lines(r, cid) > 0, 10)
        log("new kid published (no SIGHUP): accepted by every replica: %s" % took)
        for r, cid in chosen.items():
            if await self._try(cid, jwk_token(k1, cid)) != 0:
                raise Failed("%s: K1 refused while the JWKS still holds it" % r)
        # K1 removed at the source: gone from every replica after its next
        # refresh (jwks_refresh 10 s in mosquitto.conf), no SIGHUP.
        before = {r: self.unknown_kid_lines(r, cid) for r, cid in chosen.items()}
        d.publish_jwks([k2])
        t0 = time.monotonic()
        took = {}
        for r, cid in chosen.items():
            secs, _ = await self._until(r, cid, jwk_token(k1, cid), 5,
                                        max(1.0, t0 + 20 - time.monotonic()),
                                        "token of the removed kid %s" % k1_kid)
            took[r] = "%.1f s" % (time.monotonic() - t0)
            d.wait_for("%s logs unknown kid for %s" % (r, cid),
                       lambda: self.unknown_kid_lines(r, cid) > before[r], 10)
            d.wait_for("%s logs kid %s removed" % (r, k1_kid),
                       lambda: any("JWKS %s: key set changed" % JWKS_URL in line and
                                   ("removed kid(s): %s" % k1_kid) in line
                                   for line in d.logs(r).splitlines()), 10)
            rc = await self._try(cid, jwk_token(k2, cid))
            if rc != 0:
                raise Failed("%s: token of kid %s refused after K1's removal (%r)"
                             % (r, k2[0], rc))
            if self.placement(d.connected(), [cid])[cid] != r:
                raise Failed("%s moved away from %s during the JWKS rotation" % (cid, r))
        log("old kid removed at the source (no SIGHUP): refused by every replica after the "
            "refresh (%s after the change); new kid still accepted" % took)


def config_lines(path, drop=()):
    """The non-comment, non-blank lines of a configuration file, less
    those starting with one of `drop`."""
    with open(path) as f:
        lines = [l.strip() for l in f]
    return [l for l in lines if l and not l.startswith("#") and not l.startswith(drop)]


def check_kubernetes_copies(dep):
    """The Kubernetes example keeps copies of haproxy.cfg and
    mosquitto.conf (kustomize reads only files below its folder): they must
    differ only where they say. Then `kubectl kustomize` (if kubectl is
    here) must build it and HAProxy must accept its haproxy.cfg."""
    k8s = os.path.join(SCALE_DIR, "kubernetes")
    a = config_lines(os.path.join(SCALE_DIR, "haproxy.cfg"), ("server ", "resolvers ", "default-server "))
    b = config_lines(os.path.join(k8s, "haproxy.cfg"), ("server ", "resolvers ", "default-server "))
    if a != b:
        raise Failed("kubernetes/haproxy.cfg differs from haproxy.cfg beyond servers and resolvers")
    a = config_lines(os.path.join(SOURCE_DIR, "docker", "mosquitto.conf"))
    b = config_lines(os.path.join(SCALE_DIR, "mosquitto.conf"),
                     ("plugin_opt_revocation_file", "plugin_opt_jwks_"))
    if a != b:
        raise Failed("scale-out/mosquitto.conf differs from docker/mosquitto.conf beyond "
                     "revocation_file and jwks_*")
    jwks_lines = [l for l in config_lines(os.path.join(SCALE_DIR, "mosquitto.conf"))
                  if l.startswith("plugin_opt_jwks_")]
    if jwks_lines != ["plugin_opt_jwks_url " + JWKS_URL,
                      "plugin_opt_jwks_ca_file /etc/mosquitto/jwt/jwks-ca/ca.pem",
                      "plugin_opt_jwks_refresh 10"]:
        raise Failed("scale-out/mosquitto.conf: jwks lines %r" % jwks_lines)
    a = config_lines(os.path.join(SCALE_DIR, "mosquitto.conf"), ("plugin_opt_acl_file",))
    b = config_lines(os.path.join(k8s, "mosquitto.conf"), ("plugin_opt_acl_file",))
    if a != b:
        raise Failed("kubernetes/mosquitto.conf differs from scale-out/mosquitto.conf beyond "
                     "acl_file")
    with open(os.path.join(SCALE_DIR, "revocation", "revoked")) as f1, \
            open(os.path.join(k8s, "revoked")) as f2:
        if f1.read() != f2.read():
            raise Failed("kubernetes/revoked differs from scale-out/revocation/revoked")
    with open(os.path.join(SCALE_DIR, "jwks", "jwks.json")) as f1, \
            open(os.path.join(k8s, "jwks.json")) as f2:
        if f1.read() != f2.read():
            raise Failed("kubernetes/jwks.json differs from scale-out/jwks/jwks.json")
    dep.e("run", "--rm", "-v", "%s:/etc/haproxy/haproxy.cfg:ro" % os.path.join(k8s, "haproxy.cfg"),
          HAPROXY_IMAGE, "haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg", quiet=True)
    if not shutil.which("kubectl"):
        log("kubernetes: copies agree, haproxy -c passes; no kubectl: kustomize build not run")
        return
    tmp = tempfile.mkdtemp(prefix="mja-k8s-")
    try:
        dst = os.path.join(tmp, "k")
        shutil.copytree(k8s, dst)
        shutil.copytree(os.path.join(EXAMPLES, "keys"), os.path.join(dst, "keys"))
        shutil.copy(os.path.join(EXAMPLES, "acl.conf"), dst)
        run(["sh", os.path.join(SCALE_DIR, "jwks-tls.sh"), os.path.join(dst, "jwks-tls"),
             "jwks"], quiet=True)
        out = run(["kubectl", "kustomize", dst], quiet=True).stdout
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    kinds = sorted(set(re.findall(r"(?m)^kind: (\w+)", out)))
    if kinds != ["ConfigMap", "Deployment", "Secret", "Service", "StatefulSet"]:
        raise Failed("kubectl kustomize: kinds %s" % kinds)
    names = set(re.findall(r"(?m)^  name: ([\w-]+)$", out))
    want = {"jwks", "jwks-public", "jwks-ca", "jwks-tls"}
    if not want <= names:
        raise Failed("kubectl kustomize: no %s" % sorted(want - names))
    log("kubernetes: copies agree, haproxy -c passes, kubectl kustomize builds %s" % kinds)


def main():
    t0 = time.monotonic()
    timings = []
    d = Deployment()

    def step(what, fn, *a):
        t = time.monotonic()
        log("--- " + what)
        fn(*a)
        timings.append((what, time.monotonic() - t))

    try:
        d.prepare()
        with open(os.path.join(EXAMPLES, "keys", "hs256.secret"), "rb") as f:
            secret = f.read().rstrip(b"\r\n")
        step("build images (layer cache)", d.build)
        step("kubernetes example (static)", check_kubernetes_copies, d)
        step("compose up", d.up)
        step("wait until healthy", d.wait_ready)
        d.check_no_secret_warning()
        s = Scenario(d, secret)
        step("300 clients, twice", s.step_connect_300)
        step("revoked sub refused everywhere", s.step_revocation)
        step("bad token on every replica", s.step_bad_token)
        step("container DNS silent", s.step_dns_outage)
        step("lose a replica", s.step_replica_loss)
        step("the lost replica returns", s.step_return)
        step("key rotation on every replica", s.step_rotation)
        step("JWKS keys, rotated at the source", s.step_jwks)
        d.check_no_secret_warning()
    except Skip as e:
        print("SKIP: scale-out test not run: %s" % e, flush=True)
        return SKIP
    except (Failed, mqtt5raw.ConnectionClosed, asyncio.TimeoutError) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), flush=True)
        for svc in d.names:
            lines = d.logs(svc).splitlines()
            print("---- log tail of %s" % svc)
            print("\n".join(lines[-15:]))
            if svc == "haproxy":
                # Server state changes (health checks, DNS) scroll out of
                # the tail behind the connection lines.
                print("---- server state changes in haproxy's log")
                print("\n".join(l for l in lines
                                if "Server brokers/" in l or "DNS" in l or "resol" in l))
        return 1
    finally:
        if d.engine:
            t = time.monotonic()
            d.down()
            timings.append(("compose down", time.monotonic() - t))
        for what, secs in timings:
            log("%-34s %6.1f s" % (what, secs))
        log("total %.1f s" % (time.monotonic() - t0))
    print("PASS: 300 clients through HAProxy on 3 replicas, sticky by client id, "
          "revoked sub refused everywhere, bad token refused everywhere, replica loss "
          "survived, rotation on every replica, JWKS rotation without SIGHUP on every replica")
    return 0


if __name__ == "__main__":
    sys.exit(main())
