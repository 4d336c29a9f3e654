"""mqtt311.py - a small asyncio MQTT 3.1.1 client for the scale-out test.

Enough of MQTT 3.1.1 (OASIS standard, sections 3.1-3.14) for many
concurrent clients in one thread: CONNECT (clean session or not, keep-alive
0, username + password), SUBSCRIBE at QoS 1, PUBLISH at QoS 1 waiting for
the PUBACK, receiving QoS 0/1 PUBLISH (acknowledged), DISCONNECT.
"""

import asyncio


def _field(b):
    return len(b).to_bytes(2, "big") + b


def _remaining_length(n):
    out = b""
    while True:
        byte, n = n % 128, n // 128
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _packet(first, body):
    return bytes([first]) + _remaining_length(len(body)) + body


class Closed(Exception):
    pass


class Client:
    def __init__(self, host, port, client_id):
        self.host, self.port, self.client_id = host, port, client_id
        self.reader = self.writer = None
        self.messages = asyncio.Queue()
        self._acks = {}
        self._next_id = 1
        self._task = None
        self.session_present = None
        self.closed = asyncio.Event()

    async def _read_packet(self):
        first = (await self.reader.readexactly(1))[0]
        mult, n = 1, 0
        while True:
            b = (await self.reader.readexactly(1))[0]
            n += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        body = await self.reader.readexactly(n) if n else b""
        return first, body

    async def connect(self, username, password, clean=True, timeout=10.0):
        """The CONNACK return code (0 accepted, 5 not authorised), or None
        when the connection closed without a CONNACK."""
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout)
        flags = 0xC0 | (0x02 if clean else 0)
        body = (_field(b"MQTT") + bytes([4, flags]) + (0).to_bytes(2, "big")
                + _field(self.client_id.encode()) + _field(username.encode())
                + _field(password.encode()))
        self.writer.write(_packet(0x10, body))
        try:
            first, body = await asyncio.wait_for(self._read_packet(), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            self._close_transport()
            return None
        if first != 0x20 or len(body) != 2:
            self._close_transport()
            raise Closed("%s: expected CONNACK, got 0x%02x" % (self.client_id, first))
        self.session_present = bool(body[0] & 1)
        if body[1] != 0:
            self._close_transport()
            return body[1]
        self._task = asyncio.ensure_future(self._loop())
        return 0

    async def _loop(self):
        try:
            while True:
                first, body = await self._read_packet()
                kind = first >> 4
                if kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    tlen = int.from_bytes(body[:2], "big")
                    topic = body[2:2 + tlen].decode()
                    rest = body[2 + tlen:]
                    if qos:
                        pid, rest = rest[:2], rest[2:]
                        self.writer.write(_packet(0x40, pid))
                    await self.messages.put((topic, rest))
                elif kind in (4, 9):  # PUBACK, SUBACK
                    pid = int.from_bytes(body[:2], "big")
                    fut = self._acks.pop(pid, None)
                    if fut and not fut.done():
                        fut.set_result(body[2:])
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.closed.set()
            for fut in self._acks.values():
                if not fut.done():
                    fut.set_exception(Closed("%s: connection closed" % self.client_id))
            self._acks.clear()

    def _pid(self):
        pid = self._next_id
        self._next_id = self._next_id % 65535 + 1
        return pid

    async def _request(self, first, body_fn, timeout):
        if self.closed.is_set() or self._task is None:
            raise Closed("%s: not connected" % self.client_id)
        pid = self._pid()
        fut = asyncio.get_event_loop().create_future()
        self._acks[pid] = fut
        self.writer.write(_packet(first, body_fn(pid.to_bytes(2, "big"))))
        return await asyncio.wait_for(fut, timeout)

    async def subscribe(self, topic, timeout=10.0):
        """The SUBACK return code (0, 1, 2 granted; 0x80 refused)."""
        r = await self._request(0x82, lambda pid: pid + _field(topic.encode()) + b"\x01",
                                timeout)
        return r[0]

    async def publish(self, topic, payload, timeout=10.0):
        """QoS 1; returns when the PUBACK came."""
        await self._request(0x32, lambda pid: _field(topic.encode()) + pid + payload, timeout)

    async def receive(self, timeout=10.0):
        return await asyncio.wait_for(self.messages.get(), timeout)

    def _close_transport(self):
        if self.writer:
            self.writer.close()

    async def disconnect(self):
        if self.writer and not self.closed.is_set():
            try:
                self.writer.write(b"\xe0\x00")
                await self.writer.drain()
            except (ConnectionError, OSError):
                pass
        self._close_transport()
        if self._task:
            try:
                await asyncio.wait_for(self.closed.wait(), 5)
            except asyncio.TimeoutError:
                self._task.cancel()
