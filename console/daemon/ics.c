/*
 * iCalendar objects (ics.h). Each content line is built whole and then
 * folded, so folding and escaping are each done in one place.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ics.h"

#define LINE_MAX_OCTETS 75 /* RFC 5545 3.1, without the CRLF */
#define ICS_LINE	4096

/* Appends one content line, folded: CRLF and a space before each 74 octets more. */
static void
put_line(struct qh_buf *b, const char *line)
{
	size_t len = strlen(line), i = 0, n, room = LINE_MAX_OCTETS;

	while (i < len) {
		n = len - i < room ? len - i : room;
		/* A continuation byte starts no line: back up to its character's start.
		 */
		while (
		    n > 1 && i + n < len && ((unsigned char)line[i + n] & 0xc0) == 0x80)
			n--;
		if (i > 0)
			(void)qh_buf_put(b, "\r\n ", 3);
		(void)qh_buf_put(b, line + i, n);
		i += n;
		room = LINE_MAX_OCTETS - 1; /* the leading space counts */
	}
	(void)qh_buf_put(b, "\r\n", 2);
}

/* The length of s[0..n) without a UTF-8 character cut short at its end. */
static size_t
utf8_whole(const char *s, size_t n)
{
	size_t k = n, want;
	unsigned char lead;

	while (k > 0 && ((unsigned char)s[k - 1] & 0xc0) == 0x80)
		k--;
	if (k == 0)
		return n;
	lead = (unsigned char)s[k - 1];
	if (lead < 0xc0)
		return n; /* ASCII (or a stray byte: left as it is) */
	want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	return n - (k - 1) >= want ? n : k - 1;
}

/* name:value as a TEXT value: \\ \; \, and \n escaped, other controls left out. */
static void
put_text(struct qh_buf *b, const char *name, const char *value)
{
	char line[ICS_LINE];
	const unsigned char *p;
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s:", name);
	for (p = (const unsigned char *)value; *p != '\0' && n + 3 < sizeof(line); p++) {
		if (*p == '\\' || *p == ';' || *p == ',') {
			line[n++] = '\\';
			line[n++] = (char)*p;
		} else if (*p == '\n') {
			line[n++] = '\\';
			line[n++] = 'n';
		} else if (*p >= 0x20 && *p != 0x7f)
			line[n++] = (char)*p;
	}
	line[utf8_whole(line, n)] = '\0';
	put_line(b, line);
}

/* UTC seconds as a DATE-TIME in UTC: 20261207T090000Z. */
static void
utc_text(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, len, "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(out, len, "19700101T000000Z");
}

void
ics_event(struct qh_buf *b, const struct ics_event *e)
{
	char line[ICS_LINE], when[32], cn[256];
	size_t i, n = 0;

	put_line(b, "BEGIN:VCALENDAR");
	put_line(b, "VERSION:2.0");
	put_line(b, "PRODID:-//quarterhour//quarterhour console//EN");
	put_line(b, "CALSCALE:GREGORIAN");
	put_line(b, "METHOD:PUBLISH");
	put_line(b, "BEGIN:VEVENT");
	put_text(b, "UID", e->uid);
	snprintf(line, sizeof(line), "SEQUENCE:%" PRId64,
	    e->sequence > 0 ? e->sequence : 0);
	put_line(b, line);
	utc_text(e->stamp, when, sizeof(when));
	snprintf(line, sizeof(line), "DTSTAMP:%s", when);
	put_line(b, line);
	utc_text(e->start, when, sizeof(when));
	snprintf(line, sizeof(line), "DTSTART:%s", when);
	put_line(b, line);
	snprintf(line, sizeof(line), "DURATION:PT%" PRId64 "M",
	    e->minutes > 0 ? e->minutes : 60);
	put_line(b, line);
	put_text(b, "SUMMARY", e->summary);
	if (e->description != NULL && e->description[0] != '\0')
		put_text(b, "DESCRIPTION", e->description);
	if (e->organizer != NULL) {
		/* A quoted parameter value holds no DQUOTE and no control character. */
		for (i = 0; e->organizer_name != NULL && e->organizer_name[i] != '\0' &&
		     n + 1 < sizeof(cn);
		     i++) {
			unsigned char c = (unsigned char)e->organizer_name[i];

			if (c >= 0x20 && c != 0x7f && c != '"')
				cn[n++] = (char)c;
		}
		n = utf8_whole(cn, n);
		cn[n] = '\0';
		if (n > 0)
			snprintf(line, sizeof(line), "ORGANIZER;CN=\"%s\":mailto:%s", cn,
			    e->organizer);
		else
			snprintf(line, sizeof(line), "ORGANIZER:mailto:%s", e->organizer);
		put_line(b, line);
	}
	put_line(b, "STATUS:CONFIRMED");
	put_line(b, "TRANSP:OPAQUE");
	put_line(b, "END:VEVENT");
	put_line(b, "END:VCALENDAR");
}
