/*
 * The billing unit (R1) and how units read as time. The console bills in
 * these units and the agent shows them, so both use this one definition.
 */
#ifndef QH_UNITS_H
#define QH_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "qh/text.h"

#define QH_UNIT_SECONDS 900 /* R1: a unit is 15 minutes */

/* R1: every started unit counts; 0 s (or less) is 0 units, never negative. */
int64_t qh_units(int64_t billable_seconds);

/* Signed units as hours: "-1 h 45 min", "9 h 00 min". */
void qh_hours_text(int64_t units, char *out, size_t len);

/* Signed units as a short duration: "2 h", "30 min", "1 h 45 min". */
void qh_hours_short(int64_t units, char *out, size_t len);

/* Signed units with their hours: "7 units (1 h 45 min)", "1 unit (0 h 15 min)". */
void qh_units_text(int64_t units, char *out, size_t len);

/* The same in lang: "7 Einheiten (1 h 45 min)". */
void qh_units_text_in(enum qh_lang lang, int64_t units, char *out, size_t len);

#endif
