#!/usr/bin/env python3
"""Hostile peers of the console, for the access tests (tests/e2e) and the
hostile-load soak (tests/soak/hostile.sh). Every peer speaks from a source
address of its own choice in 127.0.0.0/8, as the per-address limits are
meant to be met (DESIGN, issue 10: load over 127.0.0.x).

  hostile.py flood PORT --sources A[-B] --count N [--tls] [--hold S]
      N connections spread over the sources (127.0.0.A to 127.0.0.B);
      with --tls each completes a TLS handshake without a certificate;
      then they sit idle. Prints how many the console took, refused at
      once, and how many it still held after S seconds.
  hostile.py join PORT --source A[-B] --count N [--parallel|--burst]
      [--secret HEX]
      N rounds of JOIN requests with an unknown token, one from each
      source per round: one after another, each round's at once
      (--parallel), or all at once (--burst). Prints the seconds each
      took to be answered and the console's text.
  hostile.py upload PORT BUNDLE MODE
      One ticket upload with an agent's bundle that holds the intake:
      MODE idle (opens and sends nothing), meta (sends a description
      message every half second) or data (announces 1 MiB and sends a
      byte every half second). Prints "refused: TEXT", or "closed after S
      s: TEXT" when the console ends it, or "held" after 30 s.
  hostile.py soak PORT --bundles DIR --seconds S [--idle N]
      [--slowloris N] [--junk N]
      The hostile load: N idle pre-auth connections (half plain TCP, half
      after a TLS handshake) over 127.0.0.2-254, reconnected when closed;
      N slowloris connections trickling a ClientHello, or a JOIN after
      the handshake, a byte a second; N agents (the bundles DIR/*/agent.pem)
      sending junk frames in a loop. Prints one line of figures per kind.

Frame, message and key numbers are read from include/qh/wire.h.
"""
import argparse
import asyncio
import glob
import os
import random
import re
import ssl
import statistics
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WIRE = open(os.path.join(ROOT, "include/qh/wire.h")).read()


def enum(name, prefix):
    body = re.search(r"enum %s \{(.*?)\};" % name, WIRE, re.S).group(1)
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


def frame(ftype, chan, payload=b""):
    return struct.pack(">BII", F[ftype], chan, len(payload)) + payload


def field(payload, key):
    i = 1
    while i + 5 <= len(payload):
        k, n = payload[i], struct.unpack(">I", payload[i + 1:i + 5])[0]
        if k == K[key]:
            return payload[i + 5:i + 5 + n]
        i += 5 + n
    return b""


def sources(spec):
    a, _, b = spec.partition("-")
    a = int(a.split(".")[-1])
    b = int(b.split(".")[-1]) if b else a
    return ["127.0.0.%d" % x for x in range(a, b + 1)]


def client_ctx(bundle=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if bundle:
        ctx.load_cert_chain(bundle)
    return ctx


async def read_frame(reader):
    """The next frame that is not a ping or a window credit: (type, chan, payload)."""
    while True:
        hdr = await reader.readexactly(9)
        ftype, chan, n = struct.unpack(">BII", hdr)
        payload = await reader.readexactly(n)
        if ftype not in (F["PING"], F["WINDOW"]):
            return ftype, chan, payload


async def closed_by_peer(reader, limit):
    """Seconds until the peer closes, or None when it is still open after limit."""
    t0 = time.monotonic()
    try:
        while True:
            left = limit - (time.monotonic() - t0)
            if left <= 0:
                return None
            if not await asyncio.wait_for(reader.read(65536), left):
                return time.monotonic() - t0
    except asyncio.TimeoutError:
        return None
    except (ConnectionError, OSError, ssl.SSLError):
        return time.monotonic() - t0


# flood ------------------------------------------------------------------


async def flood(args):
    srcs = sources(args.sources)
    ctx = client_ctx() if args.tls else None
    stats = {"taken": 0, "refused": 0}
    conns = []

    async def one(i):
        src = srcs[i % len(srcs)]
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", args.port, local_addr=(src, 0), ssl=ctx,
                server_hostname="" if ctx else None), 15)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, EOFError):
            stats["refused"] += 1
            return
        if not args.tls:
            # A refused plain connection is closed at once: wait a moment.
            try:
                data = await asyncio.wait_for(reader.read(1), 0.3)
                if not data:
                    stats["refused"] += 1
                    writer.close()
                    return
            except asyncio.TimeoutError:
                pass
            except (OSError, ssl.SSLError):
                stats["refused"] += 1
                return
        stats["taken"] += 1
        conns.append((reader, writer))

    await asyncio.gather(*(one(i) for i in range(args.count)))
    print("flood: %d connections from %d addresses: %d taken, %d refused at once"
          % (args.count, len(srcs), stats["taken"], stats["refused"]), flush=True)
    results = await asyncio.gather(*(closed_by_peer(r, args.hold) for r, _ in conns))
    still = sum(1 for x in results if x is None)
    closed = sorted(x for x in results if x is not None)
    print("flood: after %g s %d still open, %d closed by the console%s"
          % (args.hold, still, len(closed),
             " (the last after %.1f s)" % closed[-1] if closed else ""), flush=True)
    for _, w in conns:
        w.close()


# join -------------------------------------------------------------------


def join_msg(secret):
    csr = b"-----BEGIN CERTIFICATE REQUEST-----\nnot one\n-----END CERTIFICATE REQUEST-----\n"
    return frame("CONTROL", 0, msg("JOIN", ("TOKEN", secret.encode()), ("CSR", csr),
                                    ("HOST", b"hostile")))


async def join_once(port, src, secret):
    t0 = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", port, local_addr=(src, 0), ssl=client_ctx(),
            server_hostname=""), 20)
        writer.write(join_msg(secret))
        await writer.drain()
        ftype, _, payload = await asyncio.wait_for(read_frame(reader), 40)
        text = field(payload, "TEXT").decode(errors="replace")
        writer.close()
    except (OSError, ssl.SSLError, asyncio.TimeoutError,
            asyncio.IncompleteReadError) as e:
        text = "no answer: %s" % type(e).__name__
    return time.monotonic() - t0, text


async def join(args):
    srcs = sources(args.source)
    secret = args.secret or os.urandom(16).hex()
    res = []
    if args.burst:
        res = await asyncio.gather(*(join_once(args.port, src, secret)
                                     for _ in range(args.count) for src in srcs))
    for _ in range(0 if args.burst else args.count):
        if args.parallel:
            res += await asyncio.gather(*(join_once(args.port, src, secret)
                                          for src in srcs))
        else:
            for src in srcs:
                res.append(await join_once(args.port, src, secret))
    for secs, text in res:
        print("%.2f %s" % (secs, text), flush=True)


# upload -----------------------------------------------------------------


async def upload(args):
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", args.port, ssl=client_ctx(args.bundle), server_hostname="")
    size = 1 << 20
    writer.write(frame("OPEN", 1, struct.pack(">I", 1 << 20) + msg(
        "REQUEST", ("CMD", b"ticket"), ("KIND", b"support"),
        ("SUBJECT", b"held " + args.mode.encode()),
        ("SIZE", struct.pack(">Q", size if args.mode == "data" else 0)),
        ("HASH", os.urandom(32)))))
    await writer.drain()
    ftype, _, payload = await asyncio.wait_for(read_frame(reader), 20)
    if ftype == F["OPEN_FAIL"]:
        print("refused: %s" % field(payload, "TEXT").decode(), flush=True)
        return
    assert ftype == F["OPEN_OK"], (ftype, payload)
    peer = struct.unpack(">I", payload[:4])[0]
    print("open", flush=True)
    t0 = time.monotonic()

    async def trickle():
        n = 0
        if args.mode == "data":
            writer.write(frame("MSG", peer, msg(
                "TICKET_FILE", ("NAME", b"big.bin"),
                ("SIZE", struct.pack(">Q", size)), ("HASH", os.urandom(32)))))
            writer.write(frame("MSG", peer, msg("TICKET_GO")))
        while args.mode != "idle":
            await asyncio.sleep(0.5)
            n += 1
            if args.mode == "meta":
                writer.write(frame("MSG", peer, msg("TICKET_TEXT", ("KIND", b"steps"),
                                                    ("CHUNK", b"."))))
            else:
                writer.write(frame("DATA", peer, b"x"))
            await writer.drain()

    task = asyncio.ensure_future(trickle())
    try:
        while True:
            ftype, _, payload = await asyncio.wait_for(
                read_frame(reader), max(0.1, 30 - (time.monotonic() - t0)))
            if ftype == F["MSG"] and payload[0] == M["ERROR"]:
                print("closed after %.1f s: %s" % (time.monotonic() - t0,
                      field(payload, "TEXT").decode()), flush=True)
                return
            if ftype == F["CLOSE"]:
                print("closed after %.1f s: (no text)" % (time.monotonic() - t0),
                      flush=True)
                return
    except asyncio.TimeoutError:
        print("held", flush=True)
    except (asyncio.IncompleteReadError, ConnectionError):
        print("closed after %.1f s: (connection)" % (time.monotonic() - t0),
              flush=True)
    finally:
        task.cancel()


# soak -------------------------------------------------------------------


class Figures:
    def __init__(self):
        self.n = {}
        self.lives = {}

    def count(self, key, k=1):
        self.n[key] = self.n.get(key, 0) + k

    def life(self, key, secs):
        self.lives.setdefault(key, []).append(secs)

    def line(self, key, what):
        lv = self.lives.get(key, [])
        return "%s: %d connections, %d refused at once, %d closed by the console%s" % (
            what, self.n.get(key + ".made", 0), self.n.get(key + ".refused", 0),
            len(lv), ", lifetime median %.1f s, max %.1f s" % (
                statistics.median(lv), max(lv)) if lv else "")


def client_hello():
    """The bytes of a TLS 1.3 ClientHello, to trickle."""
    ctx = client_ctx()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


async def soak_idle(port, srcs, i, fig, stop, use_tls):
    key = "idle"
    ctx = client_ctx() if use_tls else None
    while time.monotonic() < stop:
        src = srcs[i % len(srcs)]
        fig.count(key + ".made")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", port, local_addr=(src, 0), ssl=ctx,
                server_hostname="" if ctx else None), 15)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, EOFError):
            fig.count(key + ".refused")
            await asyncio.sleep(0.5 + random.random())
            continue
        life = await closed_by_peer(reader, stop - time.monotonic())
        writer.close()
        if life is None:
            break
        if life < 0.3:
            fig.count(key + ".refused")
        else:
            fig.life(key, life)
        await asyncio.sleep(0.5 + random.random())


async def soak_slowloris(port, srcs, i, fig, stop, hello):
    """Even i: a ClientHello a byte a second; odd: a JOIN a byte a second."""
    key = "slow"
    while time.monotonic() < stop:
        src = srcs[i % len(srcs)]
        fig.count(key + ".made")
        t0 = time.monotonic()
        try:
            if i % 2 == 0:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(src, 0))
                data = hello
            else:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(src, 0), ssl=client_ctx(),
                    server_hostname=""), 15)
                data = join_msg("0" * 32)
            for b in data:
                writer.write(bytes([b]))
                await writer.drain()
                if reader.at_eof():
                    break
                try:
                    if not await asyncio.wait_for(reader.read(65536), 1.0):
                        break
                except asyncio.TimeoutError:
                    pass
                if time.monotonic() >= stop:
                    break
            writer.close()
        except (OSError, ssl.SSLError, asyncio.TimeoutError, EOFError):
            pass
        life = time.monotonic() - t0
        if time.monotonic() >= stop:
            break
        if life < 0.3:
            fig.count(key + ".refused")
        else:
            fig.life(key, life)
        await asyncio.sleep(0.5 + random.random())


JUNK = [
    lambda: os.urandom(64),                                   # garbage
    lambda: struct.pack(">BII", 200, 0, 0),                   # unknown frame type
    lambda: struct.pack(">BII", F["DATA"], 77, 4) + b"junk",  # unknown channel
    lambda: struct.pack(">BII", F["CONTROL"], 0, 1 << 30),    # oversized
    lambda: frame("CONTROL", 0, b"\xff\x00"),                 # bad message
]


async def soak_junk(port, bundle, src, fig, stop):
    key = "junk"
    ctx = client_ctx(bundle)
    while time.monotonic() < stop:
        fig.count(key + ".made")
        t0 = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", port, local_addr=(src, 0), ssl=ctx,
                server_hostname=""), 15)
            writer.write(random.choice(JUNK)())
            await writer.drain()
            life = await closed_by_peer(reader, 10)
            writer.close()
            if life is not None:
                fig.life(key, time.monotonic() - t0)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, EOFError):
            fig.count(key + ".refused")
        await asyncio.sleep(0.05)


async def soak(args):
    stop = time.monotonic() + args.seconds
    fig = Figures()
    srcs = ["127.0.0.%d" % x for x in range(2, 255)]
    bundles = sorted(glob.glob(os.path.join(args.bundles, "*", "agent.pem")))
    hello = client_hello()
    tasks = [soak_idle(args.port, srcs, i, fig, stop, i % 2 == 1)
             for i in range(args.idle)]
    tasks += [soak_slowloris(args.port, srcs[::-1], i, fig, stop, hello)
              for i in range(args.slowloris)]
    tasks += [soak_junk(args.port, bundles[i % len(bundles)], srcs[i % len(srcs)],
                        fig, stop) for i in range(args.junk if bundles else 0)]
    await asyncio.gather(*tasks)
    print(fig.line("idle", "idle pre-auth"), flush=True)
    print(fig.line("slow", "slowloris"), flush=True)
    print(fig.line("junk", "junk-frame agents"), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("flood")
    p.add_argument("port", type=int)
    p.add_argument("--sources", default="2")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--hold", type=float, default=5)
    p = sub.add_parser("join")
    p.add_argument("port", type=int)
    p.add_argument("--source", default="2")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--parallel", action="store_true")
    p.add_argument("--burst", action="store_true")
    p.add_argument("--secret")
    p = sub.add_parser("upload")
    p.add_argument("port", type=int)
    p.add_argument("bundle")
    p.add_argument("mode", choices=["idle", "meta", "data"])
    p = sub.add_parser("soak")
    p.add_argument("port", type=int)
    p.add_argument("--bundles", required=True)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--idle", type=int, default=2000)
    p.add_argument("--slowloris", type=int, default=200)
    p.add_argument("--junk", type=int, default=50)
    args = ap.parse_args()
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    asyncio.run(globals()[args.cmd](args))


if __name__ == "__main__":
    sys.exit(main())
