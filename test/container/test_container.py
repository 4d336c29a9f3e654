"""test_container.py - the Docker image, tested for real in a container engine.

Builds docker/Dockerfile, starts the image with its configuration mounted
from the host the way docker/compose.yaml does (-p 127.0.0.1:<free port>:1883),
waits for the image's HEALTHCHECK to report healthy, checks the published
port, the unprivileged user and the tool, runs the end-to-end suite
(test/e2e) in external-broker mode against the container, replaces the
mounted HMAC secret and reloads with `kill -s HUP`, then stops and removes
the container. A second container runs the image with nothing mounted (its
baked-in example configuration) and must accept a demo token. Last,
docker/compose.yaml itself is started with the compose tool (podman-compose
or `docker compose`) the way README "Docker" does, on the image just built
(MJA_BROKER_IMAGE) and a free host port (MJA_BROKER_PORT), under a project
name of its own: healthy, anonymous refused, a demo token accepted, SIGHUP
reloads, `down` removes it. Every step
has a time limit; the whole test stays under the ctest TIMEOUT (900 s) set
in tests.cmake.

The engine: Docker if `docker info` answers, else Podman with
docker/containers.conf (runc, no default ulimits). When run as root with
CI=true or MJA_CONTAINER=1, scripts/container-setup.sh is run first: it
installs podman, runc, podman-compose and debootstrap and makes the base
image locally (there is no image registry on the CI machine).

The image is built on the Dockerfile's default Debian release (13, trixie)
unless MJA_DEBIAN_SUITE names another (bookworm, sid): it is passed as the
build argument DEBIAN_SUITE, and the base image of that release is the one
made by scripts/container-setup.sh.

Exit status: 0 passed, 1 failed, 77 skipped (no engine can be had; the
reason is printed). MJA_CONTAINER=0 skips on purpose.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import jwt  # python3-jwt

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
E2E_DIR = os.path.join(SOURCE_DIR, "test", "e2e")
EXAMPLES = os.path.join(SOURCE_DIR, "config-examples")
sys.path.insert(0, E2E_DIR)
import mqtt5raw as raw  # noqa: E402  (the test tree's one raw MQTT client)


def dockerfile_default_suite():
    with open(os.path.join(SOURCE_DIR, "docker", "Dockerfile")) as f:
        m = re.search(r"^ARG DEBIAN_SUITE=(\w+)$", f.read(), re.M)
    return m.group(1) if m else None


SUITE = os.environ.get("MJA_DEBIAN_SUITE") or dockerfile_default_suite()
BASE_IMAGE = "docker.io/library/debian:%s-slim" % SUITE
# A mirror snapshot's sid Release file can be past its Valid-Until date.
BUILD_ARGS = ["--build-arg", "DEBIAN_SUITE=%s" % SUITE]
if SUITE == "sid":
    BUILD_ARGS += ["--build-arg", "APT_UPDATE_OPTS=-o Acquire::Check-Valid-Until=false"]
IMAGE = "mosquitto-jwt-auth:ctest"
SKIP = 77

BUILD_TIMEOUT = 480
HEALTH_TIMEOUT = 60
E2E_TIMEOUT = 240
STEP_TIMEOUT = 60
# Every step also ends by this deadline, well inside the ctest TIMEOUT (900 s),
# so that the container is always stopped and removed by this script.
DEADLINE = time.monotonic() + 780
CLEANUP_RESERVE = 60


class Skip(Exception):
    pass


class Failed(Exception):
    pass


def log(msg):
    print("container: " + msg, flush=True)


def run(argv, timeout=STEP_TIMEOUT, check=True, env=None, quiet=False, **kw):
    """Run a command with a time limit; return CompletedProcess (text)."""
    if not quiet:
        log("$ " + " ".join(argv))
    if not kw.pop("cleanup", False):
        left = DEADLINE - CLEANUP_RESERVE - time.monotonic()
        if left < 1:
            raise Failed("out of time (the whole test is bounded) before: " + " ".join(argv))
        timeout = min(timeout, left)
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, text=True, timeout=timeout,
                           env=env, **kw)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise Failed("timed out after %.0f s: %s\n%s" % (timeout, " ".join(argv), out[-4000:]))
    if check and p.returncode != 0:
        raise Failed("exit %d: %s\n%s" % (p.returncode, " ".join(argv), p.stdout[-4000:]))
    return p


def setup_allowed():
    return os.geteuid() == 0 and (os.environ.get("CI") == "true"
                                  or os.environ.get("MJA_CONTAINER") == "1")


class Engine:
    """`docker` or `podman`, with the environment it needs."""

    def __init__(self, name, env):
        self.name = name
        self.env = env

    def __call__(self, *args, **kw):
        return run([self.name] + list(args), env=self.env, **kw)

    @property
    def is_podman(self):
        return self.name == "podman"


def docker_engine():
    if not shutil.which("docker"):
        return None, "no docker command"
    try:
        p = subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None, "`docker info` did not answer in 20 s"
    if p.returncode != 0:
        return None, "`docker info` failed: " + (p.stderr.strip().splitlines() or ["?"])[-1]
    return Engine("docker", dict(os.environ)), None


def podman_engine():
    env = dict(os.environ)
    # The project's containers.conf (runc, no default ulimits) unless the
    # caller chose one.
    env.setdefault("CONTAINERS_CONF", os.path.join(SOURCE_DIR, "docker", "containers.conf"))
    if setup_allowed():
        setup = os.path.join(SOURCE_DIR, "scripts", "container-setup.sh")
        t0 = time.monotonic()
        try:
            p = run(["bash", setup, SUITE], timeout=420, check=False, env=env)
        except Failed as e:
            return None, "scripts/container-setup.sh: %s" % e
        print(p.stdout, end="")
        log("setup took %.0f s" % (time.monotonic() - t0))
        if p.returncode != 0:
            return None, "scripts/container-setup.sh failed (exit %d), see above" % p.returncode
    if not shutil.which("podman"):
        return None, ("no podman (as root, run with MJA_CONTAINER=1 or CI=true to install it "
                      "with scripts/container-setup.sh)")
    if env["CONTAINERS_CONF"].endswith("docker/containers.conf") and not shutil.which("runc"):
        return None, "podman without runc (apt-get install runc, or set CONTAINERS_CONF)"
    p = run(["podman", "image", "exists", BASE_IMAGE], check=False, env=env, quiet=True)
    if p.returncode != 0:
        return None, ("podman has no %s and may not pull it here; run "
                      "scripts/container-setup.sh (root) or `podman pull debian:%s-slim`"
                      % (BASE_IMAGE, SUITE))
    return Engine("podman", env), None


def find_engine():
    if os.environ.get("MJA_CONTAINER") == "0":
        raise Skip("MJA_CONTAINER=0")
    forced = os.environ.get("MJA_CONTAINER_ENGINE")
    reasons = []
    for name, probe in (("docker", docker_engine), ("podman", podman_engine)):
        if forced and forced != name:
            continue
        engine, why = probe()
        if engine:
            return engine
        reasons.append("%s: %s" % (name, why))
    raise Skip("no container engine: " + "; ".join(reasons))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connack(port, username=None, password=None, timeout=3.0):
    """MQTT 3.1.1 CONNECT to 127.0.0.1:port; the CONNACK return code, or
    None if no CONNACK came."""
    return raw.connack_311("127.0.0.1", port, "mja-container-test", username, password,
                           timeout, keepalive=10)


def example_plugin_opts(path):
    with open(path) as f:
        return [line.strip() for line in f if line.startswith("plugin_opt_")]


def hs256_token(secret, sub):
    """A token the example configuration accepts (iss, aud from
    config-examples/mosquitto.conf), signed with the given HMAC secret."""
    opts = dict(o.split(None, 1) for o in example_plugin_opts(
        os.path.join(EXAMPLES, "mosquitto.conf")) if " " in o)
    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + 300,
              "iss": opts["plugin_opt_issuer"].split()[0],
              "aud": opts["plugin_opt_audience"].split()[0]}
    return jwt.encode(claims, secret, algorithm="HS256")


class ContainerTest:
    def __init__(self, engine, suffix=""):
        self.e = engine
        self.name = "mja-ctest-%d%s" % (os.getpid(), suffix)
        self.port = None
        self.tmp = None
        self.timings = []

    def step(self, what, fn, *args):
        t0 = time.monotonic()
        log("--- " + what)
        r = fn(*args)
        self.timings.append((what, time.monotonic() - t0))
        return r

    def check_docker_conf(self):
        # The image's mosquitto.conf must keep the example's plugin options:
        # the e2e suite mints its tokens from config-examples/.
        mine = example_plugin_opts(os.path.join(SOURCE_DIR, "docker", "mosquitto.conf"))
        theirs = example_plugin_opts(os.path.join(EXAMPLES, "mosquitto.conf"))
        if mine != theirs:
            raise Failed("docker/mosquitto.conf plugin_opt lines differ from "
                         "config-examples/mosquitto.conf:\n%s\nvs\n%s"
                         % ("\n".join(mine), "\n".join(theirs)))

    def build(self):
        old = self.e("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False, quiet=True)
        args = ["build", "-f", "docker/Dockerfile", "-t", IMAGE] + BUILD_ARGS
        if self.e.is_podman:
            args[1:1] = ["--format", "docker"]  # else HEALTHCHECK is dropped
        p = self.e(*args, ".", timeout=BUILD_TIMEOUT, cwd=SOURCE_DIR)
        print(p.stdout[-1500:], end="")
        new = self.e("image", "inspect", "--format", "{{.Id}}", IMAGE, quiet=True).stdout.strip()
        if old.returncode == 0 and old.stdout.strip() not in ("", new):
            self.e("rmi", old.stdout.strip(), check=False, quiet=True)

    def start(self, mount=True):
        """With mount, the configuration is mounted from the host, as
        docker/compose.yaml does: a folder, so that files replaced on the
        host are seen after a reload, readable by the container's mosquitto
        user. Without, the image runs with the configuration baked into it."""
        self.port = free_port()
        args = ["run", "-d", "--name", self.name, "-p", "127.0.0.1:%d:1883" % self.port]
        if mount:
            self.tmp = tempfile.mkdtemp(prefix="mja-ctest-")
            jwt_dir = os.path.join(self.tmp, "jwt")
            shutil.copytree(os.path.join(EXAMPLES, "keys"), os.path.join(jwt_dir, "keys"))
            shutil.copy(os.path.join(EXAMPLES, "acl.conf"), jwt_dir)
            run(["chmod", "-R", "a+rX", self.tmp], quiet=True)
            # The HMAC secret readable by the broker's user only (the
            # plugin warns about a secret every user can read).
            self.secret_owner = self.mosquitto_ids()
            self.own_secret(os.path.join(jwt_dir, "keys", "hs256.secret"))
            args += ["-v", "%s:/etc/mosquitto/mosquitto.conf:ro"
                     % os.path.join(SOURCE_DIR, "docker", "mosquitto.conf"),
                     "-v", "%s:/etc/mosquitto/jwt:ro" % jwt_dir]
        if not self.e.is_podman:
            args += ["--health-interval", "2s"]
        self.e(*args, IMAGE)

    def mosquitto_ids(self):
        """(uid, gid) of the image's mosquitto user (rootful engine: the
        same numbers on the host)."""
        out = self.e("run", "--rm", IMAGE, "sh", "-c", "id -u; id -g", quiet=True).stdout.split()
        return int(out[-2]), int(out[-1])

    def own_secret(self, path):
        os.chown(path, *self.secret_owner)
        os.chmod(path, 0o600)

    def check_no_secret_warning(self, logs):
        bad = [l for l in logs.splitlines() if "readable by every user" in l]
        if bad:
            raise Failed("the broker warns about the secret's mode:\n" + "\n".join(bad))

    def running(self):
        p = self.e("inspect", "--format", "{{.State.Running}}", self.name, check=False, quiet=True)
        return p.stdout.strip() == "true"

    def health(self):
        p = self.e("inspect", "--format", "{{json .State.Health}}", self.name,
                   check=False, quiet=True)
        try:
            return (json.loads(p.stdout) or {}).get("Status", "")
        except ValueError:
            return ""

    def wait_healthy(self):
        """The image's own HEALTHCHECK must report healthy. Podman runs
        health checks from systemd timers, absent here: run it by hand."""
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running():
                raise Failed("container stopped:\n" + self.logs())
            if self.e.is_podman:
                self.e("healthcheck", "run", self.name, check=False, quiet=True)
            if self.health() == "healthy":
                log("healthy")
                return
            time.sleep(1)
        raise Failed("not healthy after %d s (status %r):\n%s"
                     % (HEALTH_TIMEOUT, self.health(), self.logs()))

    def logs(self):
        try:
            return self.e("logs", self.name, check=False, quiet=True, timeout=20,
                          cleanup=True).stdout[-6000:]
        except Failed as e:
            return "(no logs: %s)" % e

    def check_basics(self):
        rc = connack(self.port)
        if rc != 5:
            raise Failed("anonymous CONNECT through 127.0.0.1:%d: CONNACK %r, want 5 "
                         "(not authorised)" % (self.port, rc))
        log("published port 127.0.0.1:%d answers; anonymous refused" % self.port)
        # USER mosquitto in the image (a broker started as root would also
        # drop to mosquitto by itself, so check both).
        user = self.e("image", "inspect", "--format", "{{.Config.User}}", IMAGE).stdout.strip()
        if user != "mosquitto":
            raise Failed("image USER is %r, want mosquitto" % user)
        user = self.e("exec", self.name, "stat", "-c", "%U", "/proc/1").stdout.strip()
        if user != "mosquitto":
            raise Failed("broker (PID 1) runs as %r, want mosquitto" % user)
        p = self.e("exec", self.name, "mosquitto_jwt", "inspect", hs256_token(b"x" * 32, "t"),
                   check=False)
        if p.returncode != 0 or '"sub"' not in p.stdout:
            raise Failed("mosquitto_jwt inspect in the image: exit %d\n%s"
                         % (p.returncode, p.stdout))
        self.check_no_secret_warning(self.logs())
        log("broker runs as mosquitto; mosquitto_jwt works in the image; "
            "no warning about the secret's mode")

    def run_e2e(self):
        tests = sorted(f[:-3] for f in os.listdir(E2E_DIR)
                       if f.startswith("test_") and f.endswith(".py"))
        if not tests:
            raise Failed("no test/e2e/test_*.py")
        env = dict(os.environ, MJA_E2E_HOST="127.0.0.1", MJA_E2E_PORT=str(self.port),
                   MJA_E2E_CONF_DIR=EXAMPLES, PYTHONDONTWRITEBYTECODE="1")
        p = run([sys.executable, "-m", "unittest", "-v"] + tests, timeout=E2E_TIMEOUT,
                check=False, env=env, cwd=E2E_DIR)
        print(p.stdout, end="")
        ran = re.search(r"^Ran (\d+) tests?", p.stdout, re.M)
        skipped = re.search(r"skipped=(\d+)", p.stdout)
        n = int(ran.group(1)) if ran else 0
        s = int(skipped.group(1)) if skipped else 0
        if p.returncode != 0:
            raise Failed("end-to-end suite against the container failed (exit %d)" % p.returncode)
        if n - s <= 0:
            raise Failed("end-to-end suite ran no test against the container")
        log("e2e against the container: %d tests ran, %d skipped (external mode)" % (n - s, s))

    def check_reload(self):
        """Replace the mounted HMAC secret, `kill -s HUP`: a token signed
        with the new secret is then accepted, one with the old refused."""
        secret_path = os.path.join(self.tmp, "jwt", "keys", "hs256.secret")
        with open(secret_path, "rb") as f:
            old_secret = f.read().rstrip(b"\r\n")
        new_secret = os.urandom(32).hex().encode()
        sub = "dev-reload"
        old_tok, new_tok = hs256_token(old_secret, sub), hs256_token(new_secret, sub)
        if connack(self.port, sub, old_tok) != 0 or connack(self.port, sub, new_tok) != 5:
            raise Failed("before reload: old secret must work, new must not\n" + self.logs())
        tmp = secret_path + ".new"
        with open(tmp, "wb") as f:
            f.write(new_secret + b"\n")
        self.own_secret(tmp)
        os.rename(tmp, secret_path)
        self.e("kill", "-s", "HUP", self.name)
        deadline = time.monotonic() + 10
        while connack(self.port, sub, new_tok) != 0:
            if time.monotonic() > deadline:
                raise Failed("new secret not accepted 10 s after SIGHUP\n" + self.logs())
            time.sleep(0.2)
        if connack(self.port, sub, old_tok) != 5:
            raise Failed("old secret still accepted after reload\n" + self.logs())
        if not self.running() or "Reloading config" not in self.logs():
            raise Failed("broker did not log the reload or stopped\n" + self.logs())
        self.check_no_secret_warning(self.logs())
        log("SIGHUP reloaded the mounted secret; no warning about the secret's mode")

    def check_baked_config(self):
        """The image as shipped, nothing mounted: healthy, and a token made
        with the demo HS256 secret from config-examples/ is accepted."""
        with open(os.path.join(EXAMPLES, "keys", "hs256.secret"), "rb") as f:
            secret = f.read().rstrip(b"\r\n")
        baked = ContainerTest(self.e, "-baked")
        try:
            baked.start(mount=False)
            baked.wait_healthy()
            rc = connack(baked.port, "dev-1", hs256_token(secret, "dev-1"))
            if rc != 0:
                raise Failed("image without mounts: demo HS256 token got CONNACK %r\n%s"
                             % (rc, baked.logs()))
            self.check_no_secret_warning(baked.logs())
            log("image with its own configuration accepts a demo token; "
                "no warning about the secret's mode")
        finally:
            baked.stop()

    def check_compose(self):
        """docker/compose.yaml as README "Docker" runs it (see the header)."""
        if self.e.is_podman:
            if not shutil.which("podman-compose"):
                raise Failed("podman without podman-compose (apt-get install podman-compose)")
            compose = ["podman-compose"]
        else:
            compose = ["docker", "compose"]
        project = "mja-ctest-compose-%d" % os.getpid()
        # podman-compose 1.0 names containers PROJECT_SERVICE_N, compose v2 PROJECT-SERVICE-N
        name = "%s_broker_1" % project if self.e.is_podman else "%s-broker-1" % project
        port = free_port()
        env = dict(self.e.env, MJA_BROKER_PORT=str(port), MJA_BROKER_IMAGE=IMAGE)
        base = compose + ["-p", project, "-f", os.path.join(SOURCE_DIR, "docker", "compose.yaml")]
        with open(os.path.join(EXAMPLES, "keys", "hs256.secret"), "rb") as f:
            secret = f.read().rstrip(b"\r\n")
        c = ContainerTest(self.e)
        c.name = name

        def token_ok():
            return connack(port, "dev-1", hs256_token(secret, "dev-1")) == 0

        try:
            run(base + ["up", "-d"], env=env, timeout=120, cwd=SOURCE_DIR)
            c.wait_healthy()
            deadline = time.monotonic() + 30
            while not token_ok():
                if time.monotonic() > deadline:
                    raise Failed("compose broker on 127.0.0.1:%d: demo token refused\n%s"
                                 % (port, c.logs()))
                time.sleep(0.5)
            if connack(port) != 5:
                raise Failed("compose broker: anonymous CONNECT not refused\n" + c.logs())
            # README: `docker compose ... kill -s HUP broker`; podman-compose
            # 1.0 has no kill, so `podman kill -s HUP <container>`
            if self.e.is_podman:
                self.e("kill", "-s", "HUP", name)
            else:
                run(base + ["kill", "-s", "HUP", "broker"], env=env, cwd=SOURCE_DIR)
            deadline = time.monotonic() + 10
            while "reloaded" not in c.logs():
                if time.monotonic() > deadline:
                    raise Failed("compose broker: no reload logged after SIGHUP\n" + c.logs())
                time.sleep(0.5)
            if not c.running() or not token_ok():
                raise Failed("compose broker: not serving after SIGHUP\n" + c.logs())
            log("docker/compose.yaml: healthy on 127.0.0.1:%d, demo token accepted, "
                "anonymous refused, SIGHUP reloaded" % port)
        finally:
            run(base + ["down"], env=env, check=False, timeout=90, cleanup=True, cwd=SOURCE_DIR)
        if c.running():
            raise Failed("compose broker still running after `down`")

    def stop(self):
        try:
            self.e("stop", "-t", "5", self.name, check=False, timeout=30, cleanup=True)
            self.e("rm", "-f", self.name, check=False, timeout=20, cleanup=True)
        finally:
            if self.tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def main(self):
        self.step("configuration", self.check_docker_conf)
        self.step("build image", self.build)
        try:
            self.step("start container", self.start)
            self.step("wait for health", self.wait_healthy)
            self.step("port, user, tool", self.check_basics)
            self.step("e2e suite (external mode)", self.run_e2e)
            self.step("reload with SIGHUP", self.check_reload)
            self.wait_healthy()
            self.step("image without mounts", self.check_baked_config)
            self.step("docker/compose.yaml", self.check_compose)
        except Failed:
            print(self.logs())
            raise
        finally:
            self.step("stop and remove", self.stop)


def main():
    t0 = time.monotonic()
    try:
        engine = find_engine()
    except Skip as e:
        print("SKIP: container test not run: %s" % e, flush=True)
        return SKIP
    log("engine: %s" % engine.name)
    t = ContainerTest(engine)
    try:
        t.main()
    except Failed as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    finally:
        for what, secs in t.timings:
            log("%-28s %6.1f s" % (what, secs))
        log("total %.1f s" % (time.monotonic() - t0))
    print("PASS: image built, broker healthy in the container, e2e suite and reload passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
