"""test_package.py - the Debian package, built and installed for real.

1. Builds the package from a copy of the source tree with
   `dpkg-buildpackage -us -uc -b` (on this machine, so on its Debian
   release) and runs lintian on the result: no error and no warning.
2. Starts a clean container of the same Debian release
   (docker.io/library/debian:<codename>-slim, made locally with debootstrap
   by `scripts/container-setup.sh <codename>`) and installs the package there with
   `apt-get install ./mosquitto-jwt-auth_*.deb`, which pulls Debian's
   mosquitto from the release's own archive.
3. Follows the snippet /etc/mosquitto/conf.d/jwt-auth.conf: the demo EC key
   (config-examples/) as /etc/mosquitto/jwt/jwt.pub.pem, the packaged ACL
   example, the snippet's seven lines uncommented. Starts the broker as the
   package's service would (root, dropping to mosquitto) and checks: a token
   minted by the installed `mosquitto_jwt` publishes and is received, the
   same token one character off and an anonymous client are refused,
   `mosquitto_jwt verify --config` finds the plugin through include_dir,
   and with the snippet's optional lines uncommented as well it still
   accepts the configuration (they name real options with valid values).
4. Stops the broker, removes the operator's own files (/etc/mosquitto/jwt),
   purges the package and checks that nothing is left behind: dpkg has no
   record of it, none of its files remain, and the file tree is the one
   before the package's files were used, less those files (the package has
   no maintainer scripts, so installing created nothing but its files; the
   test fails if scripts appear). Its dependencies stay installed.

Needs root (rootful Podman; dpkg-buildpackage and lintian run as they would
in CI), Podman or Docker, debhelper and lintian. As root with CI=true or
MJA_CONTAINER=1 it installs what is missing (`scripts/container-setup.sh
<codename>` for the engine and the base image, then debhelper, lintian and the build dependencies through apt-get).
Otherwise it is skipped with the reason (exit 77), never passed.
MJA_CONTAINER=0 skips it. Every step has a time limit; the whole test is
bounded by DEADLINE, inside the ctest TIMEOUT of tests.cmake.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(SOURCE_DIR, "config-examples")
PACKAGE = "mosquitto-jwt-auth"
SNIPPET = "/etc/mosquitto/conf.d/jwt-auth.conf"
ISSUER, AUDIENCE = "https://issuer.example.com", "mqtt.example.com"
SKIP = 77
STEP_TIMEOUT = 120
DEADLINE = time.monotonic() + 840
CLEANUP_RESERVE = 40
# Paths that change with any apt-get run or broker start: not package files.
VOLATILE = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/var/lib/apt",
            "/var/lib/dpkg", "/var/cache", "/var/log", "/var/lib/mosquitto",
            "/var/lib/systemd/deb-systemd", "/etc/ld.so.cache", "/pkg", "/demo",
            "/root/issuer.key", "/etc/systemd/system", "/var/lib/ucf")


class Skip(Exception):
    pass


class Failed(Exception):
    pass


def log(msg):
    print("package: " + msg, flush=True)


def run(argv, timeout=STEP_TIMEOUT, check=True, quiet=False, cleanup=False, **kw):
    if not quiet:
        log("$ " + " ".join(argv)[:300])
    if not cleanup:
        left = DEADLINE - CLEANUP_RESERVE - time.monotonic()
        if left < 1:
            raise Failed("out of time before: " + " ".join(argv))
        timeout = min(timeout, left)
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise Failed("timed out after %.0f s: %s\n%s" % (timeout, " ".join(argv), out[-4000:]))
    if check and p.returncode != 0:
        raise Failed("exit %d: %s\n%s" % (p.returncode, " ".join(argv), p.stdout[-4000:]))
    return p


def codename():
    with open("/etc/os-release") as f:
        m = re.search(r"^VERSION_CODENAME=(\w+)", f.read(), re.M)
    if not m:
        raise Skip("no VERSION_CODENAME in /etc/os-release: not Debian?")
    return m.group(1)


def setup_allowed():
    return os.environ.get("CI") == "true" or os.environ.get("MJA_CONTAINER") == "1"


def missing_packages(names):
    out = []
    for n in names:
        p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", n], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        if "install ok installed" not in p.stdout:
            out.append(n)
    return out


def prepare_host(release):
    """Engine, base image, debhelper, lintian, build dependencies."""
    if os.environ.get("MJA_CONTAINER") == "0":
        raise Skip("MJA_CONTAINER=0")
    if os.geteuid() != 0:
        raise Skip("needs root (rootful Podman, package installation in the container)")
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", os.path.join(SOURCE_DIR, "docker", "containers.conf"))
    if setup_allowed():
        # The base image of this machine's release (not the Dockerfiles'
        # default): container-setup.sh makes it when it is missing.
        p = run(["bash", os.path.join(SOURCE_DIR, "scripts", "container-setup.sh"), release],
                timeout=420, check=False, env=env)
        print(p.stdout, end="")
        if p.returncode != 0:
            raise Failed("scripts/container-setup.sh failed")
        need = missing_packages(["debhelper", "lintian", "dpkg-dev"])
        if need:
            run(["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"] + need,
                timeout=600, env=dict(env, DEBIAN_FRONTEND="noninteractive"))
    engine = None
    if shutil.which("docker") and subprocess.run(
            ["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=20).returncode == 0:
        engine = "docker"
    elif shutil.which("podman"):
        engine = "podman"
    else:
        raise Skip("no container engine (as root, MJA_CONTAINER=1 or CI=true installs Podman)")
    image = "docker.io/library/debian:%s-slim" % release
    if subprocess.run([engine, "image", "inspect", image], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL, env=env).returncode != 0:
        raise Skip("%s has no %s (scripts/container-setup.sh %s makes it)"
                   % (engine, image, release))
    for tool in ("dpkg-buildpackage", "dh", "lintian"):
        if not shutil.which(tool):
            raise Skip("%s missing (apt-get install debhelper lintian dpkg-dev)" % tool)
    p = run(["dpkg-checkbuilddeps", os.path.join(SOURCE_DIR, "debian", "control")],
            check=False, cwd=SOURCE_DIR, quiet=True)
    if p.returncode != 0:
        raise Skip("build dependencies missing: " + p.stdout.strip())
    return engine, env, image


def build_depends_names(control):
    """The package names in debian/control's Build-Depends (every
    alternative; versions, architectures, profiles and :any dropped)."""
    with open(control) as f:
        text = f.read()
    m = re.search(r"^Build-Depends:(.*(?:\n[ \t].*)*)", text, re.M)
    if not m:
        raise Failed("debian/control has no Build-Depends")
    names = set()
    for dep in m.group(1).split(","):
        for alt in dep.split("|"):
            alt = re.sub(r"\([^)]*\)|\[[^]]*\]|<[^>]*>", "", alt).strip()
            if alt:
                names.add(alt.split(":")[0])
    return names


def check_build_depends():
    """Build-Depends names the package of every pkg-config module that the
    CMake build of the package requires (bench and fuzz are off there): the
    package owning the module's .pc file on this machine (`dpkg -S`).
    dpkg-checkbuilddeps cannot see a missing one on a machine that has it
    installed anyway; a clean build (a buildd, sbuild) fails on it."""
    mods = set()
    for top, dirs, names in os.walk(SOURCE_DIR):
        rel = os.path.relpath(top, SOURCE_DIR)
        dirs[:] = [d for d in dirs if not (d.startswith((".", "build", "obj-"))
                   or (rel == "." and d in ("bench", "fuzz", "debian")))]
        for n in names:
            if n == "CMakeLists.txt" or n.endswith(".cmake"):
                with open(os.path.join(top, n)) as f:
                    for m in re.finditer(r"pkg_check_modules\(\s*\w+((?:\s+[^)\s]+)+)\s*\)",
                                         f.read()):
                        words = [w for w in m.group(1).split()
                                 if w not in ("REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL")]
                        mods.update(re.split(r"[<>=]", w)[0] for w in words)
    if not mods:
        raise Failed("no pkg_check_modules found in the CMake files")
    have = build_depends_names(os.path.join(SOURCE_DIR, "debian", "control"))
    missing = []
    for mod in sorted(mods):
        p = run(["pkg-config", "--variable=pcfiledir", mod], check=False, quiet=True)
        pc = os.path.join(p.stdout.strip(), mod + ".pc")
        if p.returncode != 0 or not os.path.isfile(pc):
            raise Failed("pkg-config module %s (required by the CMake build) not found here" % mod)
        owner = run(["dpkg", "-S", os.path.realpath(pc)], check=False, quiet=True)
        if owner.returncode != 0:
            owner = run(["dpkg", "-S", pc], check=False, quiet=True)
        pkgs = {w.split(":")[0] for w in owner.stdout.split(": ")[0].split(", ")} \
            if owner.returncode == 0 else set()
        if not pkgs:
            raise Failed("no package owns %s (pkg-config module %s)" % (pc, mod))
        if not pkgs & have:
            missing.append("%s (pkg-config %s)" % (" or ".join(sorted(pkgs)), mod))
    if missing:
        raise Failed("debian/control Build-Depends lacks: " + ", ".join(missing))
    log("Build-Depends covers the pkg-config modules %s" % ", ".join(sorted(mods)))


def build_package(workdir):
    """dpkg-buildpackage in a copy of the tree (it writes ../*.deb and
    build folders next to debian/); lintian must print no E: or W: tag."""
    src = os.path.join(workdir, "src")
    shutil.copytree(SOURCE_DIR, src, ignore=shutil.ignore_patterns(
        ".git", "build", "build-*", "__pycache__", "obj-*"))
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], timeout=600, cwd=src, check=False)
    if p.returncode != 0:
        raise Failed("dpkg-buildpackage failed:\n" + p.stdout[-6000:])
    debs = [f for f in os.listdir(workdir) if re.match(r"mosquitto-jwt-auth_.*\.deb$", f)]
    changes = [f for f in os.listdir(workdir) if f.endswith(".changes")]
    if len(debs) != 1 or len(changes) != 1:
        raise Failed("expected one .deb and one .changes in %s, got %s"
                     % (workdir, os.listdir(workdir)))
    contents = run(["dpkg-deb", "-c", os.path.join(workdir, debs[0])], quiet=True).stdout
    arch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], quiet=True).stdout.strip()
    for want in ("./usr/lib/%s/mosquitto/mosquitto_jwt_auth.so" % arch, "./usr/bin/mosquitto_jwt",
                 "./usr/share/man/man1/mosquitto_jwt.1.gz", "." + SNIPPET,
                 "./usr/share/doc/mosquitto-jwt-auth/examples/acl.conf",
                 "./usr/share/doc/mosquitto-jwt-auth/examples/jwt-auth.conf"):
        if want not in contents:
            raise Failed("package lacks %s:\n%s" % (want, contents))
    p = run(["lintian", "--fail-on", "error,warning", "--display-info",
             os.path.join(workdir, changes[0])], timeout=300, check=False)
    tags = [l for l in p.stdout.splitlines() if re.match(r"^[EW]: ", l)]
    print(p.stdout, end="")
    if p.returncode != 0 or tags:
        raise Failed("lintian: exit %d, %d error/warning tags" % (p.returncode, len(tags)))
    log("built %s; lintian: no errors, no warnings" % debs[0])
    return debs[0]


class Box:
    """A long-lived clean container; steps run in it with `exec`."""

    def __init__(self, engine, env, image, pkgdir):
        self.engine, self.env, self.image = engine, env, image
        self.name = "mja-pkgtest-%d" % os.getpid()
        self.pkgdir = pkgdir

    def e(self, *args, **kw):
        return run([self.engine] + list(args), env=self.env, **kw)

    def start(self):
        self.e("run", "-d", "--name", self.name, "-v", "%s:/pkg:ro" % self.pkgdir,
               "-v", "%s:/demo:ro" % EXAMPLES, self.image, "sleep", "900")

    def sh(self, script, timeout=STEP_TIMEOUT, check=True, quiet=False):
        p = self.e("exec", "-e", "DEBIAN_FRONTEND=noninteractive", self.name,
                   "bash", "-c", "set -euo pipefail\n" + script,
                   timeout=timeout, check=check, quiet=True)
        if not quiet:
            print(p.stdout, end="", flush=True)
        return p

    def files(self):
        """Every path in the container, less the volatile places."""
        out = self.sh("find / -xdev -path /proc -prune -o -print", quiet=True).stdout
        return {p for p in out.splitlines()
                if p and not any(p == v or p.startswith(v + "/") for v in VOLATILE)}

    def stop(self):
        self.e("rm", "-f", self.name, check=False, timeout=30, cleanup=True, quiet=True)


def usr_merged(path):
    """/lib/x, /bin/x, /sbin/x as find(1) sees them on a merged-/usr system."""
    for d in ("/lib", "/lib64", "/bin", "/sbin"):
        if path == d or path.startswith(d + "/"):
            return "/usr" + path
    return path


def check_broker(box):
    """Enable the snippet with the demo key, start the broker, connect."""
    box.sh("""
mkdir -p /etc/mosquitto/jwt
install -m 0644 /demo/keys/ec-p256.pub.pem /etc/mosquitto/jwt/jwt.pub.pem
cp /usr/share/doc/mosquitto-jwt-auth/examples/acl.conf /etc/mosquitto/jwt/
chmod 0644 /etc/mosquitto/jwt/acl.conf
install -m 0600 /demo/demo-private/ec-p256.key.pem /root/issuer.key
# the snippet's first block, as its comment says (the optional lines stay)
sed -i -E 's/^#(listener|allow_anonymous|plugin) /\\1 /; s/^#(plugin_opt_[a-z_]+) /\\1 /' %s
test "$(grep -cE '^(listener|allow_anonymous|plugin|plugin_opt_[a-z_]+) ' %s)" = 7
# as the package's systemd unit would: runtime folder, root dropping to mosquitto
install -d -o mosquitto -g mosquitto /run/mosquitto
mosquitto -c /etc/mosquitto/mosquitto.conf -d
for i in $(seq 50); do grep -q 'mosquitto version .* running' /var/log/mosquitto/mosquitto.log 2>/dev/null && break; sleep 0.2; done
cat /var/log/mosquitto/mosquitto.log
""" % (SNIPPET, SNIPPET))
    box.sh("""
T=$(mosquitto_jwt sign --key /root/issuer.key --sub dev-1 --iss %s --aud %s --ttl 600)
mosquitto_jwt verify --config /etc/mosquitto/mosquitto.conf --acl-topic devices/dev-1/up "$T"
timeout 10 mosquitto_sub -h 127.0.0.1 -i sub-1 -u dev-1 -P "$T" -t devices/dev-1/up -C 1 -W 8 > /tmp/got &
sleep 1
mosquitto_pub -h 127.0.0.1 -i pub-1 -u dev-1 -P "$T" -t devices/dev-1/up -m hello-from-package -q 1
wait
test "$(cat /tmp/got)" = hello-from-package
echo "token client: published and received"
BAD="${T%%?}x"; [ "$BAD" != "$T" ] || BAD="${T%%?}y"
if mosquitto_pub -h 127.0.0.1 -u dev-1 -P "$BAD" -t devices/dev-1/up -m x 2>/tmp/err; then
  echo "altered token accepted"; exit 1; fi
grep -q 'not authorised' /tmp/err
if mosquitto_pub -h 127.0.0.1 -t devices/dev-1/up -m x 2>/tmp/err; then
  echo "anonymous client accepted"; exit 1; fi
grep -q 'not authorised' /tmp/err
echo "altered token and anonymous client: not authorised"
# The snippet's optional lines name real options with valid values: all of
# them uncommented, the tool (the plugin's own option parser) accepts them.
sed -E 's/^# ?(plugin_opt_[a-z_]+) /\\1 /' %s > /tmp/all-options.conf
test "$(grep -c '^plugin_opt_' /tmp/all-options.conf)" -ge 12
out=$(mosquitto_jwt verify --config /tmp/all-options.conf "$T" 2>&1) || {
  echo "all options uncommented: $out"; exit 1; }
test "${out%%%%$'\\n'*}" = valid
echo "every option of the snippet, uncommented: accepted"
grep -q 'jwt-auth: ready' /var/log/mosquitto/mosquitto.log
""" % (ISSUER, AUDIENCE, SNIPPET))


def main_steps(engine, env, image, timings):
    def step(what, fn, *a):
        t0 = time.monotonic()
        log("--- " + what)
        r = fn(*a)
        timings.append((what, time.monotonic() - t0))
        return r

    workdir = tempfile.mkdtemp(prefix="mja-pkgtest-")
    os.chmod(workdir, 0o755)
    box = Box(engine, env, image, workdir)
    try:
        step("Build-Depends", check_build_depends)
        deb = step("build + lintian", build_package, workdir)
        step("start clean container", box.start)
        step("apt-get update, test clients", box.sh,
             "apt-get update -q >/dev/null && apt-get install -y -q mosquitto-clients >/dev/null",
             300)
        step("apt-get install ./deb", box.sh,
             "cd /pkg && apt-get install -y -q ./%s 2>&1 | tail -n 3\n"
             "dpkg-query -W -f='${Status}\\n' %s | grep -q 'install ok installed'\n"
             "grep -qx '%s' /var/lib/dpkg/info/%s.conffiles"
             % (deb, PACKAGE, SNIPPET, PACKAGE), 300)
        # No maintainer scripts: installing creates nothing but the files
        # dpkg lists (else the leftover check below must follow them too).
        scripts = box.sh("ls /var/lib/dpkg/info/ | grep -E '^%s\\.(pre|post)(inst|rm)$' || true"
                         % PACKAGE, quiet=True).stdout.split()
        if scripts:
            raise Failed("the package has maintainer scripts %s: extend this test" % scripts)
        # Installed disabled: no uncommented line in the snippet.
        box.sh("! grep -vE '^(#|$)' %s" % SNIPPET)
        owned = set(box.sh("dpkg -L %s" % PACKAGE, quiet=True).stdout.split())
        installed = step("snapshot", box.files)
        step("broker with the snippet enabled", check_broker, box)
        # The operator's own files go first (purge keeps a user's keys).
        step("purge", box.sh, """
kill "$(cat /run/mosquitto/mosquitto.pid)"
for i in $(seq 50); do [ -e /run/mosquitto/mosquitto.pid ] || break; sleep 0.2; done
rm -rf /etc/mosquitto/jwt /root/issuer.key
apt-get purge -y -q %s 2>&1 | tail -n 2
! dpkg-query -W -f='${Status}' %s 2>/dev/null | grep -q .
""" % (PACKAGE, PACKAGE))
        after = box.files()
        others = set(box.sh("cat /var/lib/dpkg/info/*.list", quiet=True).stdout.split())
        others |= {usr_merged(p) for p in others}
        left = sorted(p for p in owned if p in after and p not in others)
        if left:
            raise Failed("files of the package left after purge:\n" + "\n".join(left))
        stray = sorted(after - installed)
        if stray:
            raise Failed("files that appeared while the package was installed and used, "
                         "left after purge:\n" + "\n".join(stray[:50]))
        gone = sorted(p for p in installed - after if p not in owned)
        if gone:
            raise Failed("purge removed files that were not the package's:\n"
                         + "\n".join(gone[:50]))
        log("purged: none of its %d paths left, nothing else added or removed"
            % len(owned))
    finally:
        box.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    t0 = time.monotonic()
    timings = []
    try:
        release = codename()
        engine, env, image = prepare_host(release)
        log("engine %s, release %s, image %s" % (engine, release, image))
        main_steps(engine, env, image, timings)
    except Skip as e:
        print("SKIP: package test not run: %s" % e, flush=True)
        return SKIP
    except Failed as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    finally:
        for what, secs in timings:
            log("%-34s %6.1f s" % (what, secs))
        log("total %.1f s" % (time.monotonic() - t0))
    print("PASS: package built lintian-clean, installed with apt-get in a clean %s "
          "container, token accepted, purged without leftovers" % release)
    return 0


if __name__ == "__main__":
    sys.exit(main())
