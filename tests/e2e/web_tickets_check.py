"""The browser half of test_web_tickets.sh: the tickets pages in Chromium.

web_tickets_check.py URL TICKET WORKDIR SHA256 REPLY NOTE STORED

Refusals first (no cookie: 403 for a listing and a change; with the cookie
a POST from a foreign Origin, or not application/json: 403; a malformed
body, a reply whose attachments are longer or shorter than announced:
400), then the pages: the queue page links to the tickets page, which
lists TICKET with its due time; its page shows the environment, the
attachment downloads with SHA256 (and is cut short once a byte of its copy
on the console, STORED, is changed), a reply with WORKDIR/anleitung.txt,
a refused assignment with the console's sentence, the proposal confirmed,
the ticket closed with NOTE; the page in German.
Prints one line per step; exits 1 at the first that fails.
"""
import http.client
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from cdp import Chromium  # noqa: E402

url, ticket, work, sha, reply, note, stored = sys.argv[1:8]
ticket = int(ticket)
hostport = url.split("/")[2]
host, port = hostport.rsplit(":", 1)
origin = "http://" + hostport


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


def request(method, path, headers=None, body=None):
    c = http.client.HTTPConnection(host, int(port), timeout=20)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


close_body = json.dumps({"id": ticket, "text": "not from the page"})
st, _ = request("GET", "/api/desk/tickets")
if st != 403:
    fail("a listing without the cookie answered %d, not 403" % st)
st, _ = request("POST", "/api/desk/close", {"Origin": origin,
                "Content-Type": "application/json"}, close_body)
if st != 403:
    fail("a close without the cookie answered %d, not 403" % st)
print("refused without the cookie: listing, close")

with Chromium(os.path.join(work, "chromium")) as b:
    b.navigate(url)
    if not b.wait("location.pathname === '/' && document.querySelector('#queue') !== null"):
        fail("the token did not lead to the queue page: %s" % b.eval("location.href"))
    cookie = "qh_web=" + [c for c in b.cookies() if c["name"] == "qh_web"][0]["value"]

    # With the cookie, a change still needs our Origin and a JSON body.
    for headers, why in (({"Origin": "http://attacker.example"}, "a foreign Origin"),
                         ({}, "no Origin"),
                         ({"Origin": origin, "Content-Type": "text/plain"}, "text/plain")):
        h = {"Cookie": cookie, "Content-Type": "application/json"}
        h.update(headers)
        st, body = request("POST", "/api/desk/close", h, close_body)
        if st != 403:
            fail("a close with %s answered %d, not 403: %r" % (why, st, body))
    st, body = request("POST", "/api/desk/close", {"Cookie": cookie, "Origin": origin,
                       "Content-Type": "application/json"}, '{"id": "x"}')
    if st != 400:
        fail("a malformed close answered %d, not 400: %r" % (st, body))
    # A reply with attachments whose bytes are not what its head announces.
    head = json.dumps({"id": ticket, "text": "x",
                       "files": [{"name": "a.bin", "size": 5}]}).encode()
    for data, want in ((b"hello!", "more bytes"), (b"hel", "did not all come")):
        st, body = request("POST", "/api/desk/reply", {
            "Cookie": cookie, "Origin": origin,
            "Content-Type": "application/octet-stream"},
            struct.pack(">I", len(head)) + head + data)
        if st != 400 or want.encode() not in body:
            fail("a reply with %d bytes for 5 answered %d: %r" % (len(data), st, body))
    st, body = request("GET", "/api/desk/ticket?id=0", {"Cookie": cookie})
    if st != 400:
        fail("ticket 0 answered %d, not 400" % st)
    print("refused with the cookie: foreign Origin, no Origin, text/plain (403); "
          "bad body, bad id (400)")

    # The queue page links to the tickets page; the ticket is listed, due.
    b.eval("document.querySelector('header nav a[href=\"/tickets.html\"]').click()")
    row = "document.querySelector('#tickets tr[data-id=\"%d\"]')" % ticket
    if not b.wait("location.pathname === '/tickets.html' && %s !== null" % row, 30):
        fail("the tickets page does not list ticket %d: %s"
             % (ticket, b.eval("document.body.innerText")))
    due = b.eval(row + ".querySelector('td.due').dataset.due")
    text = b.eval(row + ".innerText")
    if not due or "Drucker druckt nicht" not in text or "acme" not in text:
        fail("the row lacks its due time, subject or customer: %r (due %r)" % (text, due))
    print("listed: %s (due %s)" % (" | ".join(text.split("\t")), due))
    b.screenshot(os.path.join(work, "web-tickets.png"))

    # Its page: the facts, the steps, the PC's environment, the attachment.
    b.eval(row + ".querySelector('a').click()")
    if not b.wait("location.pathname === '/ticket.html' && "
                  "document.querySelector('#attachments a.attachment') !== null", 30):
        fail("the ticket page shows no attachment: %s" % b.eval("document.body.innerText"))
    env = b.eval("document.getElementById('environment').textContent")
    steps = b.eval("document.getElementById('steps').textContent")
    if "Fehler 0x1F" not in steps or len(env.strip()) < 10 or env.strip() == "(none)":
        fail("steps or environment missing: %r / %r" % (steps, env))
    print("the ticket page shows steps and environment (%s...)" % env.strip().split("\n")[0])

    # The download: the bytes the browser gets have the SHA-256 on record.
    digest = ("(async (u) => { const r = await fetch(u); const d = await crypto.subtle"
              ".digest('SHA-256', await r.arrayBuffer()); return [r.status, Array.from("
              "new Uint8Array(d)).map((x) => x.toString(16).padStart(2, '0')).join('')]; })")
    got = b.eval(digest + "(document.querySelector('#attachments a.attachment').href)")
    if got is None or got[0] != 200 or got[1] != sha:
        fail("the download is not the attachment: %r, want %s" % (got, sha))
    missing = b.eval(digest + "('/api/desk/file?id=%d&name=nope.bin')" % ticket)
    if missing is None or missing[0] != 502:
        fail("a missing attachment answered %r, not 502" % (missing,))
    print("downloaded the attachment: SHA-256 %s...; a missing one is 502" % sha[:16])

    # A copy on the console that is not what it announces: the download is
    # cut short, and the browser's read of it fails.
    with open(stored, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    try:
        cut = b.eval("fetch(document.querySelector('#attachments a.attachment').href)"
                     ".then((r) => r.arrayBuffer()).then((a) => 'complete ' + a.byteLength,"
                     " (e) => 'failed: ' + e)")
    finally:
        with open(stored, "r+b") as f:
            f.seek(1000)
            f.write(byte)
    if not cut.startswith("failed"):
        fail("a damaged attachment downloaded: %s" % cut)
    print("a damaged copy on the console: the download was cut (%s)" % cut)

    # A reply from the page, with an attachment.
    answer = os.path.join(work, "anleitung.txt")
    with open(answer, "wb") as f:
        f.write(b"Treiber: https://support.example/lj4050\r\n" + os.urandom(150000))
    doc = b.call("DOM.getDocument")["root"]["nodeId"]
    node = b.call("DOM.querySelector", nodeId=doc, selector="#reply-files")["nodeId"]
    b.call("DOM.setFileInputFiles", nodeId=node, files=[answer])
    b.eval("document.getElementById('reply-text').value = %s" % json.dumps(reply))
    b.eval("document.querySelector('#reply button[type=submit]').click()")
    if not b.wait("[...document.querySelectorAll('#messages li.staff')].some("
                  "(li) => li.textContent.includes(%s))" % json.dumps(reply), 30):
        fail("the reply does not show: %s" % b.eval("document.body.innerText"))
    if not b.wait("[...document.querySelectorAll('#attachments a.attachment')].some("
                  "(a) => a.textContent === 'anleitung.txt')", 10):
        fail("the reply's attachment is not listed: %s" % b.eval("document.body.innerText"))
    print("replied with an attachment: the conversation shows it, status %s"
          % b.eval("document.getElementById('status').dataset.status"))

    # A refusal is shown as the console said it.
    b.eval("document.getElementById('assign-login').value = 'nobody'")
    b.eval("document.querySelector('#assign button[type=submit]').click()")
    if not b.wait("document.getElementById('result').className === 'error'", 30):
        fail("an assignment to nobody was not refused: %s"
             % b.eval("document.getElementById('result').textContent"))
    print("refused: %s" % b.eval("document.getElementById('result').textContent"))
    b.eval("document.getElementById('assign-login').value = 'alice'")
    b.eval("document.querySelector('#assign button[type=submit]').click()")
    if not b.wait("document.getElementById('assigned').textContent.includes('alice')", 30):
        fail("not assigned to alice: %s" % b.eval("document.body.innerText"))

    # The proposal, confirmed.
    if not b.wait("document.querySelector('#proposals button.confirm') !== null", 10):
        fail("no proposal to confirm: %s" % b.eval("document.body.innerText"))
    b.eval("document.querySelector('#proposals button.confirm').click()")
    if not b.wait("document.querySelector('#proposals button.confirm') === null && "
                  "document.getElementById('proposals').textContent.length > 0", 30):
        fail("the proposal was not confirmed: %s" % b.eval("document.body.innerText"))
    print("confirmed: %s" % b.eval("document.getElementById('proposals').textContent"))

    # Closed with a note.
    b.eval("document.getElementById('close-note-text').value = %s" % json.dumps(note))
    b.eval("document.querySelector('#close button[type=submit]').click()")
    if not b.wait("document.getElementById('status').dataset.status === 'closed'", 30):
        fail("the ticket is not closed: %s" % b.eval("document.body.innerText"))
    if note not in b.eval("document.getElementById('closed-note').textContent"):
        fail("the close note does not show")
    b.screenshot(os.path.join(work, "web-ticket.png"))
    print("closed with the note")

    # The list of open tickets no longer has it; all tickets do.
    b.navigate(origin + "/tickets.html")
    if not b.wait("document.getElementById('empty').hidden === false", 30):
        fail("the closed ticket is still listed as open: %s" % b.eval("document.body.innerText"))
    b.eval("document.getElementById('open-only').click()")
    if not b.wait(row + " !== null && " + row + ".querySelector('.status').textContent"
                  ".length > 0", 30):
        fail("all tickets do not list it: %s" % b.eval("document.body.innerText"))
    print("open only: none; all: %s" % b.eval(row + ".innerText").replace("\t", " | "))

    # German for a browser that prefers it, from po/de.po.
    ua = b.eval("navigator.userAgent")
    b.call("Network.setUserAgentOverride", userAgent=ua, acceptLanguage="de-DE,de")
    b.navigate(origin + "/ticket.html?id=%d" % ticket)
    if not b.wait("document.getElementById('status').textContent === 'geschlossen' && "
                  "document.querySelector('#reply label').textContent === "
                  "'Antwort an den Kunden'", 20):
        fail("the ticket page is not German for a German browser: %r"
             % b.eval("document.body.innerText"))
    print("German for a German browser: %s / %s" % (
        b.eval("document.querySelector('#reply label').textContent"),
        b.eval("document.getElementById('status').textContent")))
print("web tickets checks passed")
