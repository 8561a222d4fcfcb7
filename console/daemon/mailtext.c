/*
 * What each message says (mailtext.h). A message is a greeting,
 * paragraphs, a table of facts, texts people wrote (a note, a reply) and a
 * closing; each piece is written to the plain text and to the HTML at
 * once, so the two parts always say the same. The texts are English in
 * the source and looked up in the reader's language (qh_tr); German ones
 * are in po/de.po, written as a German support desk writes (Sie-form).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/units.h"
#include "ics.h"
#include "mailtext.h"

#define APPOINTMENT_MIN 60 /* an appointment's length in the calendar */

void
letter_init(struct letter *l, enum qh_lang lang)
{
	memset(l, 0, sizeof(*l));
	l->lang = lang;
	qh_buf_init(&l->text, LETTER_MAX);
	qh_buf_init(&l->html, LETTER_MAX);
	qh_buf_init(&l->ics, LETTER_MAX);
}

void
letter_free(struct letter *l)
{
	qh_buf_release(&l->text);
	qh_buf_release(&l->html);
	qh_buf_release(&l->ics);
}

/* ------------------------------------------------------------ the pieces */

static void
put(struct qh_buf *b, const char *s)
{
	(void)qh_buf_put(b, s, strlen(s));
}

/* Appends s to the HTML, escaped; line breaks become <br> when br. */
static void
put_html(struct qh_buf *b, const char *s, int br)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			put(b, "&amp;");
			break;
		case '<':
			put(b, "&lt;");
			break;
		case '>':
			put(b, "&gt;");
			break;
		case '"':
			put(b, "&quot;");
			break;
		case '\n':
			put(b, br ? "<br>\n" : " ");
			break;
		default:
			if (*p >= 0x20 || *p == '\t')
				(void)qh_buf_put(b, p, 1);
		}
	}
}

/*
 * Appends s to the plain text as one paragraph: a line each, then an empty
 * line. Lines are not wrapped (mail programs wrap them to their window),
 * so no figure is ever cut in two.
 */
static void
put_para(struct qh_buf *b, const char *s)
{
	put(b, s);
	put(b, "\n\n");
}

/* A paragraph of the letter's own text (printf-style; fmt is a translation). */
static void
para(struct letter *l, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	put_para(&l->text, text);
	put(&l->html, "<p>");
	put_html(&l->html, text, 1);
	put(&l->html, "</p>\n");
}

static void
facts_begin(struct letter *l)
{
	put(&l->html, "<table cellpadding=\"4\" style=\"border-collapse: collapse;\">\n");
}

static void
facts_end(struct letter *l)
{
	put(&l->text, "\n");
	put(&l->html, "</table>\n");
}

/* One line of the table of facts: "Label: value". */
static void
fact(struct letter *l, const char *label, const char *value)
{
	put(&l->text, label);
	put(&l->text, ": ");
	put(&l->text, value);
	put(&l->text, "\n");
	put(&l->html, "<tr><th align=\"left\" valign=\"top\">");
	put_html(&l->html, label, 0);
	put(&l->html, "</th><td>");
	put_html(&l->html, value, 1);
	put(&l->html, "</td></tr>\n");
}

/* A text someone wrote (a note, a reply): quoted in the plain text, kept apart in HTML.
 */
static void
quoted(struct letter *l, const char *who, const char *text)
{
	const char *p = text;
	size_t n;

	if (who != NULL)
		para(l, "%s", who);
	while (*p != '\0') {
		n = strcspn(p, "\n");
		put(&l->text, "> ");
		(void)qh_buf_put(&l->text, p, n);
		put(&l->text, "\n");
		p += n + (p[n] == '\n');
	}
	put(&l->text, "\n");
	put(&l->html,
	    "<blockquote style=\"border-left: 3px solid #ccc; margin-left: 0; "
	    "padding-left: 1em;\">");
	put_html(&l->html, text, 1);
	put(&l->html, "</blockquote>\n");
}

static void
greeting(struct letter *l)
{
	para(l, "%s", qh_tr(l->lang, "Hello,"));
}

static void
closing(struct letter *l, const struct mail_sender *s)
{
	para(l, "%s\n%s", qh_tr(l->lang, "Kind regards"),
	    s->vendor != NULL ? s->vendor : qh_tr(l->lang, "Your support team"));
	put(&l->text, "-- \n");
	put_para(&l->text, qh_tr(l->lang, "This message was sent automatically."));
	put(&l->html, "<p style=\"color: #666; font-size: small;\">");
	put_html(&l->html, qh_tr(l->lang, "This message was sent automatically."), 0);
	put(&l->html, "</p>\n");
}

/* ------------------------------------------------------ figures as text */

/* Units with their hours: "7 units (1 h 45 min)", "7 Einheiten (1 h 45 min)". */
static void
units_text(enum qh_lang lang, int64_t units, char *out, size_t len)
{
	char hours[48];
	size_t n;

	qh_hours_short(units, hours, sizeof(hours));
	n = (size_t)snprintf(out, len,
	    qh_ntr(lang, "%lld unit", "%lld units",
		(unsigned long)(units < 0 ? -units : units)),
	    (long long)units);
	if (n < len)
		snprintf(out + n, len - n, " (%s)", hours);
}

static void
installations_text(enum qh_lang lang, int64_t n, char *out, size_t len)
{
	snprintf(out, len,
	    qh_ntr(lang, "%lld installation", "%lld installations",
		(unsigned long)(n < 0 ? -n : n)),
	    (long long)n);
}

/* Cents with their currency: "27.50 EUR", in German "27,50 EUR". */
static void
money_text(enum qh_lang lang, int64_t cents, const char *currency, char *out, size_t len)
{
	uint64_t a = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(out, len, "%s%" PRIu64 "%c%02" PRIu64 " %s", cents < 0 ? "-" : "",
	    a / 100, lang == QH_LANG_DE ? ',' : '.', a % 100,
	    currency != NULL ? currency : "");
}

/* A time of day in the business time zone: "04.12.2026, 09:15 Uhr (CET)". */
static void
time_text(enum qh_lang lang, int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, len,
		lang == QH_LANG_DE ? "%d.%m.%Y, %H:%M Uhr (%Z)" : "%Y-%m-%d %H:%M (%Z)",
		&tm) == 0)
		snprintf(out, len, "?");
}

/* The same from a UTC timestamp text; "?" when it is not one. */
static void
stamp_text(enum qh_lang lang, const char *utc, char *out, size_t len)
{
	int64_t t;

	if (utc == NULL || qh_clock_parse_utc(utc, &t) != 0)
		snprintf(out, len, "?");
	else
		time_text(lang, t, out, len);
}

/* A date in the business time zone: "04.12.2026", "2026-12-04". */
static void
date_text(enum qh_lang lang, const char *utc, char *out, size_t len)
{
	time_t tt;
	int64_t t;
	struct tm tm;

	if (utc == NULL || qh_clock_parse_utc(utc, &t) != 0 ||
	    localtime_r((tt = (time_t)t, &tt), &tm) == NULL ||
	    strftime(out, len, lang == QH_LANG_DE ? "%d.%m.%Y" : "%Y-%m-%d", &tm) == 0)
		snprintf(out, len, "?");
}

/* Billable time: "1 h 05 min 30 s", "10 min 05 s". */
static void
duration_text(int64_t secs, char *out, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 3600)
		snprintf(out, len, "%lld h %02lld min %02lld s", (long long)(secs / 3600),
		    (long long)(secs / 60 % 60), (long long)(secs % 60));
	else
		snprintf(out, len, "%lld min %02lld s", (long long)(secs / 60),
		    (long long)(secs % 60));
}

/*
 * An appointment as the customer proposed it, in their PC's local time
 * ("YYYY-MM-DDTHH:MM"): "Montag, 07.12.2026, 10:00 Uhr".
 */
static void
local_slot_text(enum qh_lang lang, const char *local, char *out, size_t len)
{
	static const char *const days[] = { N_("Sunday"), N_("Monday"), N_("Tuesday"),
		N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday") };
	struct tm tm;
	time_t t;
	int y, mo, d, h, mi, n = 0;

	if (local == NULL ||
	    sscanf(local, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 ||
	    local[n] != '\0') {
		snprintf(out, len, "%s", local != NULL ? local : "?");
		return;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	t = timegm(&tm);
	gmtime_r(&t, &tm); /* its day of the week */
	if (lang == QH_LANG_DE)
		snprintf(out, len, "%s, %02d.%02d.%04d, %02d:%02d Uhr",
		    qh_tr(lang, days[tm.tm_wday]), d, mo, y, h, mi);
	else
		snprintf(out, len, "%s, %04d-%02d-%02d %02d:%02d",
		    qh_tr(lang, days[tm.tm_wday]), y, mo, d, h, mi);
}

/* ---------------------------------------------------------- the data */

static int64_t
num(const struct qh_json_node *d, const char *key)
{
	int64_t v = 0;

	(void)qh_json_get_int(d, key, &v);
	return v;
}

static const char *
str(const struct qh_json_node *d, const char *key)
{
	const char *s = qh_json_get_str(d, key);

	return s != NULL ? s : "";
}

/* ------------------------------------------------------------ the kinds */

/* R5: the balance crossed the warning threshold (zero 0) or reached zero (1). */
static int
compose_balance(struct letter *l, int staff, int zero, const struct qh_json_node *d,
    const struct mail_sender *s)
{
	char bal[96], warn[96];

	units_text(l->lang, num(d, "balance_units"), bal, sizeof(bal));
	units_text(l->lang, num(d, "warn_units"), warn, sizeof(warn));
	if (staff) {
		snprintf(l->subject, sizeof(l->subject),
		    zero ? qh_tr(l->lang, "Balance used up: %s (%s)")
			 : qh_tr(l->lang, "Low balance: %s (%s)"),
		    str(d, "name"), str(d, "customer"));
		greeting(l);
		if (zero)
			para(l,
			    qh_tr(l->lang,
				"The prepaid balance of %s (%s) is used up: it is "
				"now %s."),
			    str(d, "name"), str(d, "customer"), bal);
		else
			para(l,
			    qh_tr(l->lang,
				"The prepaid balance of %s (%s) is down to %s; the "
				"warning threshold is %s."),
			    str(d, "name"), str(d, "customer"), bal, warn);
		closing(l, s);
		return 0;
	}
	snprintf(l->subject, sizeof(l->subject), "%s",
	    zero ? qh_tr(l->lang, "Your prepaid support time is used up")
		 : qh_tr(l->lang, "Your prepaid support time is running low"));
	greeting(l);
	if (zero) {
		para(l,
		    qh_tr(l->lang,
			"Your prepaid balance for remote support is used up: it is "
			"now %s."),
		    bal);
		para(l, "%s",
		    qh_tr(l->lang,
			"We can bill further remote sessions only once you have "
			"ordered more hours. Until then, please describe your request "
			"in a ticket and we will get back to you."));
	} else {
		para(l,
		    qh_tr(l->lang,
			"Your prepaid balance for remote support is down to %s."),
		    bal);
		para(l, "%s",
		    qh_tr(l->lang,
			"So that we can keep helping you without interruption, please "
			"order more hours in good time."));
	}
	closing(l, s);
	return 0;
}

/* A purchase's receipt. */
static int
compose_purchase(struct letter *l, const struct qh_json_node *d,
    const struct mail_sender *s)
{
	char bought[96], price[64], total[64], bal[96];
	int inst = num(d, "installations") > 0;

	if (inst)
		installations_text(l->lang, num(d, "installations"), bought,
		    sizeof(bought));
	else
		units_text(l->lang, num(d, "units"), bought, sizeof(bought));
	money_text(l->lang, num(d, "unit_price_cents"), qh_json_get_str(d, "currency"),
	    price, sizeof(price));
	money_text(l->lang, num(d, "amount_cents"), qh_json_get_str(d, "currency"), total,
	    sizeof(total));
	snprintf(l->subject, sizeof(l->subject),
	    qh_tr(l->lang, "Receipt for your purchase: %s"), bought);
	greeting(l);
	para(l, "%s",
	    qh_tr(l->lang,
		"Thank you for your purchase. We have credited it to your account:"));
	facts_begin(l);
	fact(l, qh_tr(l->lang, "Purchased"), bought);
	fact(l,
	    inst ? qh_tr(l->lang, "Price per installation")
		 : qh_tr(l->lang, "Price per unit"),
	    price);
	fact(l, qh_tr(l->lang, "Total"), total);
	if (qh_json_get_str(d, "reference") != NULL)
		fact(l, qh_tr(l->lang, "Reference"), str(d, "reference"));
	stamp_text(l->lang, qh_json_get_str(d, "posted_at"), bal, sizeof(bal));
	fact(l, qh_tr(l->lang, "Booked"), bal);
	if (inst)
		installations_text(l->lang, num(d, "installations_after"), bal,
		    sizeof(bal));
	else
		units_text(l->lang, num(d, "balance_after"), bal, sizeof(bal));
	fact(l,
	    inst ? qh_tr(l->lang, "Installations available")
		 : qh_tr(l->lang, "New balance"),
	    bal);
	facts_end(l);
	if (!inst)
		para(l, "%s",
		    qh_tr(l->lang,
			"One unit is 15 minutes of remote support. Units do not "
			"expire."));
	closing(l, s);
	return 0;
}

/* The technicians' names, joined: "Alice Tech, Bob Admin". */
static void
technicians_text(const struct qh_json_node *d, char *out, size_t len)
{
	const struct qh_json_node *a = qh_json_get(d, "technicians"), *t;
	size_t n = 0;

	out[0] = '\0';
	if (a == NULL || a->type != QH_JSON_ARRAY)
		return;
	for (t = a->child; t != NULL && n < len; t = t->next)
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "",
		    qh_json_get_str(t, "name") != NULL ? qh_json_get_str(t, "name")
						       : str(t, "login"));
}

/* The report after a session that debited units or an installation. */
static int
compose_session(struct letter *l, const struct qh_json_node *d,
    const struct mail_sender *s)
{
	char day[32], techs[512], v[128];
	const char *note = qh_json_get_str(d, "note");
	int inst = num(d, "installations") > 0;

	date_text(l->lang, qh_json_get_str(d, "opened_at"), day, sizeof(day));
	snprintf(l->subject, sizeof(l->subject),
	    qh_tr(l->lang, "Report of your remote support session on %s"), day);
	greeting(l);
	para(l, "%s",
	    qh_tr(l->lang,
		"Here is the report of your remote support session, which has just "
		"ended."));
	facts_begin(l);
	snprintf(v, sizeof(v), "%lld", (long long)num(d, "session"));
	fact(l, qh_tr(l->lang, "Session"), v);
	technicians_text(d, techs, sizeof(techs));
	if (techs[0] != '\0')
		fact(l, qh_tr(l->lang, "Technician"), techs);
	stamp_text(l->lang, qh_json_get_str(d, "opened_at"), v, sizeof(v));
	fact(l, qh_tr(l->lang, "Start"), v);
	stamp_text(l->lang, qh_json_get_str(d, "closed_at"), v, sizeof(v));
	fact(l, qh_tr(l->lang, "End"), v);
	duration_text(num(d, "billable_seconds"), v, sizeof(v));
	fact(l, qh_tr(l->lang, "Billable time"), v);
	if (inst) {
		installations_text(l->lang, num(d, "installations"), v, sizeof(v));
		fact(l, qh_tr(l->lang, "Debited"), v);
		installations_text(l->lang, num(d, "installations_after"), v, sizeof(v));
		fact(l, qh_tr(l->lang, "Installations left"), v);
	} else {
		units_text(l->lang, num(d, "units"), v, sizeof(v));
		fact(l, qh_tr(l->lang, "Debited"), v);
		units_text(l->lang, num(d, "balance_after"), v, sizeof(v));
		fact(l, qh_tr(l->lang, "Balance after the session"), v);
	}
	facts_end(l);
	if (note != NULL && note[0] != '\0')
		quoted(l, qh_tr(l->lang, "The technician's note:"), note);
	if (!inst)
		para(l, "%s",
		    qh_tr(l->lang,
			"Every started 15 minutes of billable time count as one "
			"unit."));
	closing(l, s);
	return 0;
}

/* The ticket's number and subject as the subjects say them. */
static void
ticket_subject(struct letter *l, const char *fmt, const struct qh_json_node *d)
{
	snprintf(l->subject, sizeof(l->subject), fmt, (long long)num(d, "ticket"),
	    str(d, "subject"));
}

/* An appointment: its mail, and its calendar entry. */
static int
compose_appointment(struct letter *l, const struct qh_json_node *d,
    const struct mail_sender *s, int64_t created)
{
	const struct qh_json_node *a = qh_json_get(d, "appointment");
	struct ics_event e;
	char when[96], uid[320], summary[600], desc[128];
	int64_t start;

	if (a == NULL || a->type != QH_JSON_OBJECT ||
	    qh_clock_parse_utc(str(a, "starts_at"), &start) != 0)
		return QH_ERR_FORMAT;
	local_slot_text(l->lang, qh_json_get_str(a, "local_time"), when, sizeof(when));
	snprintf(l->subject, sizeof(l->subject),
	    qh_tr(l->lang, "Appointment confirmed: %s"), when);
	greeting(l);
	para(l, qh_tr(l->lang, "We confirm the appointment for your ticket %lld (%s):"),
	    (long long)num(d, "ticket"), str(d, "subject"));
	facts_begin(l);
	fact(l, qh_tr(l->lang, "Date and time"), when);
	facts_end(l);
	para(l, "%s",
	    qh_tr(l->lang,
		"The calendar entry attached to this message adds the appointment "
		"to your calendar."));
	closing(l, s);

	/* One calendar event per ticket: a moved appointment updates it. */
	snprintf(uid, sizeof(uid), "ticket-%lld-appointment@%s",
	    (long long)num(d, "ticket"), s->domain);
	snprintf(summary, sizeof(summary), qh_tr(l->lang, "Remote support: %s"),
	    str(d, "subject"));
	snprintf(desc, sizeof(desc), qh_tr(l->lang, "Ticket %lld"),
	    (long long)num(d, "ticket"));
	memset(&e, 0, sizeof(e));
	e.uid = uid;
	e.sequence = num(a, "sequence");
	e.stamp = created;
	e.start = start;
	e.minutes = APPOINTMENT_MIN;
	e.summary = summary;
	e.description = desc;
	e.organizer_name = s->vendor;
	e.organizer = s->from;
	ics_event(&l->ics, &e);
	snprintf(l->ics_name, sizeof(l->ics_name), "appointment-%lld.ics",
	    (long long)num(d, "ticket"));
	return 0;
}

/* The ticket kinds to the customer: received, answered, information needed, closed. */
static int
compose_ticket(struct letter *l, const char *kind, const struct qh_json_node *d,
    const struct mail_sender *s)
{
	const char *text = qh_json_get_str(d, "text");
	char due[96];
	long long id = (long long)num(d, "ticket");

	greeting(l);
	if (strcmp(kind, "ticket_received") == 0) {
		ticket_subject(l, qh_tr(l->lang, "Ticket %lld received: %s"), d);
		stamp_text(l->lang, qh_json_get_str(d, "due_at"), due, sizeof(due));
		para(l,
		    qh_tr(l->lang,
			"Thank you for your request. We have received it as ticket "
			"%lld and will answer it by %s."),
		    id, due);
		facts_begin(l);
		fact(l, qh_tr(l->lang, "Subject"), str(d, "subject"));
		fact(l, qh_tr(l->lang, "Due"), due);
		facts_end(l);
	} else if (strcmp(kind, "ticket_answered") == 0) {
		ticket_subject(l, qh_tr(l->lang, "Ticket %lld answered: %s"), d);
		para(l, qh_tr(l->lang, "We have answered your ticket %lld (%s):"), id,
		    str(d, "subject"));
		if (text != NULL)
			quoted(l, NULL, text);
		para(l,
		    qh_tr(l->lang,
			"You can read the whole conversation on your PC with "
			"\"qh-agent ticket show %lld\" and reply with \"qh-agent "
			"ticket reply %lld --text ...\"."),
		    id, id);
	} else if (strcmp(kind, "ticket_need_info") == 0) {
		ticket_subject(l,
		    qh_tr(l->lang, "Ticket %lld: we need more information (%s)"), d);
		para(l,
		    qh_tr(l->lang,
			"To work on your ticket %lld (%s), we need more information "
			"from you:"),
		    id, str(d, "subject"));
		if (text != NULL)
			quoted(l, NULL, text);
		para(l,
		    qh_tr(l->lang,
			"Please reply on your PC with \"qh-agent ticket reply %lld "
			"--text ...\" (files with --attach); we will continue as soon "
			"as we have your answer."),
		    id);
	} else {
		ticket_subject(l, qh_tr(l->lang, "Ticket %lld closed: %s"), d);
		para(l, qh_tr(l->lang, "We have closed your ticket %lld (%s)."), id,
		    str(d, "subject"));
		if (text != NULL && text[0] != '\0')
			quoted(l, qh_tr(l->lang, "Our closing note:"), text);
	}
	closing(l, s);
	return 0;
}

/* To staff: a ticket about to miss its due time, or one that missed it. */
static int
compose_due(struct letter *l, int overdue, const struct qh_json_node *d,
    const struct mail_sender *s)
{
	char due[96];
	long long id = (long long)num(d, "ticket");

	stamp_text(l->lang, qh_json_get_str(d, "due_at"), due, sizeof(due));
	ticket_subject(l,
	    overdue ? qh_tr(l->lang, "Ticket %lld overdue: %s")
		    : qh_tr(l->lang, "Ticket %lld due soon: %s"),
	    d);
	greeting(l);
	para(l,
	    overdue
		? qh_tr(l->lang,
		      "Ticket %lld of %s (%s) was due at %s and is still "
		      "open.")
		: qh_tr(l->lang, "Ticket %lld of %s (%s) is due at %s and still open."),
	    id, str(d, "name"), str(d, "customer"), due);
	facts_begin(l);
	fact(l, qh_tr(l->lang, "Subject"), str(d, "subject"));
	fact(l, qh_tr(l->lang, "Due"), due);
	facts_end(l);
	closing(l, s);
	return 0;
}

int
letter_compose(struct letter *l, const char *kind, int staff,
    const struct qh_json_node *data, const struct mail_sender *s, int64_t created)
{
	struct qh_buf doc;
	int r;

	if (data == NULL || data->type != QH_JSON_OBJECT)
		return QH_ERR_FORMAT;
	if (strcmp(kind, "balance_low") == 0 || strcmp(kind, "balance_zero") == 0)
		r = compose_balance(l, staff, strcmp(kind, "balance_zero") == 0, data, s);
	else if (strcmp(kind, "purchase") == 0)
		r = compose_purchase(l, data, s);
	else if (strcmp(kind, "session_report") == 0)
		r = compose_session(l, data, s);
	else if (strcmp(kind, "appointment") == 0)
		r = compose_appointment(l, data, s, created);
	else if (strcmp(kind, "ticket_received") == 0 ||
	    strcmp(kind, "ticket_answered") == 0 ||
	    strcmp(kind, "ticket_need_info") == 0 || strcmp(kind, "ticket_closed") == 0)
		r = compose_ticket(l, kind, data, s);
	else if (strcmp(kind, "ticket_due_soon") == 0 ||
	    strcmp(kind, "ticket_overdue") == 0)
		r = compose_due(l, strcmp(kind, "ticket_overdue") == 0, data, s);
	else
		return QH_ERR_ARG;
	if (r != 0)
		return r;
	/* The HTML body goes into a whole document titled with the subject. */
	qh_buf_init(&doc, LETTER_MAX);
	put(&doc, "<!DOCTYPE html>\n<html lang=\"");
	put(&doc, qh_lang_name(l->lang));
	put(&doc, "\">\n<head><meta charset=\"utf-8\"><title>");
	put_html(&doc, l->subject, 0);
	put(&doc, "</title></head>\n<body style=\"font-family: sans-serif;\">\n");
	(void)qh_buf_put(&doc, qh_buf_ptr(&l->html), qh_buf_len(&l->html));
	put(&doc, "</body>\n</html>\n");
	if ((r = qh_buf_error(&l->html)) == 0)
		r = qh_buf_error(&doc);
	qh_buf_release(&l->html);
	l->html = doc;
	if (r == 0 && (r = qh_buf_error(&l->text)) == 0)
		r = qh_buf_error(&l->ics);
	return r;
}
