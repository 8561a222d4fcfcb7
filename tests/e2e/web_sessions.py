"""The browser half of test_web_sessions.sh: the sessions page in headless Chromium.

web_sessions.py URL WORKDIR SESSION NOTE CAST FBS

Without the cookie the page and its requests are refused (403). With it:
the listing shows SESSION with NOTE, and only for its customer; its audit log shows the attach and
the exec; the cast CAST plays in the page (asciinema-player's terminal
shows the typed line's output); what the browser fetches for the cast and
for the desktop recording FBS has the SHA-256 of the files on the console;
a recording the console does not have answers 502; the page is German for
a German browser. Prints one line per step; exits 1 at the first that
fails.
"""
import hashlib
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from cdp import Chromium  # noqa: E402

url, work, sid, note, cast, fbs = sys.argv[1:7]
hostport = url.split("/")[2]
host, port = hostport.rsplit(":", 1)
cast_name, fbs_name = os.path.basename(cast), os.path.basename(fbs)


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


def page_errors(b):
    """The page's exceptions and console errors so far, for a failure's message."""
    out = []
    for e in b.events:
        p = e.get("params", {})
        if e.get("method") == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append(d.get("exception", {}).get("description") or d.get("text"))
        elif e.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
            out.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif e.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
            out.append(p["entry"]["text"])
    return out


def get(path, headers=None):
    c = http.client.HTTPConnection(host, int(port), timeout=20)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def rec_url(name):
    return "/api/recording?session=%s&name=%s" % (sid, name)


for path in ("/sessions.html", "/api/sessions", rec_url(cast_name)):
    st, _ = get(path)
    if st != 403:
        fail("%s without a cookie answered %d, not 403" % (path, st))
print("refused without the cookie: the page, the listing, a recording")

# What the browser fetches, hashed in the page.
FETCH = ("fetch(%s).then(async (r) => [r.status, Array.from(new Uint8Array("
         "await crypto.subtle.digest('SHA-256', await r.arrayBuffer())))"
         ".map((x) => x.toString(16).padStart(2, '0')).join('')])")

with Chromium(os.path.join(work, "chromium")) as b:
    b.call("Log.enable")
    b.navigate(url)
    if not b.wait("location.pathname === '/' && !location.search"):
        fail("the token did not lead to the queue page: %s" % b.eval("location.href"))
    b.navigate("http://%s/sessions.html" % hostport)
    row = "document.querySelector('#sessions tr[data-session=\"%s\"]')" % sid
    if not b.wait(row + " !== null", 30):
        fail("the sessions page does not list session %s: %s"
             % (sid, b.eval("document.body.innerText")))
    text = b.eval(row + ".innerText")
    if note not in text or "acme" not in text or "alice" not in text:
        fail("the session's row lacks note, customer or technician: %r" % text)
    print("listed: %s" % " | ".join(text.split("\t")))

    # The filter by customer: another customer's sessions only, then acme's.
    count = "document.querySelectorAll('#sessions tbody tr').length"
    b.eval("document.getElementById('customer').value = 'nobody'; "
           "document.querySelector('#filter button').click()")
    if not b.wait(count + " === 0 && !document.getElementById('empty').hidden", 20):
        fail("the filter by customer 'nobody' still lists: %s" % b.eval("document.body.innerText"))
    b.eval("document.getElementById('customer').value = 'acme'; "
           "document.querySelector('#filter button').click()")
    if not b.wait(row + " !== null", 20):
        fail("the filter by customer 'acme' lost the session: %s"
             % b.eval("document.body.innerText"))
    print("filtered by customer: none for 'nobody', session %s for 'acme'" % sid)

    # Its audit log.
    b.eval(row + ".querySelector('button.open').click()")
    audit = "[...document.querySelectorAll('#audit tbody tr')].map((r) => r.innerText)"
    if not b.wait(audit + ".length >= 2", 10):
        fail("no audit rows: %s" % b.eval("document.getElementById('detail').innerText"))
    rows = b.eval(audit)
    if not any("exec echo audit-row" in r for r in rows) or \
            not any("attach" in r and "alice" in r for r in rows):
        fail("the audit log lacks the exec or the attach: %r" % rows)
    print("audit log: %d rows, the attach and `exec echo audit-row` among them" % len(rows))

    # The cast plays in the page.
    li = "document.querySelector('#recordings li[data-file=\"%s\"]')" % cast_name
    if not b.wait(li + " !== null && document.querySelector('#recordings li[data-file=\"%s\"]')"
                  " !== null" % fbs_name, 10):
        fail("the recordings are not listed: %s" % b.eval("document.getElementById('recordings')"
                                                          ".innerText"))
    b.eval(li + ".querySelector('button.play').click()")
    if not b.wait("window.qhPlayer !== undefined", 10):
        fail("no player")
    duration = "Promise.resolve(qhPlayer.getDuration())"
    if not b.wait(duration + ".then((d) => d > 0)", 20):
        fail("the player did not load the recording: %r %s %s"
             % (b.eval(duration), b.eval("document.getElementById('player').innerText"),
                page_errors(b)))
    b.eval("qhPlayer.seek('100%')")
    screen = "document.querySelector('#player .ap-term, #player pre').innerText"
    if not b.wait(screen + ".includes('WEB-REC-42')", 20):
        fail("the player's terminal does not show WEB-REC-42: %r"
             % b.eval("document.getElementById('player').innerText"))
    lines = [l for l in b.eval(screen).split("\n") if "WEB-REC" in l]
    print("played in the page (%.1f s): %s" % (b.eval(duration),
                                                " / ".join(l.strip() for l in lines)))
    # The whole page for the README: listing, audit log, recordings, player.
    b.call("Emulation.setDeviceMetricsOverride", width=1280,
           height=b.eval("document.body.scrollHeight") + 20, deviceScaleFactor=1,
           mobile=False)
    b.screenshot(os.path.join(work, "web-sessions.png"))
    b.call("Emulation.clearDeviceMetricsOverride")

    # Byte for byte what the console has.
    for name, path in ((cast_name, cast), (fbs_name, fbs)):
        got = b.eval(FETCH % json.dumps(rec_url(name)))
        if got is None or got[0] != 200 or got[1] != sha256(path):
            fail("%s fetched is not the console's file: %r, want %s" % (name, got, sha256(path)))
        print("fetched %s: SHA-256 %s, as on the console" % (name, got[1][:16]))
    missing = b.eval("fetch(%s).then((r) => r.status)" % json.dumps(rec_url("999-attach.cast")))
    bad = b.eval("fetch(%s).then((r) => r.status)" % json.dumps(rec_url("..%2Fledger.db")))
    if missing != 502 or bad != 400:
        fail("a missing recording answered %r (not 502), a bad name %r (not 400)" % (missing, bad))
    print("a missing recording answers 502, a name outside the session's folder 400")

    # German for a German browser.
    ua = b.eval("navigator.userAgent")
    b.call("Network.setUserAgentOverride", userAgent=ua, acceptLanguage="de-DE,de")
    b.navigate("http://%s/sessions.html" % hostport)
    if not b.wait("document.querySelector('h2').textContent === 'Sitzungen' && "
                  + row + " !== null", 20):
        fail("the sessions page is not German for a German browser: %r"
             % b.eval("document.querySelector('h2') && document.querySelector('h2').textContent"))
    print("German for a German browser: %s" % b.eval("document.querySelector('h2').textContent"))
print("web sessions checks passed")
