#!/usr/bin/env python3
"""An agent that lies about a pull, for tests: joins the queue over TLS
with a real agent bundle (HELLO with --yes, every consent granted), prints
"code NNNNNN" once the console welcomes it, and answers the first pull
(docs/protocol.md, "Pull") by announcing ANNOUNCE bytes and then sending
SEND bytes, within the channel's window, followed by a result that matches
what it sent (status 0, SEND, its SHA-256). ANNOUNCE "none" sends the
content with no announcement before it.

Prints "sent all N bytes" when it got to the end, or "cut off after N
bytes" when the console closed the channel first, and exits 0.

usage: pull_liar.py BUNDLE PORT WIRE_H ANNOUNCE SEND
"""
import hashlib
import struct
import sys

from qhwire import Wire, u32, u64

bundle, port, wire_h = sys.argv[1], int(sys.argv[2]), sys.argv[3]
announce = None if sys.argv[4] == "none" else int(sys.argv[4])
total = int(sys.argv[5])
w = Wire(wire_h, bundle, port, timeout=60)
F, M = w.F, w.M
OURS = 7  # our id of the pull channel
HELLO_YES = 0x2

w.send("CONTROL", 0, w.msg("HELLO", ("HOST", b"liar"), ("FLAGS", u32(HELLO_YES))))


def control(payload):
    """Answers what the console asks on the control channel."""
    t = w.mtype(payload)
    if t == "WELCOME":
        print("code", w.field(payload, "CODE").decode(), flush=True)
    elif t == "CONSENT":
        w.send("CONTROL", 0, w.msg("CONSENT_REPLY", ("ID", w.field(payload, "ID")),
                                   ("ALLOW", b"\x01")))
    elif t == "ERROR":
        sys.exit("refused: %s" % w.field(payload, "TEXT").decode())


# Wait for the pull.
while True:
    ftype, chan, payload = w.frame()
    if ftype == F["CONTROL"]:
        control(payload)
    elif ftype == F["OPEN"]:
        action = payload[4:]
        if w.mtype(action) != "ACTION" or w.field(action, "CMD") != b"pull":
            sys.exit("expected a pull, got %r" % action)
        theirs = chan
        w.windows[OURS] = struct.unpack(">I", payload[:4])[0]
        w.send("OPEN_OK", theirs, u32(OURS) + u32(1 << 20))
        break

# The lie: ANNOUNCE in the announcement, SEND bytes of content.
if announce is not None:
    w.send("MSG", theirs, w.msg("EXIT", ("SIZE", u64(announce)), ("MODE", u32(0o644))))
chunk = b"x" * 32768
sent = 0
md = hashlib.sha256()
closed = False
while sent < total and not closed:
    if w.windows.get(OURS, 0) == 0:
        ftype, chan, payload = w.frame(credits=True)
        if ftype == F["CONTROL"]:
            control(payload)
        elif chan == OURS and ftype == F["CLOSE"]:
            closed = True
        continue
    n = min(len(chunk), total - sent, w.windows[OURS])
    w.send("DATA", theirs, chunk[:n])
    md.update(chunk[:n])
    w.windows[OURS] -= n
    sent += n
if closed:
    print("cut off after %d bytes" % sent, flush=True)
    sys.exit(0)
w.send("MSG", theirs, w.msg("EXIT", ("STATUS", u32(0)), ("SIZE", u64(sent)),
                            ("HASH", md.digest())))
w.send("EOF", theirs)
w.send("CLOSE", theirs)
print("sent all %d bytes" % sent, flush=True)
# Until the console closes its side: leaving earlier could reset the
# connection under data the console has not read yet.
while True:
    ftype, chan, payload = w.frame()
    if ftype == F["CONTROL"]:
        control(payload)
    elif chan == OURS and ftype == F["CLOSE"]:
        break
