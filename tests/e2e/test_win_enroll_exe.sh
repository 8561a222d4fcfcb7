#!/bin/sh
# enroll ID --exe FILE (issue 11): a copy of qh-agent.exe that carries the
# join token, so the customer only downloads and starts it. Unsigned, the
# token is appended; signed with osslsigncode, it sits in the certificate
# table and the signature still verifies. Started under Wine with no
# enrolment and no token typed, each copy enrols and connects; the
# vendor's name ([vendor] name) comes along for the window. --exe without
# --from takes [enroll] agent_exe, and without either is a usage error.
# agent-package --exe (issue 13) tags the exe the same way with the
# console's address and pin instead of a token: that copy enrols nobody by
# itself and joins with a short code alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"

win_setup
setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "customer add"
printf '\n[vendor]\nname = Example Vendor GmbH\n' >>"$STATE/console.conf"
start_console

# Without a source: usage error, no token made.
qh-console enroll acme --exe "$T/x.exe" --state "$STATE" >"$T/e0.out" 2>"$T/e0.err"
[ $? -eq 2 ] || fail "enroll --exe without --from or agent_exe did not exit 2"
expect_in "$T/e0.err" "--from PATH, or \[enroll\] agent_exe"

# Unsigned.
qh-console enroll acme --exe "$T/acme agent.exe" --from "$EXE" --state "$STATE" \
    >"$T/e1.out" 2>"$T/e1.err" || fail "enroll --exe: $(cat "$T/e1.err")"
grep -q '^qh1\.' "$T/e1.out" || fail "no token on stdout"
expect_in "$T/e1.err" "(unsigned exe)"
tail -c 300 "$T/acme agent.exe" | grep -a -q "vendor=Example Vendor GmbH" ||
    fail "the vendor's name is not in the copy"

# runs: enrols with no token typed, connects, waits with a code.
run_copy() {	# exe config-dir log-name
	"$WINE" "$1" run --config "$(winpath "$2")" --unattended </dev/null \
	    >"$T/$3.out" 2>"$T/$3.log" &
	PIDS="$PIDS $!"
	wait_until "grep -q 'session code' '$T/$3.out'" 60 ||
	    fail "$1 did not enrol and connect: $(cat "$T/$3.out" "$T/$3.log")"
	tr -d '\r' <"$T/$3.out" >"$T/$3.txt"
	expect_in "$T/$3.txt" "enrolling this PC with the token this program came with"
	expect_in "$T/$3.txt" "enrolled as acme (ACME GmbH) with console 127.0.0.1:$PORT"
	[ -f "$2/agent.pem" ] || fail "no agent.pem in $2"
	[ "$(tr -d '\r' <"$2/vendor.txt")" = "Example Vendor GmbH" ] ||
	    fail "vendor.txt: $(cat "$2/vendor.txt")"
}
run_copy "$T/acme agent.exe" "$T/conf one" one

# Signed, and taken from [enroll] agent_exe.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/sign.key" -out "$T/sign.crt" \
    -days 2 -subj "/CN=Example Vendor Code Signing" \
    -addext "extendedKeyUsage=codeSigning" >/dev/null 2>&1 || fail "signing certificate"
osslsigncode sign -certs "$T/sign.crt" -key "$T/sign.key" -n "quarterhour agent" \
    -h sha256 -in "$EXE" -out "$T/signed.exe" >"$T/sign.log" 2>&1 ||
    fail "osslsigncode sign: $(cat "$T/sign.log")"
printf '\n[enroll]\nagent_exe = %s\n' "$T/signed.exe" >>"$STATE/console.conf"
qh-console enroll acme --exe "$T/acme-signed.exe" --state "$STATE" \
    >"$T/e2.out" 2>"$T/e2.err" || fail "enroll --exe (signed): $(cat "$T/e2.err")"
expect_in "$T/e2.err" "(signed exe)"
osslsigncode verify -CAfile "$T/sign.crt" -in "$T/acme-signed.exe" >"$T/verify.log" 2>&1 ||
    fail "the tagged copy's signature: $(cat "$T/verify.log")"
expect_in "$T/verify.log" "Signature verification: ok"
run_copy "$T/acme-signed.exe" "$T/conf two" two
[ "$(qh-console agents --state "$STATE" | grep -c acme)" -eq 2 ] ||
    fail "two agents expected: $(qh-console agents --state "$STATE")"

# agent-package --exe: the signed exe of [enroll] agent_exe, no token in it.
qh-console agent-package --exe --out "$T/example-support.exe" --state "$STATE" \
    >"$T/p.out" 2>"$T/p.err" || fail "agent-package --exe: $(cat "$T/p.err")"
expect_in "$T/p.err" "(signed exe)"
osslsigncode verify -CAfile "$T/sign.crt" -in "$T/example-support.exe" >"$T/pverify.log" 2>&1 ||
    fail "the package's signature: $(cat "$T/pverify.log")"
tail -c 400 "$T/example-support.exe" | grep -aq "console=127.0.0.1:$PORT" ||
    fail "the package does not carry the console"
tail -c 400 "$T/example-support.exe" | grep -aq "token=" && fail "the package carries a token"
CODE=$(qh-console enroll acme --short --state "$STATE" 2>>"$T/admin.log") || fail "enroll --short"
"$WINE" "$T/example-support.exe" join --short "$CODE" --config "$(winpath "$T/conf three")" \
    </dev/null >"$T/three.out" 2>"$T/three.log" ||
    fail "the package's join --short: $(cat "$T/three.out" "$T/three.log")"
tr -d '\r' <"$T/three.out" >"$T/three.txt"
expect_in "$T/three.txt" "enrolled as acme (ACME GmbH) with console 127.0.0.1:$PORT"
[ "$(tr -d '\r' <"$T/conf three/vendor.txt")" = "Example Vendor GmbH" ] ||
    fail "vendor.txt of the package's enrolment: $(cat "$T/conf three/vendor.txt")"
exit 0
