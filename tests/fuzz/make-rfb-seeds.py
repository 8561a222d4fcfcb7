#!/usr/bin/env python3
# Writes the small valid inputs fuzz_rfb, fuzz_fbs and fuzz_rfbclient start
# from, into tests/fuzz/seeds/{rfb,fbs,rfbclient}/. Run once from the top of the tree; the
# binary files it writes are what is checked in. The JPEG seed needs
# ImageMagick's convert (skipped without it).
import os
import struct
import subprocess
import zlib

# Values from include/qh/rfbproto.h.
RAW, COPYRECT, TIGHT, ZRLE = 0, 1, 7, 16
DESKTOPSIZE, POINTERPOS, CURSOR, QUALITY0, COMPRESS0 = -223, -232, -239, -32, -256


def pf(bpp, depth, be, rmax, gmax, bmax, rs, gs, bs):
    return struct.pack(">BBBBHHHBBBxxx", bpp, depth, be, 1, rmax, gmax, bmax, rs, gs, bs)


PF32 = pf(32, 24, 0, 255, 255, 255, 16, 8, 0)
PF16 = pf(16, 16, 1, 31, 63, 31, 11, 5, 0)
PF8 = pf(8, 8, 0, 7, 7, 3, 0, 3, 6)
HELLO = b"RFB 003.008\n\x01\x01"


def setpf(p):
    return b"\x00\x00\x00\x00" + p


def setenc(*encs):
    return struct.pack(">BxH", 2, len(encs)) + b"".join(struct.pack(">i", e) for e in encs)


def request(inc, x=0, y=0, w=100, h=70):
    return struct.pack(">BBHHHH", 3, inc, x, y, w, h)


def key(down, sym):
    return struct.pack(">BBxxI", 4, down, sym)


def pointer(mask, x, y):
    return struct.pack(">BBHH", 5, mask, x, y)


def cut(text):
    return struct.pack(">BxxxI", 6, len(text)) + text


def rfb_seeds():
    return {
        "hello38": HELLO + request(0),
        "hello37": b"RFB 003.007\n\x01\x01" + request(0),
        "hello33": b"RFB 003.003\n\x01" + request(0),
        "zrle16": HELLO + setpf(PF16) + setenc(ZRLE, COPYRECT, CURSOR, DESKTOPSIZE) +
        request(0) + request(1) + request(1),
        "tight32": HELLO + setpf(PF32) + setenc(TIGHT, QUALITY0 + 7, COMPRESS0 + 2,
                                                 CURSOR, POINTERPOS) +
        request(0) + request(1, 10, 10, 30, 30),
        "raw8": HELLO + setpf(PF8) + setenc(RAW) + request(0),
        "input": HELLO + key(1, 0xffe1) + key(1, 0x41) + key(0, 0x41) + key(0, 0xffe1) +
        pointer(1, 5, 6) + pointer(0, 500, 600) + cut(b"caf\xe9") + request(0),
    }


def rfbclient_seeds():
    """Viewer streams for fuzz_rfbclient: fuzz_rfb's, a format changed
    between updates, and clipboard text longer than the server keeps."""
    seeds = rfb_seeds()
    seeds["pfchange"] = (HELLO + setpf(PF32) + setenc(ZRLE, COPYRECT, CURSOR) +
                         request(0) + setpf(PF16) + request(0) + setpf(PF8) +
                         setenc(TIGHT, QUALITY0 + 5) + request(1))
    seeds["longcut"] = HELLO + request(0) + cut(b"x" * 263000) + request(1)
    return seeds


# The server side of a session, for fuzz_fbs.
def serverinit(w, h, p=PF32):
    return (b"RFB 003.008\n\x01\x01" + b"\0\0\0\0" + struct.pack(">HH", w, h) + p +
            struct.pack(">I", 4) + b"test")


def update(*rects):
    return struct.pack(">BxH", 0, len(rects)) + b"".join(rects)


def rect(x, y, w, h, enc, data=b""):
    return struct.pack(">HHHHi", x, y, w, h, enc) + data


def compact(n):
    out = bytes([(n & 0x7f) | (0x80 if n >= 0x80 else 0)])
    if n >= 0x80:
        out += bytes([((n >> 7) & 0x7f) | (0x80 if n >= 0x4000 else 0)])
    if n >= 0x4000:
        out += bytes([n >> 14])
    return out


def pixel32(r, g, b):
    return bytes([b, g, r, 0])


def fbs(*chunks):
    out = b"FBS 001.000\n"
    for i, c in enumerate(chunks):
        out += struct.pack(">I", len(c)) + c + b"\0" * (-len(c) % 4) + struct.pack(">I", i * 40)
    return out


def fbs_seeds():
    w, h = 20, 10
    raw = rect(0, 0, w, h, RAW, b"".join(pixel32(x * 10, y * 20, 5) for y in range(h)
                                          for x in range(w)))
    z = zlib.compressobj()
    tiles = (b"\x01" + b"\x10\x20\x30" +  # solid tile
             b"")
    zr = z.compress(tiles) + z.flush(zlib.Z_SYNC_FLUSH)
    # A second rectangle with a packed palette of two colours, 8x2.
    packed = b"\x02" + b"\xff\xff\xff" + b"\0\0\0" + b"\xaa" + b"\x55"
    zr2 = z.compress(packed) + z.flush(zlib.Z_SYNC_FLUSH)
    # Plain RLE and palette RLE.
    rle = b"\x80" + b"\x01\x02\x03" + b"\x0f" + b"\x04\x05\x06" + b"\x0f"
    zr3 = z.compress(rle) + z.flush(zlib.Z_SYNC_FLUSH)
    prle = b"\x82" + b"\x01\x02\x03" + b"\x04\x05\x06" + b"\x80\x0f" + b"\x01" * 16
    zr4 = z.compress(prle) + z.flush(zlib.Z_SYNC_FLUSH)
    zrle = update(rect(0, 0, w, h, ZRLE, struct.pack(">I", len(zr)) + zr),
                  rect(0, 0, 8, 2, ZRLE, struct.pack(">I", len(zr2)) + zr2),
                  rect(2, 2, 4, 8, ZRLE, struct.pack(">I", len(zr3)) + zr3),
                  rect(4, 4, 8, 4, ZRLE, struct.pack(">I", len(zr4)) + zr4))
    basic = bytes(range(48)) * 4
    t = zlib.compressobj()
    tz = t.compress(basic) + t.flush(zlib.Z_SYNC_FLUSH)
    mono = bytes([0x0f, 0xf0]) * 8  # 16x8 bitmap
    t1 = zlib.compressobj()
    tm = t1.compress(mono) + t1.flush(zlib.Z_SYNC_FLUSH)
    tight = update(rect(0, 0, w, h, TIGHT, b"\x80\x11\x22\x33"),
                   rect(0, 0, 16, 8, TIGHT, b"\x50\x01\x01" + b"\0\0\0\xff\xff\xff" +
                        compact(len(tm)) + tm),
                   rect(0, 0, 3, 2, TIGHT, b"\x60\x01\x02" + b"\x01\x02\x03" * 3 +
                        b"\x00\x01\x02\x02\x01\x00"),
                   rect(0, 0, 8, 8, TIGHT, b"\x00" + compact(len(tz)) + tz),
                   rect(1, 1, 2, 1, TIGHT, b"\x40\x00" + b"\x01\x02\x03\x04\x05\x06"))
    cursor = update(rect(1, 1, 4, 2, CURSOR, pixel32(255, 0, 0) * 8 + b"\xf0\x90"),
                    rect(5, 5, 0, 0, POINTERPOS),
                    rect(2, 2, 8, 3, COPYRECT, struct.pack(">HH", 0, 0)))
    seeds = {
        "raw": fbs(serverinit(w, h), update(raw)),
        "zrle": fbs(serverinit(w, h), zrle),
        "tight": fbs(serverinit(w, h), tight),
        "cursor": fbs(serverinit(w, h), update(raw), cursor, b"\x02",
                      b"\x03\0\0\0\0\0\0\x02hi"),
        "resize": fbs(serverinit(w, h), update(rect(0, 0, 30, 12, DESKTOPSIZE)),
                      update(rect(0, 0, 30, 12, TIGHT, b"\x80\x01\x02\x03"))),
        "rehello": fbs(serverinit(w, h), update(raw), serverinit(w, h, PF16),
                       update(rect(0, 0, 2, 1, RAW, b"\x12\x34\x56\x78"))),
        "stream16": b"\x80" + serverinit(4, 2, PF16) + update(rect(0, 0, 4, 2, RAW, b"\x01\x02" * 8)),
    }
    try:
        jpeg = subprocess.run(["convert", "-size", "8x8", "gradient:red-blue", "-quality", "60",
                               "jpeg:-"], capture_output=True, check=True).stdout
        seeds["jpeg"] = fbs(serverinit(w, h),
                            update(rect(0, 0, 8, 8, TIGHT, b"\x90" + compact(len(jpeg)) + jpeg)))
    except (OSError, subprocess.CalledProcessError):
        print("convert not found: no JPEG seed")
    return seeds


def main():
    for name, seeds in (("rfb", rfb_seeds()), ("fbs", fbs_seeds()),
                        ("rfbclient", rfbclient_seeds())):
        d = os.path.join("tests", "fuzz", "seeds", name)
        os.makedirs(d, exist_ok=True)
        for k, v in seeds.items():
            with open(os.path.join(d, k), "wb") as f:
                f.write(v)


if __name__ == "__main__":
    main()
