"""mqtt5raw.py - a small raw MQTT 5 client for the end-to-end tests.

Paho 1.6 cannot send AUTH packets, and hides some reason codes (PUBACK,
server DISCONNECT without properties). This client writes and reads the
packets itself (MQTT 5.0 OASIS standard, section 2 and 3) so the tests can
assert the exact bytes the broker sends:

    c = RawClient("127.0.0.1", port)
    ack = c.connect("dev-1", auth_method="jwt", auth_data=token)
    assert ack.reason == 0
    c.send_auth(0x19, "jwt", new_token)        # re-authenticate
    pkt = c.expect(AUTH)                       # broker's answer

Every read has a timeout; a closed connection is reported as None from
read_packet() and as ConnectionClosed from expect().

It is the test tree's one raw MQTT client. At the end, MQTT 3.1.1:
connack_311() sends a 3.1.1 CONNECT whose password may be any bytes (NUL
included), for the attack suite (test/attack/attack.py) and the container
test (test/container/test_container.py); Client311 is an asyncio 3.1.1
client (CONNECT, SUBSCRIBE and PUBLISH at QoS 1, receiving, DISCONNECT) for
many concurrent connections in one thread, for the scale-out test
(test/scaleout/test_scaleout.py).
"""

import asyncio
import socket
import struct
import time

# Control packet types (MQTT 5.0 section 2.1.2).
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT, AUTH = 12, 13, 14, 15

NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 8: "SUBSCRIBE",
     9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ",
     13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}

# Property identifiers used here (section 2.2.2.2) and their value types.
PROP_SESSION_EXPIRY = 0x11
PROP_WILL_DELAY = 0x18
PROP_AUTH_METHOD = 0x15
PROP_AUTH_DATA = 0x16
PROP_REASON_STRING = 0x1F
PROP_TYPES = {
    0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "bin",
    0x0B: "varint", 0x11: "u32", 0x12: "str", 0x13: "u16", 0x15: "str",
    0x16: "bin", 0x17: "byte", 0x18: "u32", 0x19: "byte", 0x1A: "str",
    0x1C: "str", 0x1F: "str", 0x21: "u16", 0x22: "u16", 0x23: "u16",
    0x24: "byte", 0x25: "byte", 0x26: "pair", 0x27: "u32", 0x28: "byte",
    0x29: "byte", 0x2A: "byte",
}


class ConnectionClosed(Exception):
    pass


def varint(n):
    """Variable Byte Integer (section 1.5.5)."""
    if n < 0 or n > 268435455:
        raise ValueError("varint out of range")
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def read_varint(buf, pos):
    """Returns (value, new position). Raises ValueError if malformed."""
    mult, value = 1, 0
    for i in range(4):
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value += (b & 0x7F) * mult
        if not b & 0x80:
            return value, pos
        mult *= 128
    raise ValueError("varint longer than 4 bytes")


def utf8(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack("!H", len(b)) + b


def binary(b):
    b = b.encode() if isinstance(b, str) else bytes(b)
    return struct.pack("!H", len(b)) + b


def encode_props(props):
    """props: list of (identifier, value)."""
    out = bytearray()
    for pid, val in props or []:
        kind = PROP_TYPES[pid]
        out += varint(pid)
        if kind == "byte":
            out += struct.pack("!B", val)
        elif kind == "u16":
            out += struct.pack("!H", val)
        elif kind == "u32":
            out += struct.pack("!I", val)
        elif kind == "varint":
            out += varint(val)
        elif kind == "str":
            out += utf8(val)
        elif kind == "bin":
            out += binary(val)
        elif kind == "pair":
            out += utf8(val[0]) + utf8(val[1])
    return varint(len(out)) + bytes(out)


def decode_props(buf, pos):
    """Returns (dict identifier -> value or list of values, new position)."""
    length, pos = read_varint(buf, pos)
    end = pos + length
    if end > len(buf):
        raise ValueError("properties overrun the packet")
    props = {}
    while pos < end:
        pid, pos = read_varint(buf, pos)
        kind = PROP_TYPES.get(pid)
        if kind is None:
            raise ValueError("unknown property 0x%02x" % pid)
        if kind == "byte":
            val = buf[pos]
            pos += 1
        elif kind == "u16":
            val, = struct.unpack_from("!H", buf, pos)
            pos += 2
        elif kind == "u32":
            val, = struct.unpack_from("!I", buf, pos)
            pos += 4
        elif kind == "varint":
            val, pos = read_varint(buf, pos)
        elif kind in ("str", "bin"):
            n, = struct.unpack_from("!H", buf, pos)
            val = bytes(buf[pos + 2:pos + 2 + n])
            if kind == "str":
                val = val.decode()
            pos += 2 + n
        else:
            n, = struct.unpack_from("!H", buf, pos)
            k = bytes(buf[pos + 2:pos + 2 + n]).decode()
            pos += 2 + n
            m, = struct.unpack_from("!H", buf, pos)
            v = bytes(buf[pos + 2:pos + 2 + m]).decode()
            pos += 2 + m
            val = (k, v)
        if pid in props:
            if not isinstance(props[pid], list):
                props[pid] = [props[pid]]
            props[pid].append(val)
        else:
            props[pid] = val
    if pos != end:
        raise ValueError("property length mismatch")
    return props, pos


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + bytes(body)


class Packet:
    """A parsed packet. Fields set depend on the type: reason, props,
    session_present, topic, payload, qos, retain, mid, reasons."""

    def __init__(self, ptype, flags, body):
        self.type = ptype
        self.flags = flags
        self.body = body
        self.reason = None
        self.props = {}
        self._parse()

    def __repr__(self):
        return "<%s reason=%s props=%s>" % (NAMES.get(self.type, self.type),
                          None if self.reason is None else "0x%02x" % self.reason,
                          self.props)

    def _parse(self):
        b = self.body
        t = self.type
        if t == CONNACK:
            self.session_present = bool(b[0] & 1)
            self.reason = b[1]
            if len(b) > 2:
                self.props, _ = decode_props(b, 2)
        elif t in (DISCONNECT, AUTH):
            # Section 3.14.2.1 / 3.15.2.1: no body means reason 0x00.
            self.reason = b[0] if b else 0
            if len(b) > 1:
                self.props, _ = decode_props(b, 1)
        elif t == PUBLISH:
            self.qos = (self.flags >> 1) & 3
            self.retain = bool(self.flags & 1)
            n, = struct.unpack_from("!H", b, 0)
            self.topic = bytes(b[2:2 + n]).decode()
            pos = 2 + n
            self.mid = None
            if self.qos:
                self.mid, = struct.unpack_from("!H", b, pos)
                pos += 2
            self.props, pos = decode_props(b, pos)
            self.payload = bytes(b[pos:])
        elif t == PUBACK:
            self.mid, = struct.unpack_from("!H", b, 0)
            self.reason = b[2] if len(b) > 2 else 0
            if len(b) > 3:
                self.props, _ = decode_props(b, 3)
        elif t in (SUBACK, UNSUBACK):
            self.mid, = struct.unpack_from("!H", b, 0)
            self.props, pos = decode_props(b, 2)
            self.reasons = list(b[pos:])


class RawClient:
    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = bytearray()
        self.next_mid = 1
        self.closed = False
        self.pending = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _mid(self):
        mid = self.next_mid
        self.next_mid = mid % 65535 + 1
        return mid

    # --- writing (section 3) ---

    def connect(self, client_id, username=None, password=None,
            auth_method=None, auth_data=None, keepalive=60,
            clean_start=True, session_expiry=0, will=None, wait=True, will_delay=0):
        """will: (topic, payload, qos, retain) or None; will_delay: its Will
        Delay Interval in seconds (0: none). Returns the first packet the
        broker answers with (CONNACK or AUTH) if wait."""
        flags = 0
        if clean_start:
            flags |= 0x02
        if will:
            flags |= 0x04 | (will[2] << 3) | (0x20 if will[3] else 0)
        if password is not None:
            flags |= 0x40
        if username is not None:
            flags |= 0x80
        props = []
        if session_expiry:
            props.append((PROP_SESSION_EXPIRY, session_expiry))
        if auth_method is not None:
            props.append((PROP_AUTH_METHOD, auth_method))
        if auth_data is not None:
            props.append((PROP_AUTH_DATA, auth_data))
        body = utf8("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive)
        body += encode_props(props) + utf8(client_id)
        if will:
            will_props = [(PROP_WILL_DELAY, will_delay)] if will_delay else []
            body += encode_props(will_props) + utf8(will[0]) + binary(will[1])
        if username is not None:
            body += utf8(username)
        if password is not None:
            body += binary(password)
        self.send(packet(CONNECT, 0, body))
        if wait:
            return self.read_packet()
        return None

    def send_auth(self, reason, method=None, data=None):
        """AUTH (section 3.15): reason 0x19 re-authenticate, 0x18 continue."""
        props = []
        if method is not None:
            props.append((PROP_AUTH_METHOD, method))
        if data is not None:
            props.append((PROP_AUTH_DATA, data))
        self.send(packet(AUTH, 0, bytes([reason]) + encode_props(props)))

    def publish(self, topic, payload, qos=0, retain=False):
        """Returns the packet id (None for QoS 0)."""
        mid = self._mid() if qos else None
        body = utf8(topic)
        if qos:
            body += struct.pack("!H", mid)
        body += encode_props([])
        body += payload.encode() if isinstance(payload, str) else payload
        self.send(packet(PUBLISH, (qos << 1) | (1 if retain else 0), body))
        return mid

    def subscribe(self, filters, qos=0):
        """filters: a string or a list of strings. Returns the packet id."""
        if isinstance(filters, str):
            filters = [filters]
        mid = self._mid()
        body = struct.pack("!H", mid) + encode_props([])
        for f in filters:
            body += utf8(f) + bytes([qos])
        self.send(packet(SUBSCRIBE, 0x02, body))
        return mid

    def puback(self, mid):
        self.send(packet(PUBACK, 0, struct.pack("!H", mid)))

    def ping(self):
        self.send(packet(PINGREQ, 0, b""))

    def disconnect(self, reason=0):
        try:
            self.send(packet(DISCONNECT, 0, bytes([reason])))
        except OSError:
            pass

    # --- reading ---

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no packet in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def read_packet(self, timeout=None):
        """The next packet, or None if the broker closed the connection.
        Raises socket.timeout if nothing complete arrives in time."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if len(self.buf) >= 2:
                try:
                    length, pos = read_varint(self.buf, 1)
                except ValueError:
                    length = None
                if length is not None and len(self.buf) >= pos + length:
                    first = self.buf[0]
                    body = bytes(self.buf[pos:pos + length])
                    del self.buf[:pos + length]
                    return Packet(first >> 4, first & 0x0F, body)
            if self.closed or not self._fill(deadline):
                return None

    def expect(self, ptype, timeout=None, skip=(PUBLISH, PINGRESP)):
        """Read until a packet of type ptype. Packets of a type in skip that
        arrive meanwhile are kept in self.pending (a later expect() of their
        type returns them first); any other packet is an error."""
        for i, p in enumerate(self.pending):
            if p.type == ptype:
                return self.pending.pop(i)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            p = self.read_packet(max(0.0, deadline - time.monotonic()))
            if p is None:
                raise ConnectionClosed("connection closed while waiting for %s" % NAMES[ptype])
            if p.type == ptype:
                return p
            if p.type in skip:
                self.pending.append(p)
                continue
            raise AssertionError("expected %s, got %r" % (NAMES[ptype], p))

    def wait_closed(self, timeout):
        """Read until the broker closes the connection. Returns (closed,
        packets read meanwhile)."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            try:
                p = self.read_packet(max(0.0, deadline - time.monotonic()))
            except socket.timeout:
                return False, got
            if p is None:
                return True, got
            got.append(p)


# --------------------------------------------------------------------------
# MQTT 3.1.1 (OASIS MQTT 3.1.1, sections 3.1 and 3.2): CONNECT and CONNACK

CONNACK_311_ACCEPTED, CONNACK_311_NOT_AUTHORIZED = 0, 5


def connect_packet_311(client_id, username=None, password=None, keepalive=60,
                       clean=True):
    """A 3.1.1 CONNECT (clean session unless clean is False); client_id,
    username and password are str or bytes, the password any bytes (NUL
    included)."""
    flags = 0x02 if clean else 0
    payload = binary(client_id)
    if username is not None:
        flags |= 0x80
        payload += binary(username)
    if password is not None:
        flags |= 0x40
        payload += binary(password)
    body = utf8("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + payload
    return packet(CONNECT, 0, body)


def read_connack_311(s):
    """The return code of the 3.1.1 CONNACK read from socket s (its timeout
    set by the caller), or None if the connection closed or timed out
    before one came, or sent something else."""
    ack = b""
    try:
        while len(ack) < 4:
            chunk = s.recv(4 - len(ack))
            if not chunk:
                break
            ack += chunk
    except OSError:
        return None
    if len(ack) == 4 and ack[0] == CONNACK << 4 and ack[1] == 2:
        return ack[3]
    return None


def connack_311(host, port, client_id, username=None, password=None, timeout=5.0,
                keepalive=60):
    """Send a raw 3.1.1 CONNECT on a new connection and close it; returns the
    CONNACK return code, or None if no CONNACK came (the connection could not
    be made, or the broker closed it without one)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(connect_packet_311(client_id, username, password, keepalive))
            return read_connack_311(s)
    except OSError:
        return None


async def _read_packet_async(reader):
    """(first byte, body) of the next packet from an asyncio StreamReader;
    raises asyncio.IncompleteReadError when the connection closes."""
    first = (await reader.readexactly(1))[0]
    mult, n = 1, 0
    for _ in range(4):
        b = (await reader.readexactly(1))[0]
        n += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            break
    else:
        raise ValueError("remaining length longer than 4 bytes")
    body = await reader.readexactly(n) if n else b""
    return first, body


class Client311:
    """An asyncio MQTT 3.1.1 client (OASIS MQTT 3.1.1, sections 3.1-3.14),
    enough for many concurrent clients in one event loop: CONNECT (clean
    session or not, keep-alive 0, username + password), SUBSCRIBE at QoS 1,
    PUBLISH at QoS 1 waiting for the PUBACK, receiving QoS 0/1 PUBLISH
    (acknowledged), DISCONNECT. A closed connection sets self.closed and
    fails pending requests with ConnectionClosed.

        c = Client311("127.0.0.1", port, "dev-1")
        rc = await c.connect("dev-1", token)          # CONNACK return code
        await c.subscribe("devices/dev-1/echo")       # SUBACK return code
        await c.publish("devices/dev-1/echo", b"x")   # after the PUBACK
        topic, payload = await c.receive()
        await c.disconnect()
    """

    def __init__(self, host, port, client_id):
        self.host, self.port, self.client_id = host, port, client_id
        self.reader = self.writer = None
        self.messages = asyncio.Queue()
        self._acks = {}
        self._next_id = 1
        self._task = None
        self.session_present = None
        self.closed = asyncio.Event()

    async def connect(self, username, password, clean=True, timeout=10.0):
        """The CONNACK return code (0 accepted, 5 not authorised), or None
        when the connection closed without a CONNACK."""
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout)
        self.writer.write(connect_packet_311(self.client_id, username, password,
                                             keepalive=0, clean=clean))
        try:
            first, body = await asyncio.wait_for(_read_packet_async(self.reader), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            self._close_transport()
            return None
        if first != CONNACK << 4 or len(body) != 2:
            self._close_transport()
            raise ConnectionClosed("%s: expected CONNACK, got 0x%02x" % (self.client_id, first))
        self.session_present = bool(body[0] & 1)
        if body[1] != 0:
            self._close_transport()
            return body[1]
        self._task = asyncio.ensure_future(self._loop())
        return 0

    async def _loop(self):
        try:
            while True:
                first, body = await _read_packet_async(self.reader)
                kind = first >> 4
                if kind == PUBLISH:
                    qos = (first >> 1) & 3
                    tlen = int.from_bytes(body[:2], "big")
                    topic = body[2:2 + tlen].decode()
                    rest = body[2 + tlen:]
                    if qos:
                        pid, rest = rest[:2], rest[2:]
                        self.writer.write(packet(PUBACK, 0, pid))
                    await self.messages.put((topic, rest))
                elif kind in (PUBACK, SUBACK):
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
                    fut.set_exception(ConnectionClosed("%s: connection closed"
                                                       % self.client_id))
            self._acks.clear()

    def _pid(self):
        pid = self._next_id
        self._next_id = self._next_id % 65535 + 1
        return pid

    async def _request(self, ptype, flags, body_fn, timeout):
        if self.closed.is_set() or self._task is None:
            raise ConnectionClosed("%s: not connected" % self.client_id)
        pid = self._pid()
        fut = asyncio.get_running_loop().create_future()
        self._acks[pid] = fut
        self.writer.write(packet(ptype, flags, body_fn(struct.pack("!H", pid))))
        return await asyncio.wait_for(fut, timeout)

    async def subscribe(self, topic, timeout=10.0):
        """The SUBACK return code (0, 1, 2 granted; 0x80 refused)."""
        r = await self._request(SUBSCRIBE, 0x02, lambda pid: pid + utf8(topic) + b"\x01",
                                timeout)
        return r[0]

    async def publish(self, topic, payload, timeout=10.0):
        """QoS 1; returns when the PUBACK came."""
        await self._request(PUBLISH, 0x02, lambda pid: utf8(topic) + pid + payload, timeout)

    async def receive(self, timeout=10.0):
        """The next (topic, payload) received."""
        return await asyncio.wait_for(self.messages.get(), timeout)

    def _close_transport(self):
        if self.writer:
            self.writer.close()

    async def disconnect(self):
        if self.writer and not self.closed.is_set():
            try:
                self.writer.write(packet(DISCONNECT, 0, b""))
                await self.writer.drain()
            except (ConnectionError, OSError):
                pass
        self._close_transport()
        if self._task:
            try:
                await asyncio.wait_for(self.closed.wait(), 5)
            except asyncio.TimeoutError:
                self._task.cancel()
