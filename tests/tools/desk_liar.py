#!/usr/bin/env python3
"""An agent that asks the ticket desk for what it may not have, for tests:
speaks the agent's side of the ticket desk (docs/protocol.md, "The ticket
desk") over TLS with a real agent bundle, on one connection without
HELLO: staff commands, another customer's ticket, a malformed request,
then its own balance. Prints one line per request, "CMD: CODE: TEXT" for
a refusal and "balance: CUSTOMER UNITS" for the balance, and exits 0;
exits non-zero if a refused request is answered or the connection ends.

usage: desk_liar.py BUNDLE PORT WIRE_H TICKET
"""
import json
import struct
import sys

from qhwire import Wire, u32, u64

bundle, port, wire_h, ticket = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
w = Wire(wire_h, bundle, port)
F, M = w.F, w.M


def ask(chan, *fields):
    """Opens channel chan with REQUEST fields; the frame type and payload
    of the answer (OPEN_OK or OPEN_FAIL)."""
    w.send("OPEN", chan, u32(1 << 20) + w.msg("REQUEST", *fields))
    ftype, got, payload = w.frame()
    assert got == chan, (got, chan)
    return ftype, payload


refusals = [
    ("ticket-need", ("ID", u64(ticket)), ("TEXT", b"x")),
    ("ticket-close", ("ID", u64(ticket)), ("TEXT", b"x")),
    ("ticket-assign", ("ID", u64(ticket)), ("LOGIN", b"alice")),
    ("ticket-show", ("ID", u64(ticket))),
    ("ticket-get", ("ID", u64(ticket)), ("NAME", b"a.txt")),
    ("tickets", ("FLAGS", u32(0x80))),
    ("ticket-show", ),
]
chan = 1
for cmd, *fields in refusals:
    ftype, payload = ask(chan, ("CMD", cmd.encode()), *fields)
    assert ftype == F["OPEN_FAIL"], "%s answered: %r" % (cmd, payload)
    assert payload[0] == M["ERROR"], payload
    print("%s: %s: %s" % (cmd, w.field(payload, "CODE").decode(),
                          w.field(payload, "TEXT").decode()))
    chan += 1

# The same connection still answers what the PC may ask.
ftype, payload = ask(chan, ("CMD", b"balance"))
assert ftype == F["OPEN_OK"], payload
doc = b""
while True:
    ftype, got, payload = w.frame()
    if ftype == F["DATA"]:
        doc += payload
    elif ftype == F["EOF"]:
        break
    else:
        sys.exit("unexpected frame %d" % ftype)
b = json.loads(doc)
print("balance: %s %d" % (b["customer"], b["units"]))
