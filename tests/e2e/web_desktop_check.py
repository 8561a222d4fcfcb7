"""The browser half of test_web_desktop.sh: the desktop in headless Chromium.

web_desktop_check.py URL CODE WORKDIR TMUX_SOCKET

WORKDIR holds the agent's agent.out (its questions) and is the xterm's
directory. The customer answers through tmux (TMUX_SOCKET). Steps:
  1. /ws/desktop/CODE with the cookie but a foreign Origin: 403, and the
     customer is asked nothing.
  2. A malformed query and an unknown code: an error event and the close.
     View, refused (n): the page shows "refused" with the agent's reason.
  3. View, allowed (y): noVNC's canvas is 1024x768 and its pixels equal
     `xwd -root` (RGB, every pixel: the xterm's few colours go as Tight
     fill and palette, lossless); the WebSocket speaks the "binary"
     subprotocol noVNC can ask for. Then a picture of many colours appears
     (ImageMagick's display): the canvas follows, equal to xwd -root
     within JPEG's loss (mean and largest channel difference bounded, in
     the picture and in the rest, which the agent may merge into the
     picture's rectangle). A screenshot of the page.
  4. Control, allowed (y): the pointer moved over the xterm and the keys of
     `echo ok > typed` + Return typed through noVNC's keyboard handler
     (DevTools key events on the page) make the file. The customer takes
     control back (c): the page says so and turns view-only.
  5. View again (not asked again): the page is view-only; keys sent anyway
     (viewOnly switched off in the page, rfb.sendKey) make no file: the
     agent drops a viewer's input. Disconnect ends it.
Prints one line per step; exits 1 at the first that fails.
"""
import base64
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from cdp import Chromium, WebSocket  # noqa: E402

url, code, work, tmux_sock = sys.argv[1:5]
hostport = url.split("/")[2]
agent_out = os.path.join(work, "agent.out")
SEE = "wants to SEE your screen"
CONTROL = "wants to CONTROL your mouse and keyboard"


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


def asked(text):
    with open(agent_out, errors="replace") as f:
        return f.read().count(text)


def answer(text, n, reply):
    """Waits for the n-th question containing text; the customer answers."""
    deadline = time.time() + 30
    while asked(text) < n:
        if time.time() > deadline:
            fail("the customer was not asked %r (time %d)" % (text, n))
        time.sleep(0.1)
    subprocess.run(["tmux", "-S", tmux_sock, "send-keys", reply, "Enter"], check=True)


def root_rgb():
    """The display's pixels as xwd -root dumps them: (width, height, RGB bytes)."""
    xwd = os.path.join(work, "root.xwd")
    ppm = os.path.join(work, "root.ppm")
    subprocess.run(["xwd", "-root", "-silent", "-out", xwd], check=True)
    subprocess.run(["convert", "xwd:" + xwd, ppm], check=True)
    data = open(ppm, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:  # P6 width height maxval, then one whitespace byte
        while data[pos:pos + 1].isspace() or data[pos:pos + 1] == b"#":
            if data[pos:pos + 1] == b"#":  # a comment, to the line's end
                pos = data.index(b"\n", pos)
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or fields[3] != b"255":
        fail("convert wrote no 8-bit PPM")
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1:pos + 1 + 3 * w * h]


# Where a picture of many colours is, the agent's Tight encoder may send
# JPEG (noVNC asks for quality 6), and with it the rectangle it merged the
# picture's tiles into: bounds on the channel differences there.
PIC_MEAN, REST_MEAN, MOST = 8.0, 1.0, 96


def differences(got, want, w, box):
    """(pixels not equal, mean and largest channel difference) in box and outside it."""
    x0, y0, x1, y1 = box
    stats = {True: [0, 0, 0, 0], False: [0, 0, 0, 0]}  # unequal, sum, most, pixels
    for y in range(len(want) // 3 // w):
        for lo, hi, inside in ((0, x0, False), (x0, x1, y0 <= y < y1), (x1, w, False)):
            a, z = (y * w + lo) * 3, (y * w + hi) * 3
            st = stats[inside]
            st[3] += hi - lo
            if got[a:z] == want[a:z]:
                continue
            d = [abs(p - q) for p, q in zip(got[a:z], want[a:z])]
            st[0] += sum(1 for i in range(0, len(d), 3) if d[i] or d[i + 1] or d[i + 2])
            st[1] += sum(d)
            st[2] = max(st[2], max(d))
    return [(st[0], st[1] / max(1, 3 * st[3]), st[2]) for st in (stats[True], stats[False])]


def canvas_until(b, ok, timeout=20):
    """The canvas's RGB once ok(rgb) holds, or the last one read."""
    deadline = time.time() + timeout
    while True:
        got = base64.b64decode(b.eval(CANVAS_RGB))
        if ok(got) or time.time() > deadline:
            return got


def window_box(title):
    """A top-level window's rectangle with its border: (x0, y0, x1, y1)."""
    out = subprocess.run(["xwininfo", "-name", title], capture_output=True, text=True).stdout
    v = {k.strip(): int(n) for k, n in (ln.split(":", 1) for ln in out.splitlines()
         if ":" in ln and ln.split(":", 1)[1].strip().lstrip("-").isdigit())}
    bw = v.get("Border width", 0)
    x, y = v["Absolute upper-left X"] - bw, v["Absolute upper-left Y"] - bw
    return x, y, x + v["Width"] + 2 * bw, y + v["Height"] + 2 * bw


CANVAS = "document.querySelector('#desktop canvas')"
# The canvas's pixels without alpha, base64.
CANVAS_RGB = ("(() => { const c = %s; const d = c.getContext('2d')"
              ".getImageData(0, 0, c.width, c.height).data;"
              " const rgb = new Uint8Array(c.width * c.height * 3);"
              " for (let i = 0, j = 0; i < d.length; i += 4, j += 3) {"
              " rgb[j] = d[i]; rgb[j + 1] = d[i + 1]; rgb[j + 2] = d[i + 2]; }"
              " let s = ''; for (let i = 0; i < rgb.length; i += 32768)"
              " s += String.fromCharCode.apply(null, rgb.subarray(i, i + 32768));"
              " return btoa(s); })()" % CANVAS)


def state(b):
    return b.eval("document.getElementById('desk-state').dataset.state || ''")


def wait_state(b, want, timeout=30):
    if not b.wait("document.getElementById('desk-state').dataset.state === '%s'" % want,
                  timeout):
        fail("the desktop's state is %r (%r), not %r" % (
            state(b), b.eval("document.getElementById('desk-state').textContent"), want))


def disconnect(b):
    b.eval("document.getElementById('desk-disconnect').click()")
    wait_state(b, "ended", 20)


def key(b, k, code_, vk, text=None, modifiers=0):
    for kind in ("keyDown", "keyUp"):
        extra = {"text": text} if text and kind == "keyDown" else {}
        b.call("Input.dispatchKeyEvent", type=kind, key=k, code=code_,
               windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk, modifiers=modifiers,
               **extra)


def type_keys(b, line):
    """Types line and Return as keyboard events, Shift held for '>'."""
    for ch in line:
        if ch == " ":
            key(b, " ", "Space", 32, " ")
        elif ch == ">":
            b.call("Input.dispatchKeyEvent", type="keyDown", key="Shift", code="ShiftLeft",
                   windowsVirtualKeyCode=16, modifiers=8)
            key(b, ">", "Period", 190, ">", modifiers=8)
            b.call("Input.dispatchKeyEvent", type="keyUp", key="Shift", code="ShiftLeft",
                   windowsVirtualKeyCode=16)
        else:
            key(b, ch, "Key" + ch.upper(), ord(ch.upper()), ch)
    key(b, "Enter", "Enter", 13, "\r")


with Chromium(os.path.join(work, "chromium")) as b:
    b.navigate(url)
    if not b.wait("location.pathname === '/' && document.querySelector('#queue') !== null"):
        fail("the token did not lead to the queue page")
    cookie = "qh_web=" + next(c["value"] for c in b.cookies() if c["name"] == "qh_web")

    # 1. A foreign Origin: 403, nothing reaches the agent.
    ws = WebSocket("ws://%s/ws/desktop/%s?control=1" % (hostport, code),
                   headers={"Cookie": cookie, "Origin": "http://attacker.example"})
    ws.close()
    if ws.status != 403:
        fail("a desktop WebSocket from a foreign Origin got %s, not 403" % ws.status)
    ws = WebSocket("ws://%s/ws/desktop/%s" % (hostport, code),
                   headers={"Origin": "http://" + hostport})
    ws.close()
    if ws.status != 403:
        fail("a desktop WebSocket without the cookie got %s, not 403" % ws.status)
    time.sleep(1)
    if asked("your screen") or asked("your mouse"):
        fail("a refused WebSocket reached the agent")
    print("refused: foreign Origin and no cookie (403); the customer was asked nothing")

    # Refused by the console: a malformed query, a code nobody waits with.
    for path, want in (("/ws/desktop/%s?control=7" % code, "control is 0 or 1"),
                       ("/ws/desktop/000000?control=0", "")):
        ws = WebSocket("ws://%s%s" % (hostport, path),
                       headers={"Cookie": cookie, "Origin": "http://" + hostport})
        events = []
        while True:
            try:
                m = ws.recv()
            except (ConnectionError, OSError):
                m = None
            if m is None:
                break
            events.append(m)
        ws.close()
        errors = [e for e in events if isinstance(e, str) and '"type":"error"' in e]
        if ws.status != 101 or not errors or want not in errors[0]:
            fail("%s: expected an error event, then the close: %r" % (path, events))
    print("a malformed query and an unknown code: an error event, then closed (%s)"
          % errors[0])

    b.navigate("http://%s/session.html?code=%s" % (hostport, code))
    if not b.wait("document.getElementById('desk-view') !== null && "
                  "document.getElementById('state').textContent.length > 0", 30):
        fail("no session page")
    # View is offered once desktop.js and noVNC have loaded.
    if not b.wait("document.getElementById('desk-view').disabled === false", 30):
        fail("View is never offered on the session page")

    # 2. Refused: the reason is on the page.
    b.eval("document.getElementById('desk-view').click()")
    wait_state(b, "waiting", 10)
    answer(SEE, 1, "n")
    wait_state(b, "refused")
    why = b.eval("document.getElementById('desk-state').textContent")
    if "declined" not in why:
        fail("the refusal gives no reason: %r" % why)
    if not b.wait("document.getElementById('desk-view').disabled === false", 10):
        fail("View is not offered again after the refusal")
    print("view refused by the customer: %r" % why)

    # 3. View: the display's size and pixels.
    b.eval("document.getElementById('desk-view').click()")
    answer(SEE, 2, "y")
    wait_state(b, "view")
    if b.eval("qhDesk._sock._websocket.protocol") != "binary":
        fail("the desktop WebSocket does not speak the 'binary' subprotocol")
    if not b.wait("%s && %s.width === 1024 && %s.height === 768" % (CANVAS, CANVAS, CANVAS),
                  20):
        fail("the canvas is not 1024x768: %r" % b.eval(
            "(() => { const c = %s; return c && [c.width, c.height]; })()" % CANVAS))
    w, h, want = root_rgb()
    if (w, h) != (1024, 768):
        fail("xwd -root is %dx%d" % (w, h))
    got = canvas_until(b, lambda g: g == want)
    if got != want:
        with open(os.path.join(work, "canvas.ppm"), "wb") as f:
            f.write(b"P6\n%d %d\n255\n" % (w, h) + got)
        fail("the canvas (canvas.ppm) differs from xwd -root (root.ppm) in %d pixels"
             % differences(got, want, w, (0, 0, 0, 0))[1][0])
    print("view: canvas 1024x768, all %d pixels equal xwd -root; subprotocol binary"
          % (w * h))
    # A picture appears while the page looks: the updates follow it.
    pic = subprocess.Popen(["display", "-geometry", "+640+0", "-title", "qhplasma",
                            os.path.join(work, "plasma.png")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while subprocess.run("xwininfo -root -tree | grep -q qhplasma",
                             shell=True).returncode != 0:
            if time.time() > deadline:
                fail("the picture did not appear")
            time.sleep(0.1)
        time.sleep(1)  # drawn
        box = window_box("qhplasma")
        w, h, want = root_rgb()
        colours = len({want[(y * w + x) * 3:(y * w + x) * 3 + 3]
                       for y in range(box[1], box[3]) for x in range(box[0], box[2])})
        if colours <= 256:
            fail("the picture has only %d colours" % colours)

        def close_enough(g):
            (_, pm, pmost), (_, rm, rmost) = differences(g, want, w, box)
            return pm <= PIC_MEAN and rm <= REST_MEAN and max(pmost, rmost) <= MOST
        got = canvas_until(b, close_enough)
        (pn, pm, pmost), (rn, rm, rmost) = differences(got, want, w, box)
        if not close_enough(got):
            with open(os.path.join(work, "canvas.ppm"), "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (w, h) + got)
            fail("with the picture the canvas (canvas.ppm) differs from xwd -root "
                 "(root.ppm): in the picture %d pixels, mean %.2f, largest %d; elsewhere "
                 "%d pixels, mean %.2f, largest %d" % (pn, pm, pmost, rn, rm, rmost))
        print("a picture of %d colours appeared at %s: the canvas follows; in it %d of %d "
              "pixels differ (JPEG: mean %.2f, largest %d per channel); elsewhere %d of "
              "%d (mean %.3f, largest %d)" % (
                  colours, box, pn, (box[2] - box[0]) * (box[3] - box[1]), pm, pmost, rn,
                  w * h - (box[2] - box[0]) * (box[3] - box[1]), rm, rmost))
        # The whole page, for the README.
        m = b.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = b.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": m["width"], "height": m["height"],
                            "scale": 1})
        with open(os.path.join(work, "web-desktop.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    finally:
        pic.terminate()
        pic.wait()
    if b.eval("qhDesk.viewOnly") is not True:
        fail("a view is not view-only in noVNC")
    disconnect(b)
    print("disconnected: the page says ended")

    # 4. Control: the pointer over the xterm, then the keys.
    b.eval("document.getElementById('desk-control').click()")
    answer(CONTROL, 1, "y")
    wait_state(b, "control")
    if b.eval("qhDesk.viewOnly") is not False:
        fail("control is view-only in noVNC")
    r = b.eval("(() => { const r = %s.getBoundingClientRect();"
               " return [r.left, r.top, r.width, r.height]; })()" % CANVAS)
    x, y = r[0] + 300 * r[2] / 1024, r[1] + 200 * r[3] / 768
    for dx in (0, 5, 10):
        b.call("Input.dispatchMouseEvent", type="mouseMoved", x=x + dx, y=y)
        time.sleep(0.2)
    b.eval("qhDesk.focus()")
    typed = os.path.join(work, "typed")
    type_keys(b, "echo ok > typed")
    deadline = time.time() + 15
    while not (os.path.exists(typed) and open(typed).read() == "ok\n"):
        if time.time() > deadline:
            fail("typing through noVNC made no file 'typed' with 'ok'")
        time.sleep(0.2)
    print("control: keys typed through noVNC ran `echo ok > typed` in the xterm")
    # The clipboard both ways under control: the page's box to the PC, the
    # PC's copy (xclip on the display) into the box.
    if b.eval("document.getElementById('desk-clip').hidden") is not False:
        fail("no clipboard box under control")
    b.eval("document.getElementById('desk-clip-text').value = 'qh from the page'")
    b.eval("document.getElementById('desk-clip-send').click()")
    deadline = time.time() + 15
    while subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True,
                         text=True).stdout != "qh from the page":
        if time.time() > deadline:
            fail("the page's clipboard did not reach the PC's")
        time.sleep(0.2)
    subprocess.run(["xclip", "-i", "-selection", "clipboard"], input="qh from the PC",
                   text=True, check=True)
    deadline = time.time() + 15
    while b.eval("document.getElementById('desk-clip-text').value") != "qh from the PC":
        if time.time() > deadline:
            fail("the PC's clipboard did not reach the page: %r" % b.eval(
                "document.getElementById('desk-clip-text').value"))
        time.sleep(0.2)
    print("control: the clipboard went both ways (page to PC, PC to page)")
    # The customer takes control back: the page becomes view-only.
    subprocess.run(["tmux", "-S", tmux_sock, "send-keys", "c", "Enter"], check=True)
    wait_state(b, "view", 20)
    if b.eval("qhDesk.viewOnly") is not True or "took control back" not in b.eval(
            "document.getElementById('desk-notices').textContent"):
        fail("taking control back left the page in control: %r" % b.eval(
            "document.getElementById('desk-notices').textContent"))
    if b.eval("document.getElementById('desk-clip').hidden") is not True:
        fail("the clipboard box stayed after the customer took control back")
    print("the customer took control back: the page says so and is view-only")
    disconnect(b)

    # 5. View only: asked once, so straight in; keys sent anyway do nothing.
    b.eval("document.getElementById('desk-view').click()")
    wait_state(b, "view")
    if asked(SEE) != 2:
        fail("the second allowed view was asked about again")
    b.eval("qhDesk.viewOnly = false")
    b.eval("(() => { for (const c of 'echo no > untyped') qhDesk.sendKey(c.charCodeAt(0));"
           " qhDesk.sendKey(0xff0d); })()")
    time.sleep(2)
    if os.path.exists(os.path.join(work, "untyped")):
        fail("keys on a view-only desktop reached the xterm")
    disconnect(b)
    print("view only: keys the page sends anyway change nothing; disconnected")
print("web desktop checks passed")
