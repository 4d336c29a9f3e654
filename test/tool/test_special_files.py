"""test_special_files.py - the tool reads files as the plugin does (file.h).

Story: `mosquitto_jwt verify --key-file FIFO` and `verify --config FIFO`
hung in open() as the broker did, and `sign --key FIFO` too. Now every file
is read by the plugin's one reader: a FIFO, a directory or a device fails
at once with a line naming it; a key, secret or ACL file that every user
may write is refused as the plugin refuses it; a secret every user may read
is a warning. Every command runs with a 10 s timeout: a hang fails.
"""

import os
import subprocess
import unittest

import jwt  # python3-jwt (PyJWT 2.6)
from cryptography.hazmat.primitives import serialization

from toolharness import NOW, TOOL, Result, ToolCase


class SpecialFiles(ToolCase):
    def setUp(self):
        super().setUp()
        self.keygen("ec", "ec", "--kid", "ec-1")
        self.keygen("hs256", "hs")
        self.key = serialization.load_pem_private_key(self.read("ec.key", "rb"), None)
        self.write("acl.conf", "pattern read devices/%s/#\n")
        self.tok = jwt.encode({"sub": "d", "exp": NOW + 600}, self.key, algorithm="ES256",
                              headers={"kid": "ec-1"})

    def fifo(self, name):
        p = self.path(name)
        os.mkfifo(p, 0o644)
        return p

    def run_fast(self, *args):
        try:
            proc = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True,
                                  text=True, timeout=10, cwd=self.dir, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.fail("mosquitto_jwt %s hung" % " ".join(str(a) for a in args))
        return Result(proc)

    def assert_io_error(self, r, *needles):
        self.assertEqual(r.rc, 3, r)
        for n in needles:
            self.assertIn(n, r.err, r)

    def test_fifo_fails_at_once(self):
        fifo = self.fifo("k.fifo")
        for opt in ("--key-file", "--secret-file", "--acl-file"):
            with self.subTest(option=opt):
                args = ["verify", "--now", NOW, opt, fifo]
                if opt == "--acl-file":
                    args += ["--key-file", self.path("ec.jwks")]
                self.assert_io_error(self.run_fast(*(args + [self.tok])), fifo,
                                     "not a regular file (a FIFO)")
        self.assert_io_error(self.run_fast("verify", "--config", fifo, self.tok),
                             fifo, "not a regular file (a FIFO)")
        self.assert_io_error(self.run_fast("sign", "--key", fifo, "--sub", "d"),
                             fifo, "not a regular file (a FIFO)")
        self.assert_io_error(self.run_fast("sign", "--secret", fifo, "--sub", "d"),
                             fifo, "not a regular file (a FIFO)")
        # a FIFO named by a mosquitto.conf's plugin_opt_key_file
        conf = self.write("mosquitto.conf", "plugin /x/mosquitto_jwt_auth.so\n"
                          "plugin_opt_key_file %s\n" % fifo)
        self.assert_io_error(self.run_fast("verify", "--config", conf, self.tok),
                             fifo, "not a regular file (a FIFO)")

    def test_directory_and_device(self):
        for path, kind in ((self.dir, "a directory"), ("/dev/zero", "a character device")):
            with self.subTest(path=path):
                self.assert_io_error(self.run_fast("verify", "--now", NOW, "--key-file", path,
                                                   self.tok), path, kind)
                self.assert_io_error(self.run_fast("verify", "--config", path, self.tok),
                                     path, kind)

    def test_world_writable_refused(self):
        cases = [("--key-file", "ec.jwks"), ("--secret-file", "hs.secret"),
                 ("--acl-file", "acl.conf")]
        for opt, name in cases:
            with self.subTest(option=opt):
                p = self.path(name)
                args = ["verify", "--now", NOW, opt, p]
                if opt == "--acl-file":
                    args += ["--key-file", self.path("ec.jwks")]
                os.chmod(p, 0o666)
                self.assert_io_error(self.run_fast(*(args + [self.tok])), p, "mode 0666")
                # the positive pair: not writable by every user
                os.chmod(p, 0o644 if name != "hs.secret" else 0o600)
                r = self.run_fast(*(args + [self.tok]))
                self.assertNotEqual(r.rc, 3, r)

    def test_world_readable_secret_warns(self):
        secret = self.secret_bytes("hs.secret")
        tok = jwt.encode({"sub": "d", "exp": NOW + 10}, secret, algorithm="HS256")
        p = self.path("hs.secret")
        os.chmod(p, 0o644)
        r = self.run_fast("verify", "--now", NOW, "--secret-file", p, tok)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("warning: option secret_file: %s: mode 0644" % p, r.err)
        os.chmod(p, 0o600)
        r = self.run_fast("verify", "--now", NOW, "--secret-file", p, tok)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, "", r)


if __name__ == "__main__":
    unittest.main()
