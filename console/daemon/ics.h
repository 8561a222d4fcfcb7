/*
 * An appointment as an iCalendar object (RFC 5545) for the customer's
 * calendar: one VEVENT in a VCALENDAR with METHOD:PUBLISH, CRLF line ends,
 * lines folded at 75 octets (never inside a UTF-8 character), TEXT values
 * escaped. Pure: no loop, no database.
 */
#ifndef QH_DAEMON_ICS_H
#define QH_DAEMON_ICS_H

#include <stdint.h>

#include "qh/buf.h"

struct ics_event {
	const char *uid;	    /* globally unique and stable for the appointment */
	int64_t sequence;	    /* revision: 0, then higher for each change */
	int64_t stamp;		    /* DTSTAMP: when this revision was made (UTC s) */
	int64_t start;		    /* DTSTART (UTC seconds) */
	int64_t minutes;	    /* DURATION */
	const char *summary;	    /* one line */
	const char *description;    /* may hold line breaks; NULL: none */
	const char *organizer_name; /* CN; NULL: none */
	const char *organizer;	    /* the organizer's address (mailto:) */
};

/* Appends the calendar object of e to b (check qh_buf_error once). */
void ics_event(struct qh_buf *b, const struct ics_event *e);

#endif
