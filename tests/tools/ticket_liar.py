#!/usr/bin/env python3
"""A ticket upload that lies, for tests: speaks the agent's side of the
"ticket" request (docs/protocol.md, "Tickets") over TLS with a real agent
bundle, announces one attachment "a.txt" of b"hello" and then misbehaves:

  hash   sends other bytes of the same length
  early  sends the data before the console's TICKET_GO
  more   sends more bytes than announced

Prints the text of the console's ERROR and exits 0; exits non-zero if the
console files the ticket or answers anything else. Frame, message and key
numbers are read from include/qh/wire.h.

usage: ticket_liar.py BUNDLE PORT WIRE_H CASE
"""
import hashlib
import os
import re
import socket
import ssl
import struct
import sys

bundle, port, wire_h, case = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
wire = open(wire_h).read()


def enum(name, prefix):
    body = re.search(r"enum %s \{(.*?)\};" % name, wire, re.S).group(1)
    values, n = {}, 0
    for m in re.finditer(r"\b(%s\w+)(\s*=\s*(\d+))?" % prefix, body):
        n = int(m.group(3)) if m.group(3) else n + 1
        values[m.group(1)[len(prefix):]] = n
    return values


F = enum("qh_frame_type", "QH_FRAME_")
M = enum("qh_msg_type", "QH_MSG_")
K = enum("qh_key", "QH_K_")


def msg(mtype, *fields):
    return bytes([M[mtype]]) + b"".join(
        bytes([K[k]]) + struct.pack(">I", len(v)) + v for k, v in fields)


def u64(v):
    return struct.pack(">Q", v)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(bundle)
ctx.load_cert_chain(bundle)
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                       server_hostname="127.0.0.1")


def send(ftype, chan, payload=b""):
    sock.sendall(struct.pack(">BII", F[ftype], chan, len(payload)) + payload)


def recv_exact(n):
    b = b""
    while len(b) < n:
        d = sock.recv(n - len(b))
        if not d:
            sys.exit("the console closed the connection")
        b += d
    return b


def frame():
    """The next frame that is not a ping (answered) or a window credit."""
    while True:
        ftype, chan, n = struct.unpack(">BII", recv_exact(9))
        payload = recv_exact(n)
        if ftype == F["PING"]:
            send("PONG", 0, payload)
        elif ftype != F["WINDOW"]:
            return ftype, chan, payload


def field(payload, key):
    i = 1
    while i < len(payload):
        k, n = payload[i], struct.unpack(">I", payload[i + 1:i + 5])[0]
        if k == K[key]:
            return payload[i + 5:i + 5 + n]
        i += 5 + n
    return b""


body = b"hello"
send("OPEN", 1, struct.pack(">I", 1 << 20) + msg(
    "REQUEST", ("CMD", b"ticket"), ("KIND", b"support"),
    ("SUBJECT", b"liar " + case.encode()), ("SIZE", u64(len(body))),
    ("HASH", os.urandom(32))))
ftype, _, payload = frame()
assert ftype == F["OPEN_OK"], (ftype, payload)
peer = struct.unpack(">I", payload[:4])[0]
send("MSG", peer, msg("TICKET_FILE", ("NAME", b"a.txt"), ("SIZE", u64(len(body))),
                      ("HASH", hashlib.sha256(body).digest())))
if case == "early":
    send("DATA", peer, body)
send("MSG", peer, msg("TICKET_GO"))
if case != "early":
    ftype, _, payload = frame()
    assert ftype == F["MSG"] and payload[0] == M["TICKET_GO"], (ftype, payload)
    send("DATA", peer, b"HELLO" if case == "hash" else body + b"!")
    send("MSG", peer, msg("EXIT", ("SIZE", u64(len(body)))))
while True:
    ftype, _, payload = frame()
    assert ftype == F["MSG"] and payload[0] != M["TICKET_OK"], "filed: %r" % payload
    if payload[0] == M["ERROR"]:
        print(field(payload, "TEXT").decode())
        break
