/*
 * Unit tests for console/calendar.c: support hours (R9) in Europe/Berlin
 * in winter and summer, on a Saturday and on both daylight saving days of
 * 2026; due times counted in business minutes across weekends, holidays
 * and DST changes; local midnights for the ledger's date filters. The
 * zone is set once (calendar_set_zone, as at start-up); after that no
 * calendar function changes the environment, which threads read: setenv,
 * unsetenv and tzset are counted here, passed on to the C library's.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "store/store.h"

/* Calls that change the environment or reread TZ, made by the code under test. */
static int env_changes;

int
setenv(const char *name, const char *value, int overwrite)
{
	int (*real)(const char *, const char *, int) =
	    (int (*)(const char *, const char *, int))dlsym(RTLD_NEXT, "setenv");

	env_changes++;
	return real(name, value, overwrite);
}

int
unsetenv(const char *name)
{
	int (*real)(const char *) = (int (*)(const char *))dlsym(RTLD_NEXT, "unsetenv");

	env_changes++;
	return real(name);
}

void
tzset(void)
{
	void (*real)(void) = (void (*)(void))dlsym(RTLD_NEXT, "tzset");

	env_changes++;
	real();
}

/* UTC seconds of "YYYY-MM-DDTHH:MM:SSZ". */
static int64_t
utc(const char *s)
{
	int64_t t = 0;

	if (qh_clock_parse_utc(s, &t) != 0)
		fail_msg("bad time %s", s);
	return t;
}

/* Checks calendar_after_hours at each UTC instant. */
static void
expect_after(const struct console_conf *conf, const char *when, int want)
{
	int got = calendar_after_hours(conf, utc(when));

	if (got != want)
		fail_msg("%s: after_hours %d, want %d", when, got, want);
}

/* Checks t + minutes business minutes == want. */
static void
expect_due(const struct console_conf *conf, const char *from, int64_t minutes,
    const char *want)
{
	char got[32];
	int64_t t = 0;

	assert_int_equal(calendar_add_business(conf, utc(from), minutes, &t), 0);
	qh_clock_format_utc(t, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s + %lld min: %s, want %s", from, (long long)minutes, got,
		    want);
}

/* R9 on a Monday in winter (CET, UTC+1) and in summer (CEST, UTC+2). */
static void
test_hours_monday(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf); /* Europe/Berlin, Mon-Fri 07:00-18:00 */
	/* 2026-01-05 is a Monday in winter. */
	expect_after(&conf, "2026-01-05T05:59:00Z", 1); /* 06:59 */
	expect_after(&conf, "2026-01-05T06:00:00Z", 0); /* 07:00 */
	expect_after(&conf, "2026-01-05T16:59:00Z", 0); /* 17:59 */
	expect_after(&conf, "2026-01-05T17:00:00Z", 1); /* 18:00 */
	/* 2026-07-06 is a Monday in summer. */
	expect_after(&conf, "2026-07-06T04:59:00Z", 1); /* 06:59 */
	expect_after(&conf, "2026-07-06T05:00:00Z", 0); /* 07:00 */
	expect_after(&conf, "2026-07-06T15:59:00Z", 0); /* 17:59 */
	expect_after(&conf, "2026-07-06T16:00:00Z", 1); /* 18:00 */
}

/* R9: a Saturday is outside support days all day; a holiday too. */
static void
test_hours_weekend(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf);
	expect_after(&conf, "2026-01-10T11:00:00Z", 1); /* Saturday 12:00 */
	expect_after(&conf, "2026-01-10T06:00:00Z", 1); /* Saturday 07:00 */
	expect_after(&conf, "2026-01-09T11:00:00Z", 0); /* Friday 12:00 */
	conf.holidays[0] = 20260109;
	conf.nholidays = 1;
	expect_after(&conf, "2026-01-09T11:00:00Z", 1);
}

/* R9 on the DST days: both are Sundays, so also with every day a support day. */
static void
test_hours_dst(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf);
	expect_after(&conf, "2026-03-29T10:00:00Z", 1); /* Sunday 12:00 CEST */
	expect_after(&conf, "2026-10-25T11:00:00Z", 1); /* Sunday 12:00 CET */
	/* The Monday after the spring change is already in summer time. */
	expect_after(&conf, "2026-03-30T04:59:00Z", 1); /* 06:59 CEST */
	expect_after(&conf, "2026-03-30T05:00:00Z", 0); /* 07:00 CEST */
	expect_after(&conf, "2026-03-30T16:00:00Z", 1); /* 18:00 CEST */

	conf.days = 0x7f; /* every day */
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00Z. */
	expect_after(&conf, "2026-03-29T04:59:00Z", 1); /* 06:59 CEST */
	expect_after(&conf, "2026-03-29T05:00:00Z", 0); /* 07:00 CEST */
	expect_after(&conf, "2026-03-29T15:59:00Z", 0); /* 17:59 CEST */
	expect_after(&conf, "2026-03-29T16:00:00Z", 1); /* 18:00 CEST */
	expect_after(&conf, "2026-03-29T01:30:00Z", 1); /* 03:30 CEST */
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00Z. */
	expect_after(&conf, "2026-10-25T05:00:00Z", 1); /* 06:00 CET, 07:00 in CEST */
	expect_after(&conf, "2026-10-25T05:59:00Z", 1); /* 06:59 CET */
	expect_after(&conf, "2026-10-25T06:00:00Z", 0); /* 07:00 CET */
	expect_after(&conf, "2026-10-25T16:59:00Z", 0); /* 17:59 CET */
	expect_after(&conf, "2026-10-25T17:00:00Z", 1); /* 18:00 CET */
}

/* Due times in business minutes: one business day is 660 minutes. */
static void
test_add_business(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf);
	/* Friday 17:30 + 11 h: 30 min on Friday, 630 on Monday -> Monday 17:30. */
	expect_due(&conf, "2026-01-09T16:30:00Z", 660, "2026-01-12T16:30:00Z");
	/* Saturday: the clock starts Monday 07:00 -> due Monday 18:00. */
	expect_due(&conf, "2026-01-10T09:00:00Z", 660, "2026-01-12T17:00:00Z");
	/* Before opening on a business day: from 07:00. */
	expect_due(&conf, "2026-01-05T05:00:00Z", 60, "2026-01-05T07:00:00Z");
	/* Zero minutes inside hours is now. */
	expect_due(&conf, "2026-01-05T10:00:00Z", 0, "2026-01-05T10:00:00Z");
	/* Across the DST changes: Friday 17:30 -> Monday 17:30 local. */
	expect_due(&conf, "2026-03-27T16:30:00Z", 660, "2026-03-30T15:30:00Z");
	expect_due(&conf, "2026-10-23T15:30:00Z", 660, "2026-10-26T16:30:00Z");
	/* A holiday on the Monday is skipped: Tuesday 17:30. */
	conf.holidays[0] = 20260112;
	conf.nholidays = 1;
	expect_due(&conf, "2026-01-09T16:30:00Z", 660, "2026-01-13T16:30:00Z");
	expect_due(&conf, "2026-01-10T09:00:00Z", 660, "2026-01-13T17:00:00Z");
	{
		int64_t t;

		assert_int_equal(calendar_add_business(&conf, utc("2026-01-05T10:00:00Z"),
				     -1, &t),
		    QH_ERR_ARG);
	}
}

/* Local midnights: the DST days are 23 and 25 hours long. */
static void
test_midnight(void **state QH_UNUSED)
{
	int64_t a = 0, b = 0;
	int y, m, d;

	assert_int_equal(calendar_midnight("Europe/Berlin", 2026, 3, 29, &a), 0);
	assert_int_equal(a, utc("2026-03-28T23:00:00Z"));
	assert_int_equal(calendar_midnight("Europe/Berlin", 2026, 3, 30, &b), 0);
	assert_int_equal(b - a, 23 * 3600);
	assert_int_equal(calendar_midnight("Europe/Berlin", 2026, 10, 25, &a), 0);
	assert_int_equal(a, utc("2026-10-24T22:00:00Z"));
	assert_int_equal(calendar_midnight("Europe/Berlin", 2026, 10, 26, &b), 0);
	assert_int_equal(b - a, 25 * 3600);
	/* The day after the last of a month. */
	assert_int_equal(calendar_midnight("Europe/Berlin", 2026, 12, 32, &a), 0);
	assert_int_equal(a, utc("2026-12-31T23:00:00Z"));

	assert_int_equal(calendar_parse_date("2026-03-29", &y, &m, &d), 0);
	assert_int_equal(y * 10000 + m * 100 + d, 20260329);
	assert_int_equal(calendar_parse_date("2026-3-29", &y, &m, &d), QH_ERR_ARG);
	assert_int_equal(calendar_parse_date("2026-13-01", &y, &m, &d), QH_ERR_ARG);
	assert_int_equal(calendar_parse_date("2026-03-29x", &y, &m, &d), QH_ERR_ARG);
}

/*
 * After the zone is set, every calendar function only reads it: no
 * setenv, unsetenv or tzset, and TZ stays what start-up made it. Another
 * zone is refused, not converted in the wrong one.
 */
static void
test_zone_set_once(void **state QH_UNUSED)
{
	struct console_conf conf;
	struct tm tm;
	char text[32];
	int64_t t = 0;
	int i;

	conf_defaults(&conf);
	env_changes = 0;
	assert_int_equal(calendar_set_zone(conf.timezone), 0);
	assert_true(env_changes > 0);
	assert_string_equal(getenv("TZ"), "Europe/Berlin");
	env_changes = 0;
	for (i = 0; i < 3; i++) {
		assert_int_equal(calendar_local(conf.timezone,
				     utc("2026-07-06T10:00:00Z"), &tm),
		    0);
		assert_int_equal(tm.tm_hour, 12);
		assert_int_equal(calendar_midnight(conf.timezone, 2026, 3, 29, &t), 0);
		(void)calendar_after_hours(&conf, utc("2026-01-05T06:00:00Z"));
		assert_int_equal(calendar_add_business(&conf, utc("2026-01-09T16:30:00Z"),
				     660, &t),
		    0);
		assert_int_equal(calendar_midnight_text(&conf, 2026, 12, 32, text,
				     sizeof(text)),
		    0);
	}
	assert_int_equal(env_changes, 0);
	assert_string_equal(getenv("TZ"), "Europe/Berlin");
	/* Another zone than the process's: refused, nothing touched. */
	assert_int_equal(calendar_local("America/New_York", 0, &tm), QH_ERR_ARG);
	assert_int_equal(calendar_midnight("Asia/Tokyo", 2026, 1, 1, &t), QH_ERR_ARG);
	assert_int_equal(env_changes, 0);
	assert_int_equal(calendar_set_zone(""), QH_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zone_set_once),
		cmocka_unit_test(test_hours_monday),
		cmocka_unit_test(test_hours_weekend),
		cmocka_unit_test(test_hours_dst),
		cmocka_unit_test(test_add_business),
		cmocka_unit_test(test_midnight),
	};

	/* As at start-up, before anything else. */
	if (calendar_set_zone("Europe/Berlin") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
