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
K_CODE, K_TEXT, K_TOKEN, K_CSR, K_HOST, K_ID, K_ALLOW, K_CMD, K_ARG, \
    K_STATUS, K_ROWS, K_COLS, K_TERM, K_HASH = \
    1, 2, 3, 4, 9, 12, 13, 14, 15, 16, 18, 19, 22, 32


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
    "notice": msg(M_NOTICE, (K_TEXT, b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
    "consent-reply": msg(M_CONSENT_REPLY, (K_ID, u64(7)), (K_ALLOW, b"\x01")),
    "request": msg(M_REQUEST, (K_CMD, b"exec"), (K_ARG, argv("ls", "-l", "")),
                   (K_ROWS, u32(24)), (K_COLS, u32(80)), (K_TERM, b"xterm"),
                   (K_HASH, bytes(range(32)))),
    "action": msg(M_ACTION, (K_CMD, b"shell"), (K_ARG, argv())),
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

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
for d, seeds in (("frame", frames), ("msg", msgs), ("argv", argvs)):
    os.makedirs(os.path.join(top, d), exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(top, d, name), "wb") as f:
            f.write(data)
