/*
 * Unit tests for the due times of support tickets (console/ticket.c on top
 * of console/calendar.c): a free-plan ticket is due one business day (the
 * 11 hours 07:00-18:00 Europe/Berlin) after it was filed, with a deadline
 * of two; a premium one is due four business hours after it. Friday 17:30
 * is due Monday 17:30; a Saturday ticket is due Monday 18:00; holidays are
 * skipped; the DST weekends of 2026 (29 March, 25 October) change nothing
 * on the wall clock. Also the rule for proposed appointments: an
 * installation outside business hours needs at least two.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/ticket.h"
#include "store/store.h"

/* UTC seconds of "YYYY-MM-DDTHH:MM:SSZ". */
static int64_t
utc(const char *s)
{
	int64_t t = 0;

	if (qh_clock_parse_utc(s, &t) != 0)
		fail_msg("bad time %s", s);
	return t;
}

/* Checks ticket_due for a ticket filed at from (UTC); want_deadline NULL: none. */
static void
expect_due(const struct console_conf *conf, const char *plan, const char *from,
    const char *want_due, const char *want_deadline)
{
	int64_t due = 0, deadline = -1;
	char got[32];

	assert_int_equal(ticket_due(conf, plan, utc(from), &due, &deadline), 0);
	qh_clock_format_utc(due, got, sizeof(got));
	if (strcmp(got, want_due) != 0)
		fail_msg("%s ticket filed %s: due %s, want %s", plan, from, got,
		    want_due);
	if (want_deadline == NULL) {
		if (deadline != 0)
			fail_msg("%s ticket filed %s has a deadline", plan, from);
		return;
	}
	qh_clock_format_utc(deadline, got, sizeof(got));
	if (strcmp(got, want_deadline) != 0)
		fail_msg("%s ticket filed %s: deadline %s, want %s", plan, from, got,
		    want_deadline);
}

/* Free plan: one business day, deadline two; Friday 17:30 is due Monday 17:30. */
static void
test_free_friday(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf); /* Europe/Berlin, Mon-Fri 07:00-18:00 */
	/* Friday 2026-11-27 17:30 CET = 16:30Z: 30 min Friday, 630 min Monday. */
	expect_due(&conf, "free", "2026-11-27T16:30:00Z", "2026-11-30T16:30:00Z",
	    "2026-12-01T16:30:00Z");
	/* Monday 09:00 CET: Tuesday 09:00, Wednesday 09:00. */
	expect_due(&conf, "free", "2026-11-30T08:00:00Z", "2026-12-01T08:00:00Z",
	    "2026-12-02T08:00:00Z");
	/* Before opening counts from 07:00: Monday 05:00 CET is due Monday 18:00. */
	expect_due(&conf, "free", "2026-11-30T04:00:00Z", "2026-11-30T17:00:00Z",
	    "2026-12-01T17:00:00Z");
	/* After closing counts from the next morning: Thursday 20:00 -> Friday 18:00. */
	expect_due(&conf, "free", "2026-11-26T19:00:00Z", "2026-11-27T17:00:00Z",
	    "2026-11-30T17:00:00Z");
}

/* A ticket filed on Saturday is due Monday 18:00, deadline Tuesday 18:00. */
static void
test_free_saturday(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf);
	expect_due(&conf, "free", "2026-11-28T09:00:00Z", "2026-11-30T17:00:00Z",
	    "2026-12-01T17:00:00Z");
	/* Sunday late evening too. */
	expect_due(&conf, "free", "2026-11-29T22:59:00Z", "2026-11-30T17:00:00Z",
	    "2026-12-01T17:00:00Z");
}

/* Holidays are skipped like weekends. */
static void
test_holiday(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf);
	conf.holidays[0] = 20261225; /* Friday */
	conf.holidays[1] = 20261228; /* Monday */
	conf.nholidays = 2;
	/* Thursday 24 Dec 12:00 CET: 360 min Thursday, the rest on Tuesday 29th. */
	expect_due(&conf, "free", "2026-12-24T11:00:00Z", "2026-12-29T11:00:00Z",
	    "2026-12-30T11:00:00Z");
	/* Filed on the holiday itself: due at the end of the next business day. */
	expect_due(&conf, "free", "2026-12-25T09:00:00Z", "2026-12-29T17:00:00Z",
	    "2026-12-30T17:00:00Z");
	/* Without the holidays the same ticket is due Friday. */
	conf.nholidays = 0;
	expect_due(&conf, "free", "2026-12-24T11:00:00Z", "2026-12-25T11:00:00Z",
	    "2026-12-28T11:00:00Z");
}

/* The DST weekends of 2026: the wall clock, not the hour count, decides. */
static void
test_dst(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf);
	/* Friday 27 March 12:00 CET (11:00Z) -> Monday 30 March 12:00 CEST (10:00Z). */
	expect_due(&conf, "free", "2026-03-27T11:00:00Z", "2026-03-30T10:00:00Z",
	    "2026-03-31T10:00:00Z");
	/* Friday 17:30 CET before the spring change -> Monday 17:30 CEST. */
	expect_due(&conf, "free", "2026-03-27T16:30:00Z", "2026-03-30T15:30:00Z",
	    "2026-03-31T15:30:00Z");
	/* Saturday 28 March -> Monday 18:00 CEST. */
	expect_due(&conf, "free", "2026-03-28T12:00:00Z", "2026-03-30T16:00:00Z",
	    "2026-03-31T16:00:00Z");
	/* Friday 23 October 12:00 CEST (10:00Z) -> Monday 26 October 12:00 CET (11:00Z).
	 */
	expect_due(&conf, "free", "2026-10-23T10:00:00Z", "2026-10-26T11:00:00Z",
	    "2026-10-27T11:00:00Z");
	/* Saturday 24 October -> Monday 18:00 CET. */
	expect_due(&conf, "free", "2026-10-24T08:00:00Z", "2026-10-26T17:00:00Z",
	    "2026-10-27T17:00:00Z");
	/* Premium across the autumn change: Friday 16:00 CEST -> Monday 09:00 CET. */
	expect_due(&conf, "premium", "2026-10-23T14:00:00Z", "2026-10-26T08:00:00Z",
	    NULL);
}

/* Premium: four business hours, no deadline. */
static void
test_premium(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf);
	/* Monday 09:00 CET -> 13:00. */
	expect_due(&conf, "premium", "2026-11-30T08:00:00Z", "2026-11-30T12:00:00Z",
	    NULL);
	/* Monday 16:00 CET: two hours today, two tomorrow -> Tuesday 09:00. */
	expect_due(&conf, "premium", "2026-11-30T15:00:00Z", "2026-12-01T08:00:00Z",
	    NULL);
	/* Friday 17:30 -> Monday 10:30. */
	expect_due(&conf, "premium", "2026-11-27T16:30:00Z", "2026-11-30T09:30:00Z",
	    NULL);
	/* Saturday -> Monday 11:00. */
	expect_due(&conf, "premium", "2026-11-28T09:00:00Z", "2026-11-30T10:00:00Z",
	    NULL);
}

/* Other support hours change the length of a business day. */
static void
test_configured_hours(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf);
	conf.open_min = 8 * 60;
	conf.close_min = 16 * 60; /* an eight-hour day */
	/* Friday 15:00 CET: one hour Friday, seven Monday -> Monday 15:00. */
	expect_due(&conf, "free", "2026-11-27T14:00:00Z", "2026-11-30T14:00:00Z",
	    "2026-12-01T14:00:00Z");
}

/* A ticket with the given kind and proposals (local time, offset minutes). */
static void
make_ticket(struct qh_ticket *t, const char *kind, int n, const char *const *when,
    const int *offset)
{
	int i;

	qh_ticket_init(t, NULL);
	assert_int_equal(qh_ticket_set_header(t, kind, "Install the printer", 0), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(qh_ticket_add_slot(t, when[i], offset[i]), 0);
}

/* Checks ticket_check_slots; want_text NULL means accepted. */
static void
expect_slots(const char *kind, int n, const char *const *when, const int *offset,
    const char *want_text)
{
	struct console_conf conf;
	struct qh_ticket t;
	char why[256] = "";
	int r;

	conf_defaults(&conf);
	make_ticket(&t, kind, n, when, offset);
	r = ticket_check_slots(&conf, &t, utc("2026-11-27T12:00:00Z"), why, sizeof(why));
	qh_ticket_free(&t);
	if (want_text == NULL && r != 0)
		fail_msg("%s with %d proposals refused: %s", kind, n, why);
	if (want_text != NULL && (r != QH_ERR_REFUSED || strstr(why, want_text) == NULL))
		fail_msg("%s with %d proposals: %d '%s', want '%s'", kind, n, r, why,
		    want_text);
}

/* Any ticket with a proposal outside business hours needs two; inside, one. */
static void
test_installation_rule(void **state QH_UNUSED)
{
	static const char *const inside[] = { "2026-12-01T10:00" }; /* Tue 10:00 CET */
	static const char *const saturday[] = { "2026-12-05T10:00" };
	static const char *const evening[] = { "2026-12-01T19:30" };
	static const char *const two[] = { "2026-12-05T10:00", "2026-12-07T09:00" };
	static const char *const past[] = { "2026-11-20T10:00", "2026-12-07T09:00" };
	static const int cet[] = { 60, 60 };
	static const int ny[] = { -300 };      /* 10:00 in New York is 16:00 in Berlin */
	static const int ny_late[] = { -300 }; /* 19:30 in New York is 01:30 in Berlin */

	expect_slots("installation", 1, inside, cet, NULL);
	expect_slots("installation", 1, saturday, cet,
	    "installations outside business hours need at least two proposed "
	    "appointments");
	expect_slots("installation", 1, evening, cet,
	    "installations outside business hours need at least two proposed "
	    "appointments");
	expect_slots("installation", 2, two, cet, NULL);
	expect_slots("installation", 0, NULL, NULL, "at least one proposed appointment");
	expect_slots("installation", 2, past, cet, "lies in the past");
	/* The offset the PC sent decides the instant, and so the business hours. */
	expect_slots("installation", 1, inside, ny, NULL);
	expect_slots("installation", 1, evening, ny_late, "at least two");
	/*
	 * A support ticket needs none; one inside the hours is fine, but any
	 * proposal outside them needs a second, as for an installation.
	 */
	expect_slots("support", 0, NULL, NULL, NULL);
	expect_slots("support", 1, inside, cet, NULL);
	expect_slots("support", 1, saturday, cet,
	    "sessions outside business hours need at least two proposed appointments");
	expect_slots("support", 2, two, cet, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_friday),
		cmocka_unit_test(test_free_saturday),
		cmocka_unit_test(test_holiday),
		cmocka_unit_test(test_dst),
		cmocka_unit_test(test_premium),
		cmocka_unit_test(test_configured_hours),
		cmocka_unit_test(test_installation_rule),
	};

	/* The business zone, set once as at start-up (conf_defaults' zone). */
	if (calendar_set_zone("Europe/Berlin") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
