#!/bin/sh
# `qh-console init` and `qh-console tech add/revoke`, as an admin sees them:
# init creates a private state directory with a CA, a console certificate
# the CA verifies, console.conf and a WAL database; tech add writes a 0600
# bundle naming the console; each refusal exits with the contract's status
# and one clear line, and a broken console.conf names its file and line.
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3 openssl:openssl

PORT=$(free_port)
STATE="$T/state/nested"

# mode FILE: prints the permission bits in octal, e.g. 600.
mode() {
	stat -c '%a' "$1"
}

# expect_status WANT NAME CMD...: runs CMD, checks its exit status.
expect_status() {
	_want=$1
	_name=$2
	shift 2
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
	_got=$?
	[ "$_got" -eq "$_want" ] ||
	    fail "$_name: exit $_got, want $_want ($(cat "$T/$_name.err"))"
}

# init: files, modes, summary.
expect_status 0 init qh-console init --state "$STATE" --name 127.0.0.1 \
    --listen "127.0.0.1:$PORT"
for f in ca-key.pem ca.pem console-key.pem console.pem console.conf ledger.db ledger.key; do
	[ -f "$STATE/$f" ] || fail "init did not create $f"
done
[ -d "$STATE/recordings" ] || fail "init did not create recordings/"
[ "$(mode "$STATE")" = 700 ] || fail "state dir mode $(mode "$STATE"), want 700"
[ "$(mode "$STATE/recordings")" = 700 ] || fail "expected recordings/ with mode 700, got $(mode "$STATE/recordings")"
for f in ca-key.pem console-key.pem console.conf ledger.db ledger.key; do
	[ "$(mode "$STATE/$f")" = 600 ] || fail "$f mode $(mode "$STATE/$f"), want 600"
done
expect_in "$T/init.out" "$STATE"
expect_in "$T/init.out" "127.0.0.1:$PORT"
pin=$(openssl x509 -in "$STATE/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)
expect_in "$T/init.out" "$pin"

# The CA verifies the console certificate, which names the console.
openssl verify -CAfile "$STATE/ca.pem" "$STATE/console.pem" >"$T/verify.log" 2>&1 ||
    fail "expected console.pem to verify against ca.pem: $(cat "$T/verify.log")"
expect_in "$T/verify.log" "console.pem: OK"
openssl x509 -in "$STATE/console.pem" -noout -subject -ext subjectAltName \
    >"$T/console-cert.log" 2>&1 || fail "expected openssl to read console.pem: $(cat "$T/console-cert.log")"
expect_in "$T/console-cert.log" "OU *= *console"
expect_in "$T/console-cert.log" "IP Address:127.0.0.1"

# The database is in WAL mode and migrated.
[ "$(sqlite3 "$STATE/ledger.db" 'PRAGMA journal_mode')" = wal ] ||
    fail "expected journal_mode wal"
[ "$(sqlite3 "$STATE/ledger.db" 'PRAGMA user_version')" -ge 3 ] ||
    fail "expected user_version 3 or later (the keyed ledger)"

# tech add: a 0600 bundle whose first line names the console.
expect_status 0 tech-add qh-console tech add alice --name "Alice Example" \
    --out "$T/alice.pem" --state "$STATE"
[ "$(mode "$T/alice.pem")" = 600 ] || fail "bundle mode $(mode "$T/alice.pem"), want 600"
[ "$(head -n 1 "$T/alice.pem")" = "# console: 127.0.0.1:$PORT" ] ||
    fail "bundle first line is '$(head -n 1 "$T/alice.pem")'"
openssl x509 -in "$T/alice.pem" -out "$T/alice-cert.pem" 2>"$T/x509.log" ||
    fail "no certificate in the bundle"
openssl verify -CAfile "$STATE/ca.pem" "$T/alice-cert.pem" >"$T/verify-alice.log" 2>&1 ||
    fail "openssl verify of the bundle's certificate"
expect_in "$T/verify-alice.log" ": OK"
openssl x509 -in "$T/alice-cert.pem" -noout -subject >"$T/alice-subject.log"
expect_in "$T/alice-subject.log" "OU *= *technician"
expect_in "$T/alice-subject.log" "CN *= *alice"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT role FROM technicians WHERE login='alice'")" = \
    technician ] || fail "no technicians row for alice"

# An accounting bundle, and the refusals.
expect_status 0 tech-add-acct qh-console tech add carol --role accounting \
    --name "Carol" --out "$T/carol.pem" --state "$STATE"
openssl x509 -in "$T/carol.pem" -noout -subject >"$T/carol-subject.log"
expect_in "$T/carol-subject.log" "OU *= *accounting"
expect_status 1 init-again qh-console init --state "$STATE" --name 127.0.0.1
[ -s "$T/init-again.err" ] || fail "expected init on an initialised state to say why it refuses"
expect_status 1 tech-add-again qh-console tech add alice --name "Alice" \
    --out "$T/alice2.pem" --state "$STATE"
expect_in "$T/tech-add-again.err" "technician alice exists"
[ -e "$T/alice2.pem" ] && fail "a refused tech add left a bundle"
expect_status 1 tech-add-exists qh-console tech add dave --name "Dave" \
    --out "$T/alice.pem" --state "$STATE"
expect_status 2 init-bogus qh-console init --state "$T/other" --name 127.0.0.1 \
    --listen bogus
[ -e "$T/other" ] && fail "a refused init left $T/other behind"
expect_status 2 init-noname qh-console init --state "$T/other"
expect_status 2 init-badname qh-console init --state "$T/other" --name "bad name"
expect_status 2 tech-add-badrole qh-console tech add erin --name Erin \
    --out "$T/erin.pem" --role admin --state "$STATE"
expect_status 2 tech-add-badlogin qh-console tech add -- -erin --name Erin \
    --out "$T/erin.pem" --state "$STATE"
mkdir "$T/full" && touch "$T/full/something"
expect_status 1 init-nonempty qh-console init --state "$T/full" --name 127.0.0.1

# $QH_STATE stands in for --state.
expect_status 0 init-env env QH_STATE="$T/envstate" qh-console init --name console.test
[ -f "$T/envstate/console.conf" ] || fail "expected QH_STATE to name the state directory"

# tech revoke.
expect_status 0 revoke qh-console tech revoke alice --state "$STATE"
[ -n "$(sqlite3 "$STATE/ledger.db" \
    "SELECT revoked_at FROM technicians WHERE login='alice'")" ] ||
    fail "expected alice revoked in the technicians table"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT count(*) FROM certificates \
    WHERE identity='alice' AND revoked_at IS NULL")" = 0 ] ||
    fail "expected alice's certificate to be revoked"
expect_status 1 revoke-unknown qh-console tech revoke nobody --state "$STATE"

# A broken console.conf: the error names the file and the line.
lines=$(wc -l <"$STATE/console.conf")
echo "garbage line without equals" >>"$STATE/console.conf"
expect_status 1 tech-add-badconf qh-console tech add frank --name Frank \
    --out "$T/frank.pem" --state "$STATE"
expect_in "$T/tech-add-badconf.err" "console.conf:$((lines + 1)):"
[ "$(wc -l <"$T/tech-add-badconf.err")" -eq 1 ] ||
    fail "more than one line on stderr: $(cat "$T/tech-add-badconf.err")"
[ -e "$T/frank.pem" ] && fail "tech add wrote a bundle despite a broken config"

echo "test_init: all checks passed"
exit 0
