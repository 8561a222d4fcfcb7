/*
 * The workstation facts the support policy asks every customer for, as
 * `qh-agent info` collects them (agent/info.c): one JSON object with the
 * members os, kernel, arch, hostname, user, cpu_model, cpu_cores,
 * memory_total_bytes, memory_available_bytes, disks [{mount, fs,
 * size_bytes, free_bytes}], uptime_seconds, locale, timezone and
 * interfaces [{name, addresses []}]. This module turns that object into
 * lines for people, on the customer's side and the technician's alike.
 */
#ifndef QH_ENVINFO_H
#define QH_ENVINFO_H

#include <stddef.h>

#include "qh/buf.h"
#include "qh/text.h"

/*
 * Appends the facts in the JSON text (len bytes at json) to out as
 * "Label:  value" lines; members that are missing are left out, values
 * pass the display filter (qh/display.h). Returns 0, QH_ERR_FORMAT when
 * json is not a JSON object, or QH_ERR_TOO_LARGE when out is full.
 */
int qh_envinfo_text(const void *json, size_t len, struct qh_buf *out);

/* The same with the labels and words in lang (the customer's). */
int
qh_envinfo_text_in(enum qh_lang lang, const void *json, size_t len, struct qh_buf *out);

#endif
