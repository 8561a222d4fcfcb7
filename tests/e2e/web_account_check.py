"""The browser half of test_web_accounting.sh: the accounting pages.

web_account_check.py BOB_URL ALICE_URL WORKDIR MONTH NOTE

BOB_URL is qh-console web with an accounting bundle, ALICE_URL with a
technician's. WORKDIR holds what the CLI printed on the console host
(ledger.csv, ledger.datev, balances.json, revenue.json), which the pages
and downloads must match. Prints one line per step; exits 1 at the first
that fails. The ledger page's screenshot goes to WORKDIR/web-ledger.png.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from cdp import Chromium  # noqa: E402

bob_url, alice_url, work, month, note = sys.argv[1:6]


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


def origin(url):
    return "/".join(url.split("/")[:3])


def read(name):
    with open(os.path.join(work, name), "rb") as f:
        return f.read()


# fetch(path) in the page: status, the headers asked for, the body's bytes.
FETCH = """fetch(%s).then(async (r) => {
  const b = new Uint8Array(await r.arrayBuffer());
  let s = ''; for (const c of b) s += String.fromCharCode(c);
  return {status: r.status, disposition: r.headers.get('content-disposition'),
          type: r.headers.get('content-type'), body: btoa(s)};
})"""


def fetch(b, path):
    import base64
    r = b.eval(FETCH % json.dumps(path))
    r["body"] = base64.b64decode(r["body"])
    return r


def text(b):
    return b.eval("document.body.innerText")


balances = json.loads(read("balances.json"))
acme = next(x for x in balances if x["customer"] == "acme")
revenue = json.loads(read("revenue.json"))

with Chromium(os.path.join(work, "chromium")) as b:
    # The token for the cookie; an accounting bundle's start page is accounting's.
    b.navigate(bob_url)
    if not b.wait("location.pathname === '/accounting.html'"):
        fail("the token did not lead to the accounting page: %s" % b.eval("location.href"))
    base = origin(bob_url)

    # Balances: every customer, the units as `balances --json` has them.
    b.navigate(base + "/accounting.html#balances")
    row = "document.querySelector('#balances-table tr[data-customer=\"acme\"]')"
    if not b.wait(row + " !== null", 30):
        fail("no balance row for acme: %s" % text(b))
    cells = b.eval("[..." + row + ".cells].map((c) => c.textContent)")
    if not cells[2].startswith("%d units" % acme["units"]) or \
            not cells[4].startswith("%d units" % acme["available_units"]) or \
            cells[1] != acme["plan"]:
        fail("acme's balance row %r is not %r" % (cells, acme))
    print("balances: acme %s" % cells)
    de = b.eval("import('/texts.js').then((m) => [m.DE['Ledger'], m.DE['Download CSV']])")
    if de != ["Journal", "CSV herunterladen"]:
        fail("the page's German texts are not there: %r" % de)

    # The ledger: the session's debit with its note.
    b.eval("location.hash = '#ledger'")
    debit = ("[...document.querySelectorAll('#ledger-table tbody tr')].find((tr) =>"
             " tr.cells[3].textContent === 'session' && tr.cells[8].textContent === %s)"
             % json.dumps(note))
    if not b.wait(debit + " !== undefined", 30):
        fail("no session debit with the note on the ledger page: %s" % text(b))
    units = int(b.eval(debit + ".cells[4].textContent"))
    if units >= 0:
        fail("the session's entry is no debit: %d units" % units)
    b.screenshot(os.path.join(work, "web-ledger.png"))
    print("ledger: the session's debit, %d units, with the note" % units)

    # Filters: acme only, from the first of the month.
    b.eval("document.getElementById('ledger-customer').value = 'acme';"
           "document.getElementById('ledger-from').value = '%s-01';"
           "document.querySelector('#ledger-filter button').click()" % month)
    if not b.wait("[...document.querySelectorAll('#ledger-table tbody tr')].length > 0 &&"
                  " [...document.querySelectorAll('#ledger-table tbody tr')]"
                  ".every((tr) => tr.cells[2].textContent === 'acme')", 30):
        fail("the filtered ledger is not acme's: %s" % text(b))
    href = b.eval("document.getElementById('ledger-csv').getAttribute('href')")
    if href != "/api/ledger.csv?customer=acme&from=%s-01" % month:
        fail("the CSV link does not follow the filter: %s" % href)

    # Downloads: byte for byte what the CLI gives, as attachments (DATEV's
    # header but its creation time, its sixth field).
    def undated(datev):
        head, rest = datev.split(b"\r\n", 1)
        fields = head.split(b";")
        return b";".join(fields[:5] + fields[6:]) + b"\r\n" + rest

    for path, name, want, same in (
            ("/api/ledger.csv", "ledger.csv", read("ledger.csv"), lambda x: x),
            ("/api/ledger.datev", "ledger-datev.csv", read("ledger.datev"), undated)):
        r = fetch(b, path)
        if r["status"] != 200 or same(r["body"]) != same(want):
            fail("%s: %d, %d bytes, not the CLI's %d" % (path, r["status"], len(r["body"]), len(want)))
        if r["disposition"] != 'attachment; filename="%s"' % name:
            fail("%s is not an attachment: %s" % (path, r["disposition"]))
    print("downloads: CSV (%d bytes) and DATEV equal the CLI's, as attachments"
          % len(read("ledger.csv")))
    r = fetch(b, "/api/ledger.csv?customer=acme&from=%s-01" % month)
    if r["status"] != 200 or b"INV-1" not in r["body"]:
        fail("the filtered CSV: %d %r" % (r["status"], r["body"][:200]))
    r = fetch(b, "/api/ledger.csv?from=--state")
    if r["status"] != 400:
        fail("a from that is no date answered %d, not 400" % r["status"])
    r = fetch(b, "/api/ledger.csv?customer=nosuch")
    if r["status"] != 422 or b"no customer nosuch" not in r["body"]:
        fail("an unknown customer: %d %r" % (r["status"], r["body"]))
    print("a from that is no date: 400; an unknown customer: 422 with the report's reason")

    # Revenue of the month.
    b.eval("location.hash = '#revenue'")
    b.eval("document.getElementById('revenue-month').value = '%s';"
           "document.querySelector('#revenue-filter button').click()" % month)
    cur = revenue["currencies"][0]
    want = "%d units" % cur["units_debited"]
    if not b.wait("document.querySelector('#revenue-table').innerText.includes(%s)"
                  % json.dumps(want), 30):
        fail("revenue does not show %s: %s" % (want, text(b)))
    print("revenue %s: %s debited" % (month, want))

    # Statements: the PDF downloads, the HTML view names the customer.
    b.eval("location.hash = '#statements'")
    b.eval("document.getElementById('statement-customer').value = 'acme';"
           "document.getElementById('statement-month').value = '%s';"
           "document.getElementById('statement-filter').dispatchEvent(new Event('change'))"
           % month)
    pdf = b.eval("document.getElementById('statement-pdf').getAttribute('href')")
    r = fetch(b, pdf)
    if r["status"] != 200 or not r["body"].startswith(b"%PDF") or \
            r["disposition"] != 'attachment; filename="acme-%s.pdf"' % month:
        fail("the statement PDF: %d %s %r" % (r["status"], r["disposition"], r["body"][:40]))
    print("statement: %s, %d bytes of PDF" % (pdf, len(r["body"])))
    view = b.eval("document.getElementById('statement-view').getAttribute('href')")

    # Verify, and with the head.
    b.eval("location.hash = '#verify'")
    b.eval("document.getElementById('verify-run').click()")
    if not b.wait("document.getElementById('verify-result').dataset.status === '0' &&"
                  " document.getElementById('verify-text').textContent.includes('ledger ok')", 30):
        fail("verify does not say ok: %s" % text(b))
    b.eval("document.getElementById('verify-head').click()")
    if not b.wait("document.getElementById('verify-text').textContent.includes('head ')", 30):
        fail("verify --head shows no head: %s" % text(b))
    print("verify: %s" % b.eval("document.getElementById('verify-text').textContent")
          .replace("\n", "; "))

    b.navigate(base + view)
    if not b.wait("document.body && document.body.innerText.includes('ACME GmbH')", 30):
        fail("the statement's HTML does not name the customer: %s" % text(b))
    print("statement view: %s names ACME GmbH" % view)

    # A technician's bundle: the console refuses, and the page says so.
    b.navigate(alice_url)
    if not b.wait("location.pathname === '/' && !location.search"):
        fail("alice's token did not lead to the start page")
    b.navigate(origin(alice_url) + "/accounting.html#balances")
    if not b.wait("!document.getElementById('refused').hidden", 30):
        fail("a technician's bundle got no refusal: %s" % text(b))
    said = b.eval("document.getElementById('refused').textContent")
    if "technician" not in said:
        fail("the refusal does not say why: %s" % said)
    r = fetch(b, "/api/ledger.csv")
    if r["status"] != 403:
        fail("a technician's ledger download answered %d, not 403" % r["status"])
    print("technician: refused (%s); the CSV download 403" % said)
