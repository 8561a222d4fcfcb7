#!/usr/bin/env python3
"""A test RFB client (RFC 6143) in plain Python 3, for the desktop tests.

  rfbclient.py snap  HOST:PORT OUT.ppm [--encodings raw,cursor] [--wait-text F]
  rfbclient.py type  HOST:PORT TEXT [--enter] [--shift] [--pointer X,Y [--click]] [--settle-max S] [--out F.ppm]
  rfbclient.py watch HOST:PORT --seconds S [--encodings ...]
  rfbclient.py hold  HOST:PORT --seconds S
  rfbclient.py count HOST:PORT [--seconds S]
  rfbclient.py clip  HOST:PORT [--send TEXT] [--expect TEXT] [--seconds S]
  rfbclient.py compare A.ppm B.ppm

snap: handshake (3.8, security None), SetPixelFormat 32 bpp, SetEncodings
(Raw and the Cursor pseudo-encoding by default, so the pointer is not
painted into the frame), one full update request, and the picture as a
binary PPM. Decodes Raw, CopyRect, ZRLE, Cursor, PointerPos, DesktopSize.
type: KeyEvents for each character of TEXT (and Return with --enter); with
--shift, Shift_L goes down around characters that need it, as a viewer on
a US keyboard sends them; --pointer moves the pointer there first (X
gives the keyboard to the window under the pointer; --click clicks there,
for systems that give it to the window clicked); --settle-max bounds
each wait for a quiet screen (a blinking caret); --out follows the
incremental updates until the screen is quiet for a second and writes the
picture then. watch: incremental updates for S seconds, then
one line "updates N, fps F, bytes B". hold: a viewer that stays, asking
for updates, for S seconds or until the server closes; prints "held S s"
or "closed after S s". count: connects and reads without saying
anything until the server closes or S seconds pass (default 30); prints
"bytes N" (what left the server). clip: sends TEXT as the viewer's
clipboard (ClientCutText), then follows the server for S seconds or until
ServerCutText brings the expected text; prints "received 'TEXT'" for each
and exits 1 when the expected one did not come. compare: exits 1 and says where the two
pictures first differ and how many pixels do.
"""
import argparse
import select
import socket
import struct
import sys
import time
import zlib

ENC = {"raw": 0, "copyrect": 1, "zrle": 16, "cursor": -239,
       "pointerpos": -232, "desktopsize": -223}
SHIFTED = set('~!@#$%^&*()_+{}|:"<>?') | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
XK_RETURN, XK_SHIFT_L = 0xff0d, 0xffe1


class Client:
    def __init__(self, addr, encodings):
        host, port = addr.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=30)
        self.buf = b""
        self.zlib = zlib.decompressobj()
        self.updates = 0
        self.bytes = 0
        self.cuts = []
        self.handshake()
        # 32 bpp, depth 24, little-endian, red at 16: pixels as bytes B, G, R, X.
        self.send(struct.pack(">BxxxBBBBHHHBBBxxx", 0, 32, 24, 0, 1, 255, 255, 255,
                              16, 8, 0))
        self.send(struct.pack(">BxH", 2, len(encodings)) +
                  b"".join(struct.pack(">i", ENC[e]) for e in encodings))

    def send(self, data):
        self.s.sendall(data)

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise EOFError("server closed the connection")
            self.bytes += len(chunk)
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def handshake(self):
        version = self.read(12)
        assert version.startswith(b"RFB 003."), version
        self.send(b"RFB 003.008\n")
        n = self.read(1)[0]
        types = self.read(n)
        assert 1 in types, "security None not offered: %r" % types
        self.send(b"\x01")
        assert struct.unpack(">I", self.read(4))[0] == 0, "security failed"
        self.send(b"\x01")  # shared
        self.w, self.h = struct.unpack(">HH", self.read(4))
        self.read(16)
        self.name = self.read(struct.unpack(">I", self.read(4))[0])
        self.fb = bytearray(self.w * self.h * 4)

    def request(self, incremental):
        self.send(struct.pack(">BBHHHH", 3, incremental, 0, 0, self.w, self.h))

    def message(self):
        """Reads one server message; returns its type. ServerCutText goes
        to self.cuts."""
        t = self.read(1)[0]
        if t == 2:
            return t
        if t == 3:
            self.read(3)
            self.cuts.append(self.read(struct.unpack(">I", self.read(4))[0]))
            return t
        if t != 0:
            raise ValueError("server message type %d" % t)
        self.read(1)
        (n,) = struct.unpack(">H", self.read(2))
        for _ in range(n):
            x, y, w, h, e = struct.unpack(">HHHHi", self.read(12))
            self.rect(x, y, w, h, e)
        self.updates += 1
        return t

    def update(self):
        """Reads server messages up to and including one FramebufferUpdate."""
        while self.message() != 0:
            pass

    def cut(self, text):
        """ClientCutText: text (Latin-1) as the viewer's clipboard."""
        data = text.encode("latin-1")
        self.send(struct.pack(">BxxxI", 6, len(data)) + data)

    def settle(self, quiet, most=None):
        """Follows incremental updates until none comes for quiet seconds,
        or for at most `most` seconds in all (a blinking caret is never
        quiet)."""
        end = None if most is None else time.monotonic() + most
        while end is None or time.monotonic() < end:
            self.request(1)
            if not self.buf and not select.select([self.s], [], [], quiet)[0]:
                return
            self.update()

    def put_rows(self, x, y, w, h, data):
        for j in range(h):
            o = ((y + j) * self.w + x) * 4
            self.fb[o:o + w * 4] = data[j * w * 4:(j + 1) * w * 4]

    def rect(self, x, y, w, h, e):
        if e == 0:
            self.put_rows(x, y, w, h, self.read(w * h * 4))
        elif e == 1:
            sx, sy = struct.unpack(">HH", self.read(4))
            rows = [bytes(self.fb[((sy + j) * self.w + sx) * 4:((sy + j) * self.w + sx + w) * 4])
                    for j in range(h)]
            self.put_rows(x, y, w, h, b"".join(rows))
        elif e == 16:
            self.zrle(x, y, w, h)
        elif e == -239:
            self.read(w * h * 4 + (w + 7) // 8 * h)
        elif e == -223:
            self.w, self.h = w, h
            self.fb = bytearray(w * h * 4)
        elif e != -232:
            raise ValueError("encoding %d" % e)

    def zrle(self, x, y, w, h):
        (n,) = struct.unpack(">I", self.read(4))
        data = self.zlib.decompress(self.read(n))
        pos = 0

        def cpixel():
            nonlocal pos
            p = data[pos:pos + 3] + b"\0"
            pos += 3
            return p

        def run():
            nonlocal pos
            r = 1
            while True:
                b = data[pos]
                pos += 1
                r += b
                if b != 255:
                    return r

        for ty in range(y, y + h, 64):
            for tx in range(x, x + w, 64):
                tw, th = min(64, x + w - tx), min(64, y + h - ty)
                sub = data[pos]
                pos += 1
                px = []
                if sub == 0:
                    px = [cpixel() for _ in range(tw * th)]
                elif sub == 1:
                    px = [cpixel()] * (tw * th)
                elif sub <= 16:
                    pal = [cpixel() for _ in range(sub)]
                    bits = 1 if sub == 2 else 2 if sub <= 4 else 4
                    for _ in range(th):
                        row, nbits = [], 0
                        for _ in range(tw):
                            if nbits == 0:
                                byte, nbits = data[pos], 8
                                pos += 1
                            nbits -= bits
                            row.append(pal[(byte >> nbits) & ((1 << bits) - 1)])
                        px += row
                elif sub == 128:
                    while len(px) < tw * th:
                        p = cpixel()
                        px += [p] * run()
                elif sub >= 130:
                    pal = [cpixel() for _ in range(sub - 128)]
                    while len(px) < tw * th:
                        b = data[pos]
                        pos += 1
                        px += [pal[b & 127]] * (run() if b & 128 else 1)
                else:
                    raise ValueError("ZRLE subencoding %d" % sub)
                self.put_rows(tx, ty, tw, th, b"".join(px))

    def pointer(self, x, y, buttons=0):
        self.send(struct.pack(">BBHH", 5, buttons, x, y))

    def key(self, down, keysym):
        self.send(struct.pack(">BBxxI", 4, down, keysym))

    def ppm(self):
        out = bytearray(self.w * self.h * 3)
        out[0::3] = self.fb[2::4]
        out[1::3] = self.fb[1::4]
        out[2::3] = self.fb[0::4]
        return b"P6\n%d %d\n255\n" % (self.w, self.h) + bytes(out)


def type_text(c, text, enter, shift):
    for ch in text:
        needs = shift and ch in SHIFTED
        if needs:
            c.key(1, XK_SHIFT_L)
        c.key(1, ord(ch))
        c.key(0, ord(ch))
        if needs:
            c.key(0, XK_SHIFT_L)
    if enter:
        c.key(1, XK_RETURN)
        c.key(0, XK_RETURN)


def read_ppm(path):
    data = open(path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6" and fields[3] == b"255", "%s: not a binary 8-bit PPM" % path
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1:pos + 1 + w * h * 3]


def compare(a, b):
    wa, ha, pa = read_ppm(a)
    wb, hb, pb = read_ppm(b)
    if (wa, ha) != (wb, hb):
        print("size differs: %s is %dx%d, %s is %dx%d" % (a, wa, ha, b, wb, hb))
        return 1
    if pa == pb:
        print("identical: %dx%d" % (wa, ha))
        return 0
    diff = [i for i in range(0, len(pa), 3) if pa[i:i + 3] != pb[i:i + 3]]
    i = diff[0]
    print("%d of %d pixels differ; first at %d,%d: %s has #%s, %s has #%s" % (
        len(diff), wa * ha, (i // 3) % wa, (i // 3) // wa, a, pa[i:i + 3].hex(), b,
        pb[i:i + 3].hex()))
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["snap", "type", "watch", "hold", "count", "compare",
                                    "clip"])
    ap.add_argument("args", nargs="+")
    ap.add_argument("--encodings", default="raw,cursor")
    ap.add_argument("--enter", action="store_true")
    ap.add_argument("--shift", action="store_true")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--pointer")
    ap.add_argument("--click", action="store_true")
    ap.add_argument("--settle-max", type=float)
    ap.add_argument("--out")
    ap.add_argument("--send")
    ap.add_argument("--expect")
    o = ap.parse_args()
    if o.cmd == "compare":
        return compare(*o.args[:2])
    if o.cmd == "count":
        host, port = o.args[0].rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=o.seconds)
        n = 0
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                n += len(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
        print("bytes %d" % n)
        return 0
    start = time.time()
    try:
        c = Client(o.args[0], o.encodings.split(","))
    except (EOFError, ConnectionResetError):
        if o.cmd != "hold":
            raise
        # The server went during the handshake: for hold, a disconnect too.
        print("closed after %.1f s" % (time.time() - start))
        return 0
    if o.cmd == "clip":
        c.request(0)
        c.update()
        if o.send is not None:
            c.cut(o.send)
        # Follows the server for S seconds, or until the expected text came.
        want = None if o.expect is None else o.expect.encode("latin-1")
        end = time.monotonic() + o.seconds
        c.request(1)
        while time.monotonic() < end and (want is None or want not in c.cuts):
            if c.buf or select.select([c.s], [], [], 0.2)[0]:
                if c.message() == 0:
                    c.request(1)
        for t in c.cuts:
            print("received %r" % t.decode("latin-1"))
        return 0 if want is None or want in c.cuts else 1
    if o.cmd == "snap":
        c.request(0)
        c.update()
        open(o.args[1], "wb").write(c.ppm())
    elif o.cmd == "type":
        c.request(0)
        c.update()
        if o.pointer:
            x, y = (int(v) for v in o.pointer.split(","))
            c.pointer(x, y)
            if o.click:
                c.pointer(x, y, 1)
                c.pointer(x, y, 0)
                c.settle(0.5, o.settle_max)
        type_text(c, o.args[1], o.enter, o.shift)
        c.settle(1.0, o.settle_max)  # the server has read every key event
        if o.out:
            open(o.out, "wb").write(c.ppm())
    elif o.cmd == "watch":
        c.request(0)
        c.update()
        start, n0, b0 = time.time(), c.updates, c.bytes
        while time.time() - start < o.seconds:
            c.request(1)
            c.update()
        secs = time.time() - start
        print("updates %d, fps %.1f, bytes %d" % (c.updates - n0, (c.updates - n0) / secs,
                                                  c.bytes - b0))
    elif o.cmd == "hold":
        start, asked = time.time(), False
        try:
            c.request(0)
            c.update()
            while time.time() - start < o.seconds:
                if not asked:
                    c.request(1)
                    asked = True
                if c.buf or select.select([c.s], [], [], 0.2)[0]:
                    c.update()
                    asked = False
        except (EOFError, ConnectionResetError):
            print("closed after %.1f s" % (time.time() - start))
            return 0
        print("held %.1f s" % (time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
