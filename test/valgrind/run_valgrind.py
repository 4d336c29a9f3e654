"""run_valgrind.py - run end-to-end and attack test modules against a broker
started under valgrind memcheck, then fail on any leak or memory error whose
stack passes through the plugin.

    run_valgrind.py OUT_DIR MODULE...

The broker is wrapped through the e2e harness's MJA_E2E_BROKER_WRAPPER hook
(test/e2e/harness.py). valgrind writes one XML report per broker process
(OUT_DIR/vg-PID.xml); definite leaks and every error kind are read from it.
Errors that stay inside Mosquitto, libc or OpenSSL without passing through
mosquitto_jwt_auth.so are listed but do not fail the test. It does fail if
no broker exited normally under valgrind (then no leak check happened).
The test modules' own results are reported but not judged here: they have
their own ctest tests.
"""

import glob
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_DIR = os.path.dirname(HERE)
PLUGIN_OBJ = "mosquitto_jwt_auth.so"


def frames(err):
    for f in err.iter("frame"):
        yield {k: (f.findtext(k) or "") for k in ("obj", "fn", "dir", "file", "line")}


def in_plugin(fr):
    return fr["obj"].endswith(PLUGIN_OBJ) or "/plugin/" in fr["dir"] + "/"


def describe(err):
    what = err.findtext("xwhat/text") or err.findtext("what") or ""
    lines = ["%s: %s" % (err.findtext("kind"), what)]
    for fr in frames(err):
        where = "%s/%s:%s" % (fr["dir"], fr["file"], fr["line"]) if fr["file"] else fr["obj"]
        lines.append("    %s (%s)" % (fr["fn"] or "???", where))
    return "\n".join(lines)


def main():
    out, modules = sys.argv[1], sys.argv[2:]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    os.chmod(out, 0o777)  # the broker drops root before valgrind writes at exit
    wrapper = ("valgrind --tool=memcheck --xml=yes --xml-file=%s/vg-%%p.xml "
               "--leak-check=full --show-leak-kinds=definite "
               "--errors-for-leak-kinds=definite --keep-debuginfo=yes "
               "--num-callers=40 --error-exitcode=99" % out)
    env = dict(os.environ)
    env["MJA_E2E_BROKER_WRAPPER"] = wrapper
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(TEST_DIR, "e2e"),
                                         os.path.join(TEST_DIR, "attack")])
    r = subprocess.run([sys.executable, "-m", "unittest"] + modules,
                       cwd=os.path.join(TEST_DIR, "e2e"), env=env, timeout=1800)
    print("test modules under valgrind: %s" % ("passed" if r.returncode == 0 else
                                                "FAILED (judged by their own ctest tests)"))

    complete = plugin_errs = other_errs = 0
    for path in sorted(glob.glob(os.path.join(out, "vg-*.xml"))):
        with open(path, "rb") as f:
            data = f.read()
        if b"</valgrindoutput>" not in data:
            print("%s: incomplete (broker killed before valgrind's exit report)" % path)
            continue
        complete += 1
        for err in ET.fromstring(data).iter("error"):
            if any(in_plugin(fr) for fr in frames(err)):
                plugin_errs += 1
                print("PLUGIN ERROR in %s:\n%s" % (path, describe(err)))
            else:
                other_errs += 1
                print("not the plugin's (ignored) in %s:\n%s" % (path, describe(err)))
    print("valgrind: %d broker run(s) checked, %d error(s) in the plugin, %d elsewhere"
          % (complete, plugin_errs, other_errs))
    if complete == 0:
        print("FAIL: no broker exited normally under valgrind: nothing was checked")
        return 1
    return 1 if plugin_errs else 0


if __name__ == "__main__":
    sys.exit(main())
