#!/usr/bin/env python3
# Writes the seeds of fuzz_ticket into tests/fuzz/seeds/ticket/: an option
# byte, then records (u16 length, message) as a ticket upload sends them,
# starting with the REQUEST. Message and key numbers are read from
# include/qh/wire.h, so the seeds follow the enums. Run once from anywhere;
# the files it writes are what is checked in.
import hashlib
import os
import re
import struct

here = os.path.dirname(os.path.abspath(__file__))
wire = open(os.path.join(here, "..", "..", "include", "qh", "wire.h")).read()


def enum(name, prefix):
    body = re.search(r"enum %s \{(.*?)\};" % name, wire, re.S).group(1)
    values, n = {}, 0
    for m in re.finditer(r"\b(%s\w+)(\s*=\s*(\d+))?" % prefix, body):
        n = int(m.group(3)) if m.group(3) else n + 1
        values[m.group(1)[len(prefix):]] = n
    return values


M = enum("qh_msg_type", "QH_MSG_")
K = enum("qh_key", "QH_K_")


def field(key, value):
    return bytes([K[key]]) + struct.pack(">I", len(value)) + value


def msg(mtype, *fields):
    return bytes([M[mtype]]) + b"".join(field(k, v) for k, v in fields)


def records(option, *msgs):
    return bytes([option]) + b"".join(struct.pack(">H", len(m)) + m for m in msgs)


u32 = lambda v: struct.pack(">I", v & 0xffffffff)
u64 = lambda v: struct.pack(">Q", v)
sha = lambda b: hashlib.sha256(b).digest()


def request(kind, subject, total, key=b"k" * 32):
    return msg("REQUEST", ("CMD", b"ticket"), ("KIND", kind), ("SUBJECT", subject),
               ("SIZE", u64(total)), ("HASH", key))


def text(which, chunk):
    return msg("TICKET_TEXT", ("KIND", which), ("CHUNK", chunk))


def attachment(name, size, digest):
    return msg("TICKET_FILE", ("NAME", name), ("SIZE", u64(size)), ("HASH", digest))


def slot(when, offset):
    return msg("TICKET_SLOT", ("WHEN", when), ("OFFSET", u32(offset)))


env = (b'{"hostname":"pc-7","os":{"name":"Debian GNU/Linux","version":"12"},'
       b'"disks":[{"mount":"/","free":12.5e9}],"locale":"de_DE.UTF-8",'
       b'"note":"\\u00fc\\n","ok":true,"none":null}')

seeds = {
    "support": records(0, request(b"support", b"Drucker druckt nicht", 11),
                       text(b"steps", b"1. Datei \xc3\xb6ffnen\n2. Drucken\n"),
                       text(b"environment", env),
                       attachment(b"screen.png", 5, sha(b"hello")),
                       attachment(b"db.sql", 6, sha(b"world!"))),
    "installation": records(1, request(b"installation", b"Install", 0),
                            slot(b"2026-12-05T10:00", 60),
                            slot(b"2026-12-07T09:30", -300)),
    "chunked": records(1, request(b"support", b"s", 0),
                       text(b"steps", b"a" * 60), text(b"steps", b"b" * 30),
                       text(b"environment", b'{"a":'),
                       text(b"environment", b'[1,2,{"b":"c"}]}')),
    "limits": records(1, request(b"support", b"big", 2000),
                      attachment(b"one", 1000, sha(b"")),
                      attachment(b"two", 1000, sha(b""))),
    "refused": records(0, request(b"support", b"x", 1),
                       attachment(b"../etc", 1, sha(b"a"))),
    # A customer's reply with an attachment (qh-agent ticket reply).
    "reply": records(0, msg("REQUEST", ("CMD", b"ticket-reply"), ("ID", u64(7)),
                            ("SIZE", u64(5)), ("HASH", b"r" * 32)),
                     text(b"text", b"Ein HP LaserJet 4050."),
                     attachment(b"foto.jpg", 5, sha(b"hello"))),
    # The ticket desk's requests (common/desk.c).
    "desk-tickets": records(0, msg("REQUEST", ("CMD", b"tickets"),
                                   ("CUSTOMER", b"acme"), ("FLAGS", u32(1)))),
    "desk-show": records(0, msg("REQUEST", ("CMD", b"ticket-show"), ("ID", u64(3)))),
    "desk-get": records(0, msg("REQUEST", ("CMD", b"ticket-get"), ("ID", u64(3)),
                               ("NAME", b"screen shot.png"))),
    "desk-need": records(0, msg("REQUEST", ("CMD", b"ticket-need"), ("ID", u64(3)),
                                ("TEXT", b"Welches Modell?"))),
    "desk-assign": records(0, msg("REQUEST", ("CMD", b"ticket-assign"), ("ID", u64(3)),
                                  ("LOGIN", b"alice"))),
    "desk-confirm": records(0, msg("REQUEST", ("CMD", b"ticket-confirm"),
                                   ("ID", u64(3)), ("SLOT", u32(2)))),
    "desk-close": records(0, msg("REQUEST", ("CMD", b"ticket-close"), ("ID", u64(3)),
                                 ("TEXT", b"erledigt"))),
    "desk-balance": records(0, msg("REQUEST", ("CMD", b"balance"))),
    # A session's recording (accounting): a cast, and a desktop's viewer side.
    "desk-recording": records(0, msg("REQUEST", ("CMD", b"recording"), ("ID", u64(12)),
                                     ("NAME", b"34-attach.cast"))),
    "desk-recording-fbs": records(0, msg("REQUEST", ("CMD", b"recording"),
                                         ("ID", u64(12)),
                                         ("NAME", b"35-desktop.client.fbs"))),
}

top = os.path.join(here, "seeds", "ticket")
os.makedirs(top, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(top, name), "wb") as f:
        f.write(data)
