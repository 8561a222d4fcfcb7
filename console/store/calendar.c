/*
 * Business calendar arithmetic in the configured time zone.
 *
 * The C library converts through TZ, which is process-wide: these
 * functions set it for the conversion and put the previous value back.
 * qh-console is single-threaded, so nothing else sees the change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/clock.h"
#include "store.h"

/* Sets TZ to zone and returns the previous value (owned by the caller, may be NULL). */
static char *
tz_push(const char *zone)
{
	const char *old = getenv("TZ");
	char *saved = old != NULL ? strdup(old) : NULL;

	setenv("TZ", zone, 1);
	tzset();
	return saved;
}

static void
tz_pop(char *saved)
{
	if (saved != NULL) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
}

int
calendar_local(const char *tz, int64_t t, struct tm *out)
{
	char *saved = tz_push(tz);
	time_t tt = (time_t)t;
	int r = localtime_r(&tt, out) != NULL ? 0 : QH_ERR_ARG;

	tz_pop(saved);
	return r;
}

int
calendar_midnight(const char *tz, int y, int m, int d, int64_t *out)
{
	struct tm tm;
	char *saved;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1; /* let the zone decide */
	saved = tz_push(tz);
	t = mktime(&tm);
	tz_pop(saved);
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

/* UTC seconds of the wall-clock time `minute` minutes after local midnight on tm's day.
 */
static int64_t
local_at(const char *tz, const struct tm *day, int minute)
{
	struct tm w = *day;
	char *saved = tz_push(tz);
	time_t t;

	w.tm_hour = minute / 60;
	w.tm_min = minute % 60;
	w.tm_sec = 0;
	w.tm_isdst = -1;
	t = mktime(&w);
	tz_pop(saved);
	return (int64_t)t;
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
		open = local_at(conf->timezone, &tm, conf->open_min);
		close = local_at(conf->timezone, &tm, conf->close_min);
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
		t = local_at(conf->timezone, &tm, 0);
	}
	return QH_ERR_ARG;
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
