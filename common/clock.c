/*
 * Time for quarterhour: a monotonic clock for durations and timeouts, UTC
 * wall time for records, and the one text format timestamps are stored in
 * ("YYYY-MM-DDTHH:MM:SSZ"). Everything reads the system clocks through
 * clock_gettime, so an accelerated test clock (libfaketime) applies here too.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"

uint64_t
qh_clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
qh_clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

void
qh_clock_format_utc(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (outlen == 0)
		return;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

/* Reads exactly n decimal digits at s; returns -1 if any is not a digit. */
static int
digits(const char *s, int n)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parses the stored timestamp format strictly: no other layout, no leap second. */
int
qh_clock_parse_utc(const char *s, int64_t *t)
{
	struct tm tm, check;
	time_t tt;
	int year, mon, day, hour, min, sec;

	if (s == NULL || strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return QH_ERR_FORMAT;
	year = digits(s, 4);
	mon = digits(s + 5, 2);
	day = digits(s + 8, 2);
	hour = digits(s + 11, 2);
	min = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 ||
	    hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59)
		return QH_ERR_FORMAT;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	tt = timegm(&tm);
	/* timegm normalises 2024-02-30 to March; a round trip catches it. */
	if (tt == (time_t)-1 || gmtime_r(&tt, &check) == NULL || check.tm_mday != day ||
	    check.tm_mon != mon - 1)
		return QH_ERR_FORMAT;
	*t = (int64_t)tt;
	return 0;
}

void
qh_clock_format_duration(int64_t seconds, char *out, size_t outlen)
{
	int64_t h, m, s;

	if (seconds < 0)
		seconds = 0;
	h = seconds / 3600;
	m = (seconds / 60) % 60;
	s = seconds % 60;
	if (h > 0)
		snprintf(out, outlen, "%lldh %02lldm %02llds", (long long)h, (long long)m,
		    (long long)s);
	else if (m > 0)
		snprintf(out, outlen, "%lldm %02llds", (long long)m, (long long)s);
	else
		snprintf(out, outlen, "%llds", (long long)s);
}
