#!/usr/bin/env python3
# Writes the small valid inputs the fuzz targets start from, into
# tests/fuzz/seeds/{frame,msg,argv}/. Run once from the top of the tree;
# the binary files it writes are what is checked in.
import os
import struct

# Values from include/qh/wire.h.
F_CONTROL, F_OPEN, F_OPEN_OK, F_DATA, F_EOF, F_CLOSE, F_WINDOW, F_MSG, F_PING = \
    1, 2, 3, 5, 7, 8, 9, 10, 11
M_ERROR, M_JOIN, M_HELLO, M_NOTICE, M_CONSENT_REPLY, M_REQUEST, M_ACTION, \
    M_EXIT, M_RESIZE = 1, 2, 4, 6, 8, 9, 11, 12, 13
M_CONSENT, M_CONSENT_CANCEL = 7, 20
K_NAME, K_LOGIN, K_KIND = 8, 11, 26
K_CODE, K_TEXT, K_TOKEN, K_CSR, K_HOST, K_ID, K_ALLOW, K_CMD, K_ARG, \
    K_STATUS, K_ROWS, K_COLS, K_TERM, K_FLAGS, K_HASH, K_LANG = \
    1, 2, 3, 4, 9, 12, 13, 14, 15, 16, 18, 19, 22, 23, 32, 39


def string(b):
    return struct.pack(">I", len(b)) + b


def argv(*args):
    return b"".join(string(a.encode()) for a in args)


def msg(mtype, *fields):
    return bytes([mtype]) + b"".join(bytes([k]) + string(v) for k, v in fields)


def frame(ftype, chan, payload):
    return struct.pack(">BII", ftype, chan, len(payload)) + payload


u32 = lambda v: struct.pack(">I", v)
u64 = lambda v: struct.pack(">Q", v)

msgs = {
    "error": msg(M_ERROR, (K_CODE, b"denied"), (K_TEXT, b"not allowed")),
    "join": msg(M_JOIN, (K_TOKEN, b"tok-123"),
                (K_CSR, b"-----BEGIN CERTIFICATE REQUEST-----\n"),
                (K_HOST, b"h\xc3\xb6st")),
    "hello": msg(M_HELLO, (K_HOST, b"agent.example")),
    "join-lang": msg(M_JOIN, (K_TOKEN, b"tok-123"),
                     (K_CSR, b"-----BEGIN CERTIFICATE REQUEST-----\n"),
                     (K_HOST, b"B\xc3\xbcro-PC"), (K_LANG, b"de")),
    "hello-lang": msg(M_HELLO, (K_HOST, b"B\xc3\xbcro-PC"), (K_FLAGS, u32(0)),
                      (K_LANG, b"de")),
    "notice": msg(M_NOTICE, (K_TEXT, b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
    "consent": msg(M_CONSENT, (K_ID, u64(7)), (K_LOGIN, b"alice"),
                   (K_NAME, b"Alice Tech")),
    "consent-view": msg(M_CONSENT, (K_ID, u64(8)), (K_LOGIN, b"alice"),
                        (K_NAME, b"Alice Tech"), (K_KIND, b"view"),
                        (K_FLAGS, u32(1))),
    "consent-control": msg(M_CONSENT, (K_ID, u64(9)), (K_LOGIN, b"alice"),
                           (K_NAME, b"Alice Tech"), (K_KIND, b"control"),
                           (K_FLAGS, u32(0))),
    "consent-reply": msg(M_CONSENT_REPLY, (K_ID, u64(7)), (K_ALLOW, b"\x01")),
    "desktop": msg(M_ACTION, (K_CMD, b"desktop"), (K_FLAGS, u32(0x101)),
                   (K_LOGIN, b"alice"), (K_NAME, b"Alice Tech")),
    "consent-text": msg(M_CONSENT, (K_ID, u64(7)), (K_LOGIN, b"alice"),
                        (K_NAME, b"Alice"),
                        (K_TEXT, b"no units left; this session is billed as "
                         b"overdraft")),
    "consent-cancel": msg(M_CONSENT_CANCEL, (K_ID, u64(7))),
    "request": msg(M_REQUEST, (K_CMD, b"exec"), (K_ARG, argv("ls", "-l", "")),
                   (K_ROWS, u32(24)), (K_COLS, u32(80)), (K_TERM, b"xterm"),
                   (K_HASH, bytes(range(32)))),
    "request-account": msg(M_REQUEST, (K_CMD, b"account"),
                           (K_ARG, argv("ledger", "--from", "2026-01-01", "--format", "datev"))),
    "action": msg(M_ACTION, (K_CMD, b"shell"), (K_ARG, argv())),
    "watch": msg(M_REQUEST, (K_CMD, b"watch")),
    "exit": msg(M_EXIT, (K_STATUS, u32(0))),
    "resize": msg(M_RESIZE, (K_ROWS, u32(50)), (K_COLS, u32(132))),
}

frames = {
    "control": frame(F_CONTROL, 0, msgs["hello"]),
    "open": frame(F_OPEN, 3, u32(65536) + msgs["action"]),
    "session": frame(F_OPEN_OK, 3, u32(65536)) +
    frame(F_DATA, 3, b"hello\n") + frame(F_WINDOW, 3, u32(6)) +
    frame(F_MSG, 3, msgs["exit"]) + frame(F_EOF, 3, b"") +
    frame(F_CLOSE, 3, b""),
    "ping": frame(F_PING, 0, u64(0x1122334455667788)),
    "partial": frame(F_DATA, 1, b"abc") + frame(F_DATA, 1, b"defgh")[:11],
}

argvs = {
    "empty": argv(),
    "ls": argv("ls", "-l", "/tmp"),
    "blanks": argv("", "x", ""),
    "utf8": argv("\u00e9t\u00e9", "\u20ac"),
}

# fuzz_mux: a set-up byte (output size, role, drain, answer policy; see
# fuzz_mux.c), a piece-size byte, then what the peer sends. The
# application opens channels 1, 2 (closed while opening) and 3 when the
# peer is authenticated; the peer's own opens get our ids from 4 on.
F_OPEN_FAIL, F_EXTDATA, F_PONG = 4, 6, 12
M_EXIT_OK = msg(M_EXIT, (K_STATUS, u32(0)))
req = lambda cmd: msg(M_REQUEST, (K_CMD, cmd))
mux = {
    # Big output, answers as they come: our opens answered, used, closed.
    "session": bytes([0x03, 2]) +
    frame(F_OPEN_OK, 1, u32(101) + u32(65536)) +
    frame(F_DATA, 1, b"hello\n") + frame(F_EXTDATA, 1, b"err") +
    frame(F_WINDOW, 1, u32(4096)) + frame(F_MSG, 1, M_EXIT_OK) +
    frame(F_EOF, 1, b"") + frame(F_CLOSE, 1, b"") +
    frame(F_OPEN_OK, 2, u32(102) + u32(65536)) + frame(F_CLOSE, 2, b"") +
    frame(F_OPEN_FAIL, 3, msgs["error"]) +
    frame(F_OPEN, 7, u32(65536) + req(b"exec")) +
    frame(F_DATA, 4, b"x" * 20000) + frame(F_WINDOW, 4, u32(100)) +
    frame(F_DATA, 4, b"Eof please") + frame(F_EOF, 4, b"") +
    frame(F_CLOSE, 4, b""),
    # The peer does not read (64-byte output) and pings.
    "pings": bytes([0x00, 0]) + frame(F_PING, 0, u64(1)) * 12,
    # Opens answered every way, data that closes and half-closes.
    "opens": bytes([0x13, 1]) + b"".join(
        frame(F_OPEN, 10 + i, u32(65536) + req(b"exec" if i % 2 else b"attach"))
        for i in range(8)) +
    frame(F_DATA, 4, b"Close") + frame(F_DATA, 5, b"Eof") +
    frame(F_MSG, 6, msgs["resize"]) + frame(F_DATA, 7, b"y" * 3000),
    # A small output that fills while data is echoed and credited.
    "full": bytes([0x09, 3]) +
    frame(F_OPEN_OK, 1, u32(101) + u32(65536)) +
    frame(F_OPEN, 9, u32(65536) + req(b"exec")) +
    b"".join(frame(F_DATA, 4, b"z" * 8000) for _ in range(6)),
    # Our second channel, closed while opening: CLOSE before its OPEN_OK.
    "early-close": bytes([0x03, 4]) + frame(F_CLOSE, 2, b"") +
    frame(F_OPEN_OK, 2, u32(102) + u32(65536)),
    # A peer without a certificate: one JOIN, then anything else.
    "join": bytes([0x07, 5]) + frame(F_CONTROL, 0, msgs["join"]) +
    frame(F_CONTROL, 0, msgs["hello"]),
}

# fuzz_account: the words of a report request over TLS (packed argv).
accounts = {
    "balance": argv("balance", "acme", "--json"),
    "balances": argv("balances", "--json"),
    "ledger": argv("ledger", "--customer", "acme", "--from", "2026-01-01", "--to", "2026-02-01"),
    "state": argv("ledger", "--state", "/tmp"),
    "abbrev": argv("ledger", "--st", "/tmp", "--format=csv"),
    "statement": argv("statement", "acme", "--month", "2026-11"),
}

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
for d, seeds in (("frame", frames), ("msg", msgs), ("argv", argvs),
                 ("mux", mux), ("account", accounts)):
    os.makedirs(os.path.join(top, d), exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(top, d, name), "wb") as f:
            f.write(data)
