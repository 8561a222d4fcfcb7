# Helpers of the mail tests (test_mail*.sh), sourced after lib.sh: a real
# SMTP server on loopback (Debian's aiosmtpd, tests/tools/smtpsink.py) that
# writes what it accepts into the Maildir $T/maildir, and a console whose
# console.conf [mail] sends to it.
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SYS_PY=/usr/bin/python3 # Debian's: python3-aiosmtpd, python3-icalendar
SMTP_PORT=$(free_port)
MAILDIR="$T/maildir"

# Starts the SMTP server and waits until it listens; sets SINK.
start_sink() {
	: >"$T/sink.log"
	"$SYS_PY" "$ROOT/tests/tools/smtpsink.py" "$SMTP_PORT" "$MAILDIR" \
	    >>"$T/sink.log" 2>&1 &
	SINK=$!
	PIDS="$PIDS $SINK"
	wait_until "grep -q ready '$T/sink.log'" 30 || fail "the SMTP server did not start"
}

# Stops the SMTP server: nothing listens on its port any more.
stop_sink() {
	kill "$SINK" 2>/dev/null
	wait "$SINK" 2>/dev/null
}

# Points console.conf [mail] at the SMTP server, with staff's addresses.
configure_mail() {
	sed -i -e "s|^url =.*|url = smtp://127.0.0.1:$SMTP_PORT|" \
	    -e "s|^from =.*|from = support@muster-it.example|" \
	    -e "s|^staff =.*|staff = desk@muster-it.example|" "$STATE/console.conf"
	printf '\n[vendor]\nname = Muster IT GmbH\n' >>"$STATE/console.conf"
}

# The number of messages the SMTP server has written.
mails() {
	find "$MAILDIR/new" "$MAILDIR/cur" -type f 2>/dev/null | wc -l
}

# Waits until the server holds at least $1 messages.
wait_mails() {
	wait_until "[ \$(find '$MAILDIR/new' '$MAILDIR/cur' -type f 2>/dev/null | wc -l) -ge $1 ]" \
	    "${2:-30}" || fail "the SMTP server holds $(mails) message(s), not $1"
}

# Reads every message strictly into $T/mails.json (tests/tools/mailcheck.py).
read_mails() {
	"$SYS_PY" "$ROOT/tests/tools/mailcheck.py" "$MAILDIR" "$T/mails.json" \
	    2>"$T/mailcheck.log" || fail "a mail is not well-formed: $(cat "$T/mailcheck.log")"
}
