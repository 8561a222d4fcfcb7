/*
 * Time: a monotonic clock for durations and timeouts, UTC wall time for
 * records. Both follow an accelerated test clock (libfaketime) when one is
 * in force, since they read the system clocks through clock_gettime.
 */
#ifndef QH_CLOCK_H
#define QH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on the monotonic clock; never goes backwards. */
uint64_t qh_clock_mono_ms(void);

/* Seconds since the Unix epoch, UTC. */
int64_t qh_clock_now(void);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void qh_clock_format_utc(int64_t t, char *out, size_t outlen);

/* Parses "YYYY-MM-DDTHH:MM:SSZ"; returns 0 or QH_ERR_FORMAT. */
int qh_clock_parse_utc(const char *s, int64_t *t);

/* Formats a duration as "1h 02m 03s" / "2m 03s" / "3s". */
void qh_clock_format_duration(int64_t seconds, char *out, size_t outlen);

#endif
