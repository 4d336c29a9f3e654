"""scripts/demo.sh, the README's Quick start: it starts a broker and prints a
mosquitto_pub line that works as printed (on a free port here, so the test
does not need 1883). Without MJA_DEMO_PORT and with 1883 taken (a systemd
host where installing mosquitto started its service) it picks a free port,
says so in one line and prints the commands with that port; MJA_DEMO_PORT
forces a port and fails clearly when it is taken."""

import os
import shlex
import signal
import socket
import subprocess
import time
import unittest

import harness as h

DEMO = os.path.join(h.SOURCE_DIR, "scripts", "demo.sh")
BUILD_DIR = os.environ.get("MJA_BUILD_DIR", "")
DEMO_TIMEOUT = 240  # includes a (no-op or incremental) build


@h.skip_if_external("runs the demo's own broker")
@unittest.skipIf(h.PLUGIN and os.path.exists(h.PLUGIN) and h.plugin_is_sanitized(h.PLUGIN),
                 "the demo runs an uninstrumented broker; sanitizer builds test the plugin "
                 "through the other e2e cases")
class Demo(unittest.TestCase):

    def run_demo(self, port, run_dir):
        """port None: no MJA_DEMO_PORT (the demo chooses)."""
        env = dict(os.environ, MJA_DEMO_DIR=run_dir)
        env.pop("MJA_DEMO_PORT", None)
        if port is not None:
            env["MJA_DEMO_PORT"] = str(port)
        if BUILD_DIR:
            env["MJA_BUILD_DIR"] = BUILD_DIR
        p = subprocess.Popen(["bash", DEMO], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, text=True, env=env,
                             start_new_session=True)
        self.addCleanup(self.stop, p)
        return p

    def stop(self, p):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(h.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(h.STOP_TIMEOUT)
        if p.stdout:
            p.stdout.close()

    def read_until(self, p, prefix, timeout):
        """Lines of the demo's output until one starting with prefix."""
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        out = []
        while time.monotonic() < deadline:
            if not sel.select(max(0.0, deadline - time.monotonic())):
                break
            line = p.stdout.readline()
            if not line:
                break
            out.append(line)
            if line.strip().startswith(prefix):
                return line.strip(), out
        self.fail("demo printed no %r line:\n%s" % (prefix, "".join(out)))

    def read_until_contains(self, p, text, timeout):
        """Lines of the demo's output until one containing text. A thread
        reads them: lines may already sit in p.stdout's buffer, where a
        select() on the pipe does not see them."""
        import threading
        out, found = [], threading.Event()

        def reader():
            for line in p.stdout:
                out.append(line)
                if text in line:
                    found.set()
                    return
        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(timeout):
            self.fail("demo printed no line with %r:\n%s" % (text, "".join(out)))
        return list(out)

    def check_printed_lines(self, p, port):
        """The demo's sub/pub lines name port and work as printed; returns
        the output up to the pub line."""
        sub_line, out1 = self.read_until(p, "mosquitto_sub ", DEMO_TIMEOUT)
        pub_line, out2 = self.read_until(p, "mosquitto_pub ", 10)
        out = out1 + out2
        self.assertIn("-p %d" % port, sub_line)
        self.assertIn("-p %d" % port, pub_line)
        # Wait for the broker of the demo to listen.
        ok = h.wait_until(lambda: _listening(port), h.START_TIMEOUT, step=0.1)
        self.assertTrue(ok, "demo broker not listening:\n" + "".join(out))

        sub_args = shlex.split(sub_line) + ["-C", "1", "-W", "10"]
        sub = subprocess.Popen(sub_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        time.sleep(0.5)
        r = subprocess.run(shlex.split(pub_line), capture_output=True, text=True,
                           timeout=h.TOOL_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        sout, serr = sub.communicate(timeout=15)
        self.assertEqual(sub.returncode, 0, serr)
        self.assertIn("hello", sout)

        # The negative pair: the same line with a tampered token is refused.
        args = shlex.split(pub_line)
        i = args.index("-P")
        args[i + 1] = h.tamper_signature(args[i + 1])
        r = subprocess.run(args, capture_output=True, text=True, timeout=h.TOOL_TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        return out

    def test_demo_prints_working_mosquitto_pub_line(self):
        import tempfile
        port = h.free_port()
        run_dir = tempfile.mkdtemp(prefix="mja-demo-test-")
        self.addCleanup(subprocess.run, ["rm", "-rf", run_dir], timeout=30)
        p = self.run_demo(port, run_dir)
        out = self.check_printed_lines(p, port)
        self.assertFalse([l for l in out if "in use" in l], "".join(out))
        # The broker's log up to the refusal of the tampered token: the
        # demo's HMAC secret is readable by the broker's user only, so the
        # plugin does not warn about it at start.
        out += self.read_until_contains(p, "jwt-auth: refused client", 10)
        self.assertFalse([l for l in out if "readable by every user" in l], "".join(out))

    def test_default_port_taken_picks_a_free_one(self):
        import re
        import tempfile
        # 1883 taken, as by the mosquitto service a package install starts.
        # Hold it if it is free; if something else already listens there,
        # it is taken all the same.
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", 1883))
            s.listen(1)
        except OSError:
            pass
        self.addCleanup(s.close)
        self.assertTrue(_listening(1883), "could not make port 1883 taken")
        run_dir = tempfile.mkdtemp(prefix="mja-demo-test-")
        self.addCleanup(subprocess.run, ["rm", "-rf", run_dir], timeout=30)
        p = self.run_demo(None, run_dir)
        line, _ = self.read_until(p, "demo: port 1883 is in use", DEMO_TIMEOUT)
        m = re.search(r"using port (\d+) instead$", line)
        self.assertIsNotNone(m, line)
        port = int(m.group(1))
        self.assertNotEqual(port, 1883)
        self.check_printed_lines(p, port)

    def test_port_in_use_said_clearly(self):
        import tempfile
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        self.addCleanup(s.close)
        port = s.getsockname()[1]
        run_dir = tempfile.mkdtemp(prefix="mja-demo-test-")
        self.addCleanup(subprocess.run, ["rm", "-rf", run_dir], timeout=30)
        p = self.run_demo(port, run_dir)
        out, _ = p.communicate(timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("port %d on 127.0.0.1 is already in use (MJA_DEMO_PORT=%d)" % (port, port),
                      out)
        self.assertNotIn("using port", out)


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
