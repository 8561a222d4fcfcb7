"""The quarterhour wire protocol (docs/protocol.md) for test peers that
lie: frames over TLS with a real bundle, messages as (key, bytes) fields.
Frame, message and key numbers are read from include/qh/wire.h, so the
peers follow the C code without copies of its tables.
"""
import re
import socket
import ssl
import struct
import sys


def _enum(text, name, prefix):
    body = re.search(r"enum %s \{(.*?)\};" % name, text, re.S).group(1)
    values, n = {}, 0
    for m in re.finditer(r"\b(%s\w+)(\s*=\s*(\d+))?" % prefix, body):
        n = int(m.group(3)) if m.group(3) else n + 1
        values[m.group(1)[len(prefix):]] = n
    return values


class Wire:
    """One TLS connection to the console, speaking frames."""

    def __init__(self, wire_h, bundle, port, timeout=20):
        text = open(wire_h).read()
        self.F = _enum(text, "qh_frame_type", "QH_FRAME_")
        self.M = _enum(text, "qh_msg_type", "QH_MSG_")
        self.K = _enum(text, "qh_key", "QH_K_")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(bundle)
        ctx.load_cert_chain(bundle)
        self.sock = ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port), timeout=timeout),
            server_hostname="127.0.0.1")
        self.windows = {}  # channel id (the console's) -> bytes we may send

    def msg(self, mtype, *fields):
        """A message: type, then (key, bytes) fields."""
        return bytes([self.M[mtype]]) + b"".join(
            bytes([self.K[k]]) + struct.pack(">I", len(v)) + v for k, v in fields)

    def send(self, ftype, chan, payload=b""):
        self.sock.sendall(struct.pack(">BII", self.F[ftype], chan, len(payload)) + payload)

    def _recv_exact(self, n):
        b = b""
        while len(b) < n:
            d = self.sock.recv(n - len(b))
            if not d:
                sys.exit("the console closed the connection")
            b += d
        return b

    def frame(self, credits=False):
        """The next frame that is not a ping (answered) or a window credit
        (added to self.windows, and returned too when credits is True)."""
        while True:
            ftype, chan, n = struct.unpack(">BII", self._recv_exact(9))
            payload = self._recv_exact(n)
            if ftype == self.F["PING"]:
                self.send("PONG", 0, payload)
            elif ftype == self.F["WINDOW"]:
                self.windows[chan] = self.windows.get(chan, 0) + \
                    struct.unpack(">I", payload)[0]
                if credits:
                    return ftype, chan, payload
            else:
                return ftype, chan, payload

    def mtype(self, payload):
        """The name of a message's type."""
        return {v: k for k, v in self.M.items()}.get(payload[0], str(payload[0]))

    def field(self, payload, key):
        """A field of a message, or b"" when it is absent."""
        i = 1
        while i < len(payload):
            k, n = payload[i], struct.unpack(">I", payload[i + 1:i + 5])[0]
            if k == self.K[key]:
                return payload[i + 5:i + 5 + n]
            i += 5 + n
        return b""


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)
