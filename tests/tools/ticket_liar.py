#!/usr/bin/env python3
"""A ticket upload that lies, for tests: speaks the agent's side of the
"ticket" request (docs/protocol.md, "Tickets") over TLS with a real agent
bundle, announces one attachment "a.txt" of b"hello" and then misbehaves:

  hash   sends other bytes of the same length
  early  sends the data before the console's TICKET_GO
  more   sends more bytes than announced

Prints the text of the console's ERROR and exits 0; exits non-zero if the
console files the ticket or answers anything else.

usage: ticket_liar.py BUNDLE PORT WIRE_H CASE
"""
import hashlib
import os
import struct
import sys

from qhwire import Wire, u64

bundle, port, wire_h, case = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
w = Wire(wire_h, bundle, port)
F, M = w.F, w.M

body = b"hello"
w.send("OPEN", 1, struct.pack(">I", 1 << 20) + w.msg(
    "REQUEST", ("CMD", b"ticket"), ("KIND", b"support"),
    ("SUBJECT", b"liar " + case.encode()), ("SIZE", u64(len(body))),
    ("HASH", os.urandom(32))))
ftype, _, payload = w.frame()
assert ftype == F["OPEN_OK"], (ftype, payload)
peer = struct.unpack(">I", payload[:4])[0]
w.send("MSG", peer, w.msg("TICKET_FILE", ("NAME", b"a.txt"), ("SIZE", u64(len(body))),
                          ("HASH", hashlib.sha256(body).digest())))
if case == "early":
    w.send("DATA", peer, body)
w.send("MSG", peer, w.msg("TICKET_GO"))
if case != "early":
    ftype, _, payload = w.frame()
    assert ftype == F["MSG"] and payload[0] == M["TICKET_GO"], (ftype, payload)
    w.send("DATA", peer, b"HELLO" if case == "hash" else body + b"!")
    w.send("MSG", peer, w.msg("EXIT", ("SIZE", u64(len(body)))))
while True:
    ftype, _, payload = w.frame()
    assert ftype == F["MSG"] and payload[0] != M["TICKET_OK"], "filed: %r" % payload
    if payload[0] == M["ERROR"]:
        print(w.field(payload, "TEXT").decode())
        break
