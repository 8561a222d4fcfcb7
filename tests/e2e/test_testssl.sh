#!/bin/sh
# testssl.sh against the console's port: the protocol checks, the server's
# defaults and certificate, and the ciphers per protocol (the checks that
# fit the suite's time; certs/README.md says what and why). The chain is
# checked against the deployment's CA (--add-ca). No client certificate is
# needed: the console asks for one but lets a handshake without one finish
# (joining agents have none), and testssl.sh 3.0 cannot send one anyway.
# Nothing may be reported above LOW but the finding that belongs to a
# private CA: no CRL or OCSP address in the console's certificate.
. "$(dirname "$0")/lib.sh"

command -v testssl >/dev/null 2>&1 ||
    fail "testssl is not installed (scripts/deps.sh installs Debian's testssl.sh)"
setup_console
start_console
# testssl's ticket check races the console: asking for a client
# certificate, the console can send its ticket only after the client's
# Finished, and s_client with nothing to send often closes before it
# reads it (60 of 100 s_client -sess_out runs here got none; openssl
# s_server, which asks for no certificate, 13 of 100). testssl then says
# "Ticket resumption test not possible" and exits 1: that alone is run
# again, at most three times in all.
tries=0
while :; do
	tries=$((tries + 1))
	rm -f "$T/testssl.json"
	testssl --quiet --color 0 --warnings off --nodns min --add-ca "$STATE/ca.pem" \
	    -p -S -E --jsonfile "$T/testssl.json" "127.0.0.1:$PORT" >"$T/testssl.log" 2>&1 &&
	    break
	grep -q "Ticket resumption test not possible" "$T/testssl.log" && [ "$tries" -lt 3 ] ||
	    fail "testssl did not finish (try $tries): $(tail -n 5 "$T/testssl.log")"
done

python3 - "$T/testssl.json" >"$T/verdict.log" 2>&1 <<'PY' || fail "$(cat "$T/verdict.log")"
import json, sys

findings = json.load(open(sys.argv[1]))
by_id = {f["id"]: f for f in findings}
problems = []

# Above LOW, only what a private CA cannot help: no CRL or OCSP address.
PRIVATE_CA = {"cert_revocation"}
for f in findings:
    if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL") and f["id"] not in PRIVATE_CA:
        problems.append("%s %s: %s" % (f["severity"], f["id"], f["finding"]))

# The checks ran and saw what the profile promises.
def expect(fid, words):
    f = by_id.get(fid)
    if f is None or words not in f["finding"]:
        problems.append("%s: expected '%s', got %r" % (fid, words,
                        f and f["finding"]))

expect("TLS1_3", "offered")
for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2"):
    expect(old, "not offered")
expect("cert_chain_of_trust", "passed")
expect("cert_keySize", "EC 256")
expect("cert_validityPeriod", "No finding")
ciphers = sorted(f["id"] for f in findings if f["id"].startswith("cipher-"))
if ciphers != ["cipher-tls1_3_x1301", "cipher-tls1_3_x1302", "cipher-tls1_3_x1303"]:
    problems.append("cipher suites: %s" % ciphers)
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
echo "ok: nothing above LOW but cert_revocation (private CA)"
