"""The browser half of test_web.sh: qh-console web in headless Chromium.

web_check.py URL CODE WORKDIR NOTE SECOND_AGENT_CMD

Refusals first (no cookie, a wrong Host, a spent token, a WebSocket from a
foreign Origin or without the cookie: each 403), then the pages: the queue
shows the agent's code, pushed; "Start session" opens the terminal;
`echo $((6*7))` typed into it prints 42, read from xterm.js's term.buffer;
a second agent started while the page is open appears without a reload and
goes when it stops; the terminal follows a resize; a file uploaded from
the page is on the agent with the same SHA-256 and downloads back the same;
the workstation's facts
show; a page that sends a
malformed message loses only its own WebSocket; "End with note" closes the
session. Screenshots go to WORKDIR. Prints one
line per step; exits 1 at the first that fails.
"""
import hashlib
import http.client
import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from cdp import Chromium, WebSocket  # noqa: E402

import subprocess  # noqa: E402
import time  # noqa: E402

url, code, work, note, second_cmd = sys.argv[1:6]
hostport = url.split("/")[2]
host, port = hostport.rsplit(":", 1)
path_with_token = url[len("http://" + hostport):]


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


def get(path, headers=None):
    c = http.client.HTTPConnection(host, int(port), timeout=20)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def ws_status(path, headers):
    ws = WebSocket("ws://%s%s" % (hostport, path), headers=headers)
    ws.close()
    return ws.status


# Before the browser: without the token's cookie nothing is served.
st, _, _ = get("/")
if st != 403:
    fail("/ without a cookie answered %d, not 403" % st)
st, _, _ = get("/vendor/xterm.js")
if st != 403:
    fail("an asset without a cookie answered %d, not 403" % st)
st, _, _ = get("/?token=" + "0" * 64)
if st != 403:
    fail("a wrong token answered %d, not 403" % st)
if ws_status("/ws/queue", {"Origin": "http://" + hostport}) != 403:
    fail("a WebSocket without a cookie was not refused with 403")
print("refused without the cookie: page, asset, wrong token, WebSocket")

with Chromium(os.path.join(work, "chromium")) as b:
    # The token for the cookie, then the queue page.
    b.navigate(url)
    if not b.wait("location.pathname === '/' && !location.search "
                  "&& document.querySelector('#queue') !== null"):
        fail("the token did not lead to the queue page: %s" % b.eval("location.href"))
    cookies = [c for c in b.cookies() if c["name"] == "qh_web"]
    if not cookies or not cookies[0]["httpOnly"] or cookies[0]["sameSite"] != "Strict":
        fail("the cookie is not HttpOnly and SameSite=Strict: %s" % cookies)
    cookie = "qh_web=" + cookies[0]["value"]
    print("token exchanged for an HttpOnly, SameSite=Strict cookie")

    # The token works once.
    st, _, _ = get(path_with_token)
    if st != 403:
        fail("the spent token answered %d, not 403" % st)
    # Even with the cookie: a foreign Host (DNS rebinding), a foreign Origin.
    st, _, _ = get("/", {"Cookie": cookie, "Host": "attacker.example:%s" % port})
    if st != 403:
        fail("a foreign Host answered %d, not 403" % st)
    if ws_status("/ws/session/" + code,
                 {"Cookie": cookie, "Origin": "http://attacker.example"}) != 403:
        fail("a WebSocket from a foreign Origin was not refused with 403")
    if ws_status("/ws/queue", {"Cookie": cookie, "Origin": "http://" + hostport}) != 101:
        fail("a WebSocket with the cookie and our Origin was refused")
    st, hd, _ = get("/", {"Cookie": cookie})
    csp = hd.get("content-security-policy", "")
    script = next((d.strip() for d in csp.split(";") if d.strip().startswith("script-src")), "")
    if st != 200 or script != "script-src 'self'":
        fail("the page's CSP allows more script than our own files: %r" % csp)
    print("refused: spent token, foreign Host, foreign Origin; CSP has %s" % script)

    # The queue, pushed: the agent's code and its balance.
    row = "document.querySelector('tr[data-code=\"%s\"]')" % code
    if not b.wait(row + " !== null", 30):
        fail("the queue page does not show code %s: %s"
             % (code, b.eval("document.body.innerText")))
    text = b.eval(row + ".innerText")
    if "acme" not in text or "units" not in text:
        fail("the queue row lacks customer or balance: %r" % text)
    print("queue shows %s: %s" % (code, " | ".join(text.split("\t"))))

    # Pushed: a second agent comes and goes while the page stays.
    rows = "document.querySelectorAll('#queue tbody tr').length"
    second = subprocess.Popen(second_cmd, shell=True)
    try:
        if not b.wait(rows + " === 2", 60):
            fail("a second agent did not appear on the open page: %s"
                 % b.eval("document.body.innerText"))
        print("a second agent appeared without a reload")
        b.screenshot(os.path.join(work, "web-queue.png"))
    finally:
        second.terminate()
        second.wait()
    # Gone, or kept for the grace window as reconnecting: either is pushed.
    if not b.wait(rows + " === 1 || document.querySelector('#queue tr.away') !== null", 60):
        fail("the stopped agent stayed on the page as connected: %s"
             % b.eval("document.body.innerText"))
    print("and was shown gone when it stopped: %s" % b.eval(
        "[...document.querySelectorAll('#queue tbody tr')].map((r) => r.innerText"
        ".replace(/\\t/g, ' | ')).join(' / ')"))

    # A page that sends what it should not loses its own WebSocket only.
    bad = WebSocket("ws://%s/ws/session/%s" % (hostport, code),
                    headers={"Cookie": cookie, "Origin": "http://" + hostport})
    if bad.status != 101:
        fail("the session WebSocket was refused: %s" % bad.status_line)
    bad.send(b"\x09junk", opcode=2)
    deadline = time.time() + 20
    closed = False
    while time.time() < deadline and not closed:
        try:
            closed = bad.recv() is None
        except (ConnectionError, OSError):
            closed = True
    bad.close()
    if not closed:
        fail("a malformed message did not close its WebSocket")
    if get("/", {"Cookie": cookie})[0] != 200 or b.eval(row + " === null"):
        fail("a malformed message from one page hurt the others")
    print("a malformed message closed its own WebSocket only")

    # Start a session: the session page and its terminal.
    b.eval(row + ".querySelector('button.start').click()")
    if not b.wait("location.pathname === '/session.html' && window.qhTerm !== undefined "
                  "&& document.getElementById('state').textContent.length > 0", 30):
        fail("no terminal on the session page: %s" % b.eval("document.body.innerText"))
    b.eval("qhTerm.focus()")
    # A prompt first, so the typed line is not lost to a starting shell.
    screen = ("(() => { const b = qhTerm.buffer.active, out = [];"
              " for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));"
              " return out.join('\\n'); })()")
    if not b.wait(screen + ".trim().length > 0", 90):
        fail("the shell shows nothing")
    b.type_text("echo $((6*7))")
    b.press_enter()
    if not b.wait(screen + ".split('\\n').some((l) => l.trim() === '42')", 30):
        fail("42 does not appear in the terminal: %r" % b.eval(screen))
    print("typed echo $((6*7)): 42 in term.buffer")

    # Upload a file; the agent has it with the same SHA-256.
    src = os.path.join(work, "upload.bin")
    dst = os.path.join(work, "uploaded.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(300 * 1024 + 7))
    doc = b.call("DOM.getDocument")["root"]["nodeId"]
    node = b.call("DOM.querySelector", nodeId=doc, selector="#file")["nodeId"]
    b.call("DOM.setFileInputFiles", nodeId=node, files=[src])
    b.eval("document.getElementById('remote').value = %s" % json.dumps(dst))
    b.eval("document.getElementById('upload-button').click()")
    if not b.wait("document.getElementById('uploaded').dataset.status !== undefined", 60):
        fail("the upload did not finish: %s" % b.eval("document.body.innerText"))
    result = b.eval("document.getElementById('uploaded').textContent")
    want = hashlib.sha256(open(src, "rb").read()).hexdigest()
    if b.eval("document.getElementById('uploaded').dataset.status") != "0" or want not in result:
        fail("the upload failed or reports another hash: %r" % result)
    if not os.path.exists(dst) or hashlib.sha256(open(dst, "rb").read()).hexdigest() != want:
        fail("the agent's copy is missing or differs")
    print("uploaded %d bytes: the agent's copy has SHA-256 %s" % (os.path.getsize(dst), want[:16]))
    # Download it again: the bytes the browser gets have the same SHA-256.
    got = b.eval("fetch('/api/pull?code=%s&path=' + encodeURIComponent(%s))"
                 ".then(async (r) => [r.status, r.headers.get('content-disposition'),"
                 " Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256',"
                 " await r.arrayBuffer()))).map((x) => x.toString(16).padStart(2, '0'))"
                 ".join('')])" % (code, json.dumps(dst)))
    if got is None or got[0] != 200 or got[2] != want or "uploaded.bin" not in (got[1] or ""):
        fail("the download is not the file: %r" % (got,))
    missing = b.eval("fetch('/api/pull?code=%s&path=/nonexistent/x').then((r) => r.status)" % code)
    if missing != 502:
        fail("a download of a missing file answered %r, not 502" % missing)
    print("downloaded it back with the same SHA-256; a missing file answers 502")

    # The workstation's facts, read by the agent, shown as lines.
    b.eval("document.getElementById('info-button').click()")
    if not b.wait("document.getElementById('info').dataset.state", 60):
        fail("no facts after Workstation")
    facts = b.eval("document.getElementById('info').textContent")
    if b.eval("document.getElementById('info').dataset.state") != "info" or \
            socket.gethostname() not in facts:
        fail("the facts do not name this host %s: %r" % (socket.gethostname(), facts[:300]))
    print("workstation facts: %d lines, naming %s" % (len(facts.splitlines()),
                                                     socket.gethostname()))
    b.screenshot(os.path.join(work, "web-session.png"))

    # The terminal's size follows the page's.
    b.eval("qhTerm.resize(100, 30)")
    for _ in range(20):
        b.type_text("clear; stty size")
        b.press_enter()
        if b.wait(screen + ".split('\\n').some((l) => l.trim() === '30 100')", 3):
            break
    else:
        fail("stty size after resizing to 100x30: %r" % b.eval(screen))
    print("resized: stty size says 30 100")
    if not b.wait("document.getElementById('session').textContent !== '–'", 20):
        fail("the session page shows no session id")

    # End with a note.
    b.eval("document.getElementById('note').value = %s" % json.dumps(note))
    b.eval("document.getElementById('end-button').click()")
    ended = b.wait("document.getElementById('ended').textContent", 30)
    if not ended or "closed" not in ended:
        fail("End with note did not close the session: %r" % ended)
    print("ended: %s" % ended)

    # German for a browser that prefers it, from po/de.po.
    ua = b.eval("navigator.userAgent")
    b.call("Network.setUserAgentOverride", userAgent=ua, acceptLanguage="de-DE,de")
    b.navigate("http://%s/" % hostport)
    if not b.wait("document.querySelector('h2') !== null && "
                  "document.querySelector('h2').textContent === 'Wartende Agenten'", 20):
        fail("the queue page is not German for a German browser: %r"
             % b.eval("document.querySelector('h2') && document.querySelector('h2').textContent"))
    print("German for a German browser: %s" % b.eval("document.querySelector('h2').textContent"))
print("web checks passed")
