/*
 * Unit tests for the mails the daemon renders: quoted-printable that
 * decodes back to the text with no line past 76 characters, encoded words
 * for subjects that no header injection survives, base64, iCalendar lines
 * folded at 75 octets between UTF-8 characters with TEXT escaped, and whole
 * messages for outbox rows: envelope, headers, a Message-ID that depends
 * only on the row, multipart/alternative (and mixed with the calendar
 * entry), the reader's language, and the rows that cannot go out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "daemon/ics.h"
#include "daemon/mail.h"
#include "daemon/mime.h"

/* The buffer as a C string (it is kept NUL-free by the code under test). */
static char *
text_of(struct qh_buf *b)
{
	char *s = malloc(qh_buf_len(b) + 1);

	assert_non_null(s);
	memcpy(s, qh_buf_ptr(b), qh_buf_len(b));
	s[qh_buf_len(b)] = '\0';
	return s;
}

/* Every line ends CRLF and has at most max octets before it. */
static void
check_lines(const char *s, size_t max)
{
	const char *p = s, *nl;

	while (*p != '\0') {
		nl = strstr(p, "\r\n");
		assert_non_null(nl);
		assert_null(memchr(p, '\n', (size_t)(nl - p)));
		assert_null(memchr(p, '\r', (size_t)(nl - p)));
		if ((size_t)(nl - p) > max)
			fail_msg("line of %zu octets: %.*s", (size_t)(nl - p),
			    (int)(nl - p), p);
		p = nl + 2;
	}
}

static int
hexval(char c)
{
	return c >= 'A' ? c - 'A' + 10 : c - '0';
}

/* Decodes quoted-printable (CRLF line ends become LF). */
static char *
qp_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	assert_non_null(out);
	while (*s != '\0') {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n')
			s += 3;
		else if (s[0] == '=') {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 3;
		} else if (s[0] == '\r' && s[1] == '\n') {
			*o++ = '\n';
			s += 2;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static void
test_qp(void **state QH_UNUSED)
{
	const char *in = "Grüße aus Köln = 100 %\n"
			 ".leading dot\n"
			 "trailing space \n"
			 "a very long line that goes on and on and on and on and on and "
			 "on and on and on and on past seventy-six characters for sure\n";
	struct qh_buf b;
	char *enc, *dec;

	qh_buf_init(&b, 65536);
	mime_qp(&b, in, strlen(in));
	assert_int_equal(qh_buf_error(&b), 0);
	enc = text_of(&b);
	check_lines(enc, 76);
	assert_non_null(strstr(enc, "Gr=C3=BC=C3=9Fe"));
	assert_non_null(strstr(enc, "=2Eleading"));
	assert_non_null(strstr(enc, "space=20\r\n"));
	dec = qp_decode(enc);
	assert_string_equal(dec, in);
	free(dec);
	free(enc);
	qh_buf_release(&b);
}

static void
test_base64(void **state QH_UNUSED)
{
	struct qh_buf b;
	char *s;

	qh_buf_init(&b, 1024);
	mime_base64(&b, "foobar", 6);
	mime_base64(&b, "fo", 2);
	mime_base64(&b, "f", 1);
	s = text_of(&b);
	assert_string_equal(s, "Zm9vYmFy\r\nZm8=\r\nZg==\r\n");
	free(s);
	qh_buf_release(&b);
}

static void
test_headers(void **state QH_UNUSED)
{
	struct qh_buf b;
	char *s;

	qh_buf_init(&b, 4096);
	mime_header_text(&b, "Subject", "Receipt: 8 units");
	mime_header_text(&b, "Subject",
	    "Ihr Support-Guthaben geht zur Neige – jetzt "
	    "rechtzeitig nachbestellen, bitte schön");
	mime_header_text(&b, "Subject", "hello\r\nBcc: victim@example.com");
	mime_header_mailbox(&b, "From", "Müller \"IT\" GmbH", "support@vendor.example");
	mime_header_mailbox(&b, "From", "Vendor \"IT\"", "support@vendor.example");
	mime_header_mailbox(&b, "From", NULL, "support@vendor.example");
	assert_int_equal(qh_buf_error(&b), 0);
	s = text_of(&b);
	check_lines(s, 76);
	assert_non_null(strstr(s, "Subject: Receipt: 8 units\r\n"));
	assert_non_null(strstr(s, "Subject: =?UTF-8?B?"));
	/* The injected line is no header of its own. */
	assert_null(strstr(s, "\r\nBcc:"));
	assert_non_null(strstr(s, "Subject: hello Bcc: victim@example.com\r\n"));
	assert_non_null(
	    strstr(s, "From: \"Vendor \\\"IT\\\"\" <support@vendor.example>\r\n"));
	assert_non_null(strstr(s, "From: <support@vendor.example>\r\n"));
	free(s);
	qh_buf_release(&b);
}

static void
test_ics(void **state QH_UNUSED)
{
	struct ics_event e;
	struct qh_buf b;
	char *s, *p, *line;

	memset(&e, 0, sizeof(e));
	e.uid = "ticket-7-appointment@vendor.example";
	e.sequence = 2;
	e.stamp = 1796000000;
	e.start = 1797000000;
	e.minutes = 60;
	e.summary = "Fernwartung: Drucker; Scanner, Fax \\ und ÄÖÜäöüß über "
		    "mehrere Zeilen hinweg, damit gefaltet werden muss, ganz sicher";
	e.description = "Ticket 7\nzweite Zeile";
	e.organizer_name = "Müller \"IT\" GmbH";
	e.organizer = "support@vendor.example";
	qh_buf_init(&b, 65536);
	ics_event(&b, &e);
	assert_int_equal(qh_buf_error(&b), 0);
	s = text_of(&b);
	check_lines(s, 75);
	/* Each physical line is whole UTF-8: no fold inside a character. */
	for (p = s; (line = strstr(p, "\r\n")) != NULL; p = line + 2)
		assert_true((*p & 0xc0) != 0x80 || p == s);
	assert_non_null(strstr(s, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
	assert_non_null(strstr(s, "METHOD:PUBLISH\r\n"));
	assert_non_null(strstr(s, "SEQUENCE:2\r\n"));
	assert_non_null(strstr(s, "DTSTART:20261211T144000Z\r\n"));
	assert_non_null(strstr(s, "DESCRIPTION:Ticket 7\\nzweite Zeile\r\n"));
	assert_non_null(strstr(s, "Drucker\\; Scanner\\, Fax \\\\ und"));
	assert_non_null(
	    strstr(s, "ORGANIZER;CN=\"Müller IT GmbH\":mailto:support@vendor"));
	assert_non_null(strstr(s, "END:VEVENT\r\nEND:VCALENDAR\r\n"));
	free(s);
	qh_buf_release(&b);
}

/* A rendered message of the row (kind, audience, data, lang); 0 or the error. */
static int
render(const char *kind, const char *audience, const char *lang, const char *data,
    const char *staff, char **out, struct mail_message *m)
{
	struct mail_setup setup;
	struct outbox_row row;
	int r;

	memset(&setup, 0, sizeof(setup));
	setup.sender.from = "support@vendor.example";
	setup.sender.vendor = "Vendor GmbH";
	setup.sender.domain = "vendor.example";
	setup.staff = staff;
	setup.staff_lang = QH_LANG_EN;
	memset(&row, 0, sizeof(row));
	row.id = 42;
	row.event = "test:1:customer";
	row.kind = kind;
	row.audience = audience;
	row.channel = "mail";
	row.lang = lang;
	row.recipients = "it@acme.example\nboss@acme.example";
	row.data = data;
	row.token = "00ff00ff";
	row.created_at = "2026-12-03T10:00:00Z";
	r = mail_render(&row, &setup, m);
	*out = r == 0 ? text_of(&m->data) : NULL;
	return r;
}

static void
test_render(void **state QH_UNUSED)
{
	struct mail_message m;
	char *s;

	assert_int_equal(render("purchase", "customer", "de",
			     "{\"units\":40,\"installations\":0,\"unit_price_cents\":"
			     "2750,"
			     "\"amount_cents\":110000,\"currency\":\"EUR\",\"reference\":"
			     "\"inv-1\",\"balance_after\":42,\"posted_at\":"
			     "\"2026-12-03T10:00:00Z\"}",
			     "", &s, &m),
	    0);
	check_lines(s, 998);
	assert_int_equal(m.nrcpt, 2);
	assert_string_equal(m.rcpt[1], "boss@acme.example");
	assert_string_equal(m.message_id, "<qh.42.00ff00ff@vendor.example>");
	assert_non_null(strstr(s, "To: it@acme.example, boss@acme.example\r\n"));
	assert_non_null(strstr(s, "Message-ID: <qh.42.00ff00ff@vendor.example>\r\n"));
	assert_non_null(strstr(s, "Content-Language: de\r\n"));
	assert_non_null(strstr(s, "multipart/alternative"));
	assert_non_null(strstr(s, "Content-Type: text/plain; charset=UTF-8"));
	assert_non_null(strstr(s, "Content-Type: text/html; charset=UTF-8"));
	assert_non_null(strstr(s, "27,50 EUR"));
	assert_null(strstr(s, "text/calendar"));
	free(s);
	mail_message_free(&m);

	/* Staff's row with no staff configured has nobody to go to. */
	assert_int_equal(render("balance_low", "staff", NULL,
			     "{\"balance_units\":3,\"warn_units\":4,\"name\":\"ACME\"}",
			     "", &s, &m),
	    QH_ERR_NOT_FOUND);
	mail_message_free(&m);
	assert_int_equal(render("balance_low", "staff", NULL,
			     "{\"balance_units\":3,\"warn_units\":4,\"name\":\"ACME\","
			     "\"customer\":\"acme\"}",
			     "desk@vendor.example, boss@vendor.example", &s, &m),
	    0);
	assert_string_equal(m.rcpt_text, "desk@vendor.example, boss@vendor.example");
	assert_non_null(strstr(s, "Subject: Low balance: ACME (acme)\r\n"));
	free(s);
	mail_message_free(&m);

	assert_int_equal(render("no_such_kind", "customer", "en", "{}", "", &s, &m),
	    QH_ERR_ARG);
	mail_message_free(&m);
	assert_int_equal(render("purchase", "customer", "en", "not json", "", &s, &m),
	    QH_ERR_FORMAT);
	mail_message_free(&m);
}

static void
test_render_appointment(void **state QH_UNUSED)
{
	struct mail_message m;
	char *s;

	assert_int_equal(render("appointment", "customer", "en",
			     "{\"ticket\":7,\"subject\":\"New printer\",\"appointment\":{"
			     "\"slot\":1,\"local_time\":\"2030-01-07T10:00\",\"utc_"
			     "offset\":"
			     "60,\"starts_at\":\"2030-01-07T09:00:00Z\",\"sequence\":0}}",
			     "", &s, &m),
	    0);
	check_lines(s, 998);
	assert_non_null(strstr(s, "Content-Type: multipart/mixed;"));
	assert_non_null(strstr(s,
	    "Content-Type: text/calendar; charset=UTF-8; "
	    "method=PUBLISH; name=\"appointment-7.ics\""));
	assert_non_null(strstr(s,
	    "Subject: Appointment confirmed: Monday, 2030-01-07 "
	    "10:00\r\n"));
	free(s);
	mail_message_free(&m);

	/* No appointment in the data: it cannot be rendered. */
	assert_int_equal(render("appointment", "customer", "en", "{\"ticket\":7}", "", &s,
			     &m),
	    QH_ERR_FORMAT);
	mail_message_free(&m);
}

static void
test_render_report(void **state QH_UNUSED)
{
	struct mail_message m;
	char *s, *dec;

	assert_int_equal(
	    render("session_report", "customer", "en",
		"{\"session\":12,\"units\":3,\"installations\":0,"
		"\"balance_after\":5,\"billable_seconds\":2000,\"opened_at\":"
		"\"2026-12-03T09:00:00Z\",\"closed_at\":\"2026-12-03T09:40:00Z\","
		"\"note\":\"Updated the <printer> driver\",\"technicians\":[{"
		"\"login\":\"alice\",\"name\":\"Alice Tech\"}]}",
		"", &s, &m),
	    0);
	dec = qp_decode(s);
	assert_non_null(strstr(dec, "Debited: 3 units (45 min)\n"));
	assert_non_null(strstr(dec, "Billable time: 33 min 20 s\n"));
	assert_non_null(strstr(dec, "Technician: Alice Tech\n"));
	assert_non_null(strstr(dec, "> Updated the <printer> driver\n"));
	assert_non_null(strstr(dec, "Updated the &lt;printer&gt; driver"));
	free(dec);
	free(s);
	mail_message_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_ics),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_appointment),
		cmocka_unit_test(test_render_report),
	};

	setenv("TZ", "Europe/Berlin", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
