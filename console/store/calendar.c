/*
 * Business calendar arithmetic in the configured time zone.
 *
 * The C library converts through TZ, which is process-wide and read by
 * every thread: libuv's threadpool resolves names (uv_getaddrinfo) and runs
 * uv_queue_work while the loop runs, and setenv under a reading thread is
 * undefined behaviour. So the zone is set once, by calendar_set_zone() at
 * start-up before any thread exists (the store's environment and serve do
 * it), and the functions here only read it; asked for another zone, they
 * refuse rather than convert in the wrong one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/clock.h"
#include "qh/log.h"
#include "store.h"

static char process_zone[64]; /* what calendar_set_zone made TZ, or "" */

int
calendar_set_zone(const char *tz)
{
	if (tz == NULL || tz[0] == '\0' || strlen(tz) >= sizeof(process_zone))
		return QH_ERR_ARG;
	if (setenv("TZ", tz, 1) != 0)
		return QH_ERR_SYSTEM;
	tzset();
	memcpy(process_zone, tz, strlen(tz) + 1);
	return 0;
}

/* 1 if tz is the process's zone; otherwise logs the mistake and returns 0. */
static int
zone_is(const char *tz)
{
	if (process_zone[0] != '\0' && strcmp(tz, process_zone) == 0)
		return 1;
	qh_error("calendar: zone %s asked for, but the process runs in %s", tz,
	    process_zone[0] != '\0' ? process_zone
				    : "none (calendar_set_zone was not called)");
	return 0;
}

int
calendar_local(const char *tz, int64_t t, struct tm *out)
{
	time_t tt = (time_t)t;

	if (!zone_is(tz))
		return QH_ERR_ARG;
	return localtime_r(&tt, out) != NULL ? 0 : QH_ERR_ARG;
}

int
calendar_midnight(const char *tz, int y, int m, int d, int64_t *out)
{
	struct tm tm;
	time_t t;

	if (!zone_is(tz))
		return QH_ERR_ARG;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1; /* let the zone decide */
	t = mktime(&tm);
	if (t == (time_t)-1)
		return QH_ERR_ARG;
	*out = (int64_t)t;
	return 0;
}

int
calendar_parse_date(const char *s, int *y, int *m, int *d)
{
	int n = 0;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", y, m, d, &n) != 3 || n != 10 ||
	    *m < 1 || *m > 12 || *d < 1 || *d > 31 || *y < 1970 || *y > 9999)
		return QH_ERR_ARG;
	return 0;
}

static int
is_business_day(const struct console_conf *conf, const struct tm *tm)
{
	int ymd = (tm->tm_year + 1900) * 10000 + (tm->tm_mon + 1) * 100 + tm->tm_mday, i;

	if (!(conf->days & (1U << tm->tm_wday)))
		return 0;
	for (i = 0; i < conf->nholidays; i++)
		if (conf->holidays[i] == ymd)
			return 0;
	return 1;
}

int
calendar_after_hours(const struct console_conf *conf, int64_t t)
{
	struct tm tm;
	int min;

	if (calendar_local(conf->timezone, t, &tm) != 0)
		return 0;
	if (!is_business_day(conf, &tm))
		return 1;
	min = tm.tm_hour * 60 + tm.tm_min;
	return min < conf->open_min || min >= conf->close_min;
}

/*
 * UTC seconds of the wall-clock time `minute` minutes after local midnight
 * on tm's day, in the process's zone (the caller has checked it).
 */
static int64_t
local_at(const struct tm *day, int minute)
{
	struct tm w = *day;

	w.tm_hour = minute / 60;
	w.tm_min = minute % 60;
	w.tm_sec = 0;
	w.tm_isdst = -1;
	return (int64_t)mktime(&w);
}

int
calendar_add_business(const struct console_conf *conf, int64_t t, int64_t minutes,
    int64_t *out)
{
	struct tm tm;
	int64_t open, close;
	int guard;

	if (minutes < 0)
		return QH_ERR_ARG;
	/* Day by day: each business day's window is [open, close) in wall-clock time. */
	for (guard = 0; guard < 3700; guard++) {
		if (calendar_local(conf->timezone, t, &tm) != 0)
			return QH_ERR_ARG;
		open = local_at(&tm, conf->open_min);
		close = local_at(&tm, conf->close_min);
		if (is_business_day(conf, &tm) && t < close) {
			if (t < open)
				t = open;
			if (t + minutes * 60 <= close) {
				*out = t + minutes * 60;
				return 0;
			}
			minutes -= (close - t) / 60;
		}
		/* On to the next local midnight (23 or 25 hours away on DST days). */
		tm.tm_mday += 1;
		t = local_at(&tm, 0);
	}
	return QH_ERR_ARG;
}

int
calendar_business_seconds(const struct console_conf *conf, int64_t from, int64_t to,
    int64_t *out)
{
	struct tm tm;
	int64_t t = from, open, close, total = 0;
	int guard;

	*out = 0;
	if (to <= from)
		return 0;
	/* Day by day, as calendar_add_business counts them. */
	for (guard = 0; guard < 3700 && t < to; guard++) {
		if (calendar_local(conf->timezone, t, &tm) != 0)
			return QH_ERR_ARG;
		open = local_at(&tm, conf->open_min);
		close = local_at(&tm, conf->close_min);
		if (is_business_day(conf, &tm) && t < close) {
			if (t < open)
				t = open;
			if (t < to)
				total += (to < close ? to : close) - t;
		}
		tm.tm_mday += 1;
		t = local_at(&tm, 0);
	}
	if (t < to)
		return QH_ERR_ARG;
	*out = total;
	return 0;
}

int
calendar_midnight_text(const struct console_conf *conf, int y, int m, int d, char *out,
    size_t len)
{
	int64_t t;
	int r;

	while (m > 12) {
		m -= 12;
		y++;
	}
	if ((r = calendar_midnight(conf->timezone, y, m, d, &t)) != 0)
		return r;
	qh_clock_format_utc(t, out, len);
	return 0;
}
