/*
 * R1 and the texts of units: the one place where 15 minutes become a unit
 * and units become hours for people.
 */
#include <inttypes.h>
#include <stdio.h>

#include "qh/text.h"
#include "qh/units.h"

int64_t
qh_units(int64_t billable_seconds)
{
	if (billable_seconds <= 0)
		return 0;
	return (billable_seconds + QH_UNIT_SECONDS - 1) / QH_UNIT_SECONDS;
}

/* |units| without overflow at INT64_MIN. */
static uint64_t
magnitude(int64_t units)
{
	return units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
}

void
qh_hours_text(int64_t units, char *out, size_t len)
{
	uint64_t a = magnitude(units);

	snprintf(out, len, "%s%" PRIu64 " h %02" PRIu64 " min", units < 0 ? "-" : "",
	    a / 4, (a % 4) * 15);
}

void
qh_hours_short(int64_t units, char *out, size_t len)
{
	uint64_t a = magnitude(units);
	const char *sign = units < 0 ? "-" : "";

	if (a % 4 == 0)
		snprintf(out, len, "%s%" PRIu64 " h", sign, a / 4);
	else if (a < 4)
		snprintf(out, len, "%s%" PRIu64 " min", sign, a * 15);
	else
		snprintf(out, len, "%s%" PRIu64 " h %" PRIu64 " min", sign, a / 4,
		    (a % 4) * 15);
}

void
qh_units_text_in(enum qh_lang lang, int64_t units, char *out, size_t len)
{
	char hours[48], n[32];
	uint64_t a = magnitude(units);

	qh_hours_text(units, hours, sizeof(hours));
	snprintf(n, sizeof(n),
	    qh_ntr(lang, "%lld unit", "%lld units", a == 1 ? 1UL : 2UL),
	    (long long)units);
	snprintf(out, len, "%s (%s)", n, hours);
}

void
qh_units_text(int64_t units, char *out, size_t len)
{
	qh_units_text_in(QH_LANG_EN, units, out, len);
}
