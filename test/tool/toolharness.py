"""toolharness.py - run the built mosquitto_jwt and keep its files in a temporary folder.

The tool's path comes from MJA_TOOL (set by test/tool/tests.cmake). Tests
use a fixed clock (--now) wherever a time matters.
"""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest

TOOL = os.environ.get("MJA_TOOL", "")
NOW = 1767225600  # 2026-01-01T00:00:00Z: the tests' fixed clock


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out, self.err)


class ToolCase(unittest.TestCase):
    """A test case with a temporary folder (self.dir) and self.tool()."""

    def setUp(self):
        if not TOOL or not os.access(TOOL, os.X_OK):
            self.fail("MJA_TOOL does not name the built mosquitto_jwt: %r" % TOOL)
        self.dir = tempfile.mkdtemp(prefix="mja_tool_")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def tool(self, *args, stdin=None, cwd=None):
        proc = subprocess.run([TOOL] + [str(a) for a in args], input=stdin,
                              capture_output=True, text=True, timeout=120,
                              cwd=cwd or self.dir)
        return Result(proc)

    def ok(self, *args, **kw):
        r = self.tool(*args, **kw)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, "", r)
        return r

    def fails(self, rc, *args, err=None, **kw):
        """The command must exit with rc and say err (a substring) on stderr."""
        r = self.tool(*args, **kw)
        self.assertEqual(r.rc, rc, r)
        if err is not None:
            self.assertIn(err, r.err, r)
        return r

    def keygen(self, kind, prefix=None, *extra):
        prefix = prefix or kind
        self.ok("keygen", "--type", kind, "--out-dir", self.dir, "--prefix", prefix, *extra)
        return prefix

    def read(self, name, mode="r"):
        with open(self.path(name), mode) as f:
            return f.read()

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def mode(self, name):
        return stat.S_IMODE(os.stat(self.path(name)).st_mode)

    def secret_bytes(self, name):
        """A secret file as the plugin reads it: less one trailing newline."""
        data = self.read(name, "rb")
        if data.endswith(b"\r\n"):
            return data[:-2]
        if data.endswith(b"\n"):
            return data[:-1]
        return data
