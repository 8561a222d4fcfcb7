#!/bin/sh
# The keyed ledger (issue 10, #10): whoever can write ledger.db but not read
# ledger.key can no longer rewrite a debit and recompute every hash, as the
# sqlite3 shell and a few lines of Python could before; `verify --head`
# prints the head to write down and `verify --since-head ID:HASH` proves
# the past did not change, even against root, who can read the key; a
# missing key is reported apart from tampering; `serve` warns when the
# ledger or its directory is readable by others and refuses to run without
# the key; a backup carries the key.
. "$(dirname "$0")/lib.sh"

setup_console
qh() { qh-console "$@" --state "$STATE"; }
expect_status() {	# WANT NAME CMD...: runs CMD, checks its exit status
	_want=$1
	_name=$2
	shift 2
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
	_got=$?
	[ "$_got" -eq "$_want" ] ||
	    fail "$_name: exit $_got, want $_want ($(cat "$T/$_name.err"))"
}

qh customer add acme --name "ACME GmbH" >"$T/admin.log" 2>&1 || fail "customer add"
qh credit acme --hours 10 --ref INV-1 >>"$T/admin.log" 2>&1 || fail "credit"
qh correct 1 --units -4 --reason "four were a gift" >>"$T/admin.log" 2>&1 ||
    fail "correct"
[ "$(stat -c %a "$STATE/ledger.key")" = 600 ] || fail "ledger.key is not 0600"

# The head to write down: entry id and hash.
expect_status 0 head qh verify --head
expect_in "$T/head.out" "ledger ok: 2 entries"
HEAD=$(sed -n 's/^head \([0-9]*:[0-9a-f]\{64\}\)$/\1/p' "$T/head.out")
[ "${HEAD%%:*}" = 2 ] || fail "verify --head printed '$(cat "$T/head.out")'"

# Later entries do not disturb it; a wrong hash or a removed entry does.
qh credit acme --hours 2 --ref INV-2 >>"$T/admin.log" 2>&1 || fail "credit 2"
expect_status 0 since qh verify --since-head "$HEAD"
expect_in "$T/since.out" "entry 2 matches the anchored head"
expect_in "$T/since.out" "head 3:"
expect_status 1 since-wrong qh verify --since-head "2:$(printf '%064d' 0)"
expect_in "$T/since-wrong.err" "history up to the anchored head was rewritten"
expect_status 1 since-gone qh verify --since-head "9:${HEAD#*:}"
expect_status 2 since-bad qh verify --since-head "two:beef"

# rewrite STATE MODE: a debit and every hash rewritten as an attacker would:
# MODE plain = SHA-256 over the columns (no key), key = HMAC with ledger.key.
rewrite() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, hmac, sqlite3, sys
state, mode = sys.argv[1], sys.argv[2]
db = sqlite3.connect(state + "/ledger.db")
names = [r[1] for r in db.execute("PRAGMA table_info(ledger)")]
cols = ["id", "posted_at", "customer_id", "kind", "units", "installations",
        "balance_after", "session_id", "started_at", "ended_at", "billable_seconds",
        "technician", "after_hours", "lot_id", "amount_cents", "currency", "reference",
        "note", "corrects", "actor", "idem_key", "prev_hash"]
keyed = "schema_version" in names
if keyed and mode == "key":
    cols.append("schema_version")
key = open(state + "/ledger.key").read().strip() if mode == "key" else None
for t in ("ledger_no_update", "ledger_no_delete"):
    db.execute("DROP TRIGGER IF EXISTS " + t)
db.execute("UPDATE ledger SET note = 'no gift: never corrected', reference = 'X' "
           "WHERE id = 2")
prev = "0" * 64
for row in db.execute("SELECT " + ", ".join(cols[:21]) + (", schema_version" if
                      len(cols) > 22 else "") + " FROM ledger ORDER BY id").fetchall():
    vals = list(row[:21]) + [prev] + list(row[21:])
    enc = b""
    for v in vals:
        if v is None:
            enc += b"\0"
        else:
            s = str(v).encode()
            enc += b"\1" + len(s).to_bytes(4, "big") + s
    h = (hmac.new(bytes.fromhex(key), enc, hashlib.sha256) if key
         else hashlib.sha256(enc)).hexdigest()
    db.execute("UPDATE ledger SET prev_hash = ?, entry_hash = ? WHERE id = ?",
               (prev, h, row[0]))
    prev = h
db.commit()
EOF
}

# Without the key, a rewritten history no longer verifies.
cp -a "$STATE" "$T/plain"
rewrite "$T/plain" plain || fail "rewrite plain"
expect_status 1 verify-plain qh-console verify --state "$T/plain"
expect_in "$T/verify-plain.err" "entry 1: hash mismatch"

# Root reads the key: the chain verifies, only the anchored head tells.
cp -a "$STATE" "$T/root"
rewrite "$T/root" key || fail "rewrite key"
expect_status 0 verify-root qh-console verify --state "$T/root"
expect_status 1 since-root qh-console verify --state "$T/root" --since-head "$HEAD"
expect_in "$T/since-root.err" "entry 2: its hash is now"

# A missing key is no tampering, and is told as such.
mv "$STATE/ledger.key" "$T/ledger.key"
expect_status 1 verify-nokey qh verify
expect_in "$T/verify-nokey.err" "verify: key: the hashes of entries 1 to 3 cannot be checked"
expect_in "$T/verify-nokey.err" "it is missing"
grep -q "altered\|rewritten\|mismatch" "$T/verify-nokey.err" &&
    fail "a missing key was reported as tampering: $(cat "$T/verify-nokey.err")"
expect_status 1 credit-nokey qh credit acme --hours 1 --ref INV-3
[ "$(sqlite3 "$STATE/ledger.db" 'SELECT count(*) FROM ledger')" = 3 ] ||
    fail "an entry was written without the key"
qh-console serve --state "$STATE" >"$T/serve-nokey.log" 2>&1 &&
    fail "serve ran without the ledger's key"
expect_in "$T/serve-nokey.log" "ledger.key: it is missing"
mv "$T/ledger.key" "$STATE/ledger.key"

# serve warns when others may read the ledger or its directory.
chmod 0755 "$STATE"
chmod 0644 "$STATE/ledger.db"
start_console
expect_in "$T/console.log" "$STATE is readable by other users (mode 0755)"
expect_in "$T/console.log" "$STATE/ledger.db is readable by other users (mode 0644)"
grep -q "ledger.key is readable" "$T/console.log" && fail "ledger.key was called readable"
expect_status 0 verify-end qh verify --since-head "$HEAD"

# A backup carries the key: the restored ledger still verifies against the head.
expect_status 0 backup qh backup --out "$T/backup.tar"
[ "$(stat -c %a "$T/backup.tar")" = 600 ] || fail "the backup is not 0600"
expect_status 0 restore qh-console restore "$T/backup.tar" --state "$T/restored"
[ "$(stat -c %a "$T/restored/ledger.key")" = 600 ] || fail "the restored key is not 0600"
expect_status 0 verify-restored qh-console verify --state "$T/restored" --since-head "$HEAD"
echo "ok: the keyed ledger"
exit 0
