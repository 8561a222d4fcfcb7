/*
 * The business calendar: support hours and days in the business time zone
 * (R9), holidays, dates for ledger filters, and due times counted in
 * business hours. All conversions go through the zoneinfo database, so
 * daylight saving time is handled wherever it falls.
 */
#ifndef QH_CONSOLE_CALENDAR_H
#define QH_CONSOLE_CALENDAR_H

#include <stdint.h>
#include <time.h>

#include "console.h"

/* Converts UTC seconds to local broken-down time in zone tz. */
int calendar_local(const char *tz, int64_t t, struct tm *out);

/* UTC seconds of local midnight starting day y-m-d in zone tz. */
int calendar_midnight(const char *tz, int y, int m, int d, int64_t *out);

/* 1 if t lies outside the configured support hours, days and holidays (R9). */
int calendar_after_hours(const struct console_conf *conf, int64_t t);

/* Parses YYYY-MM-DD. */
int calendar_parse_date(const char *s, int *y, int *m, int *d);

/*
 * The instant `minutes` business minutes after t: only time inside support
 * hours on business days counts. Returns 0 and *out, or QH_ERR_ARG.
 */
int calendar_add_business(const struct console_conf *conf, int64_t t, int64_t minutes,
    int64_t *out);

#endif
