/*
 * Writing JSON text into a bounded buffer: strings escaped per RFC 8259,
 * so any UTF-8 a customer types (quotes, commas, line breaks) round-trips.
 */
#ifndef QH_JSON_H
#define QH_JSON_H

#include <stdint.h>

#include "qh/buf.h"

/* Appends s as a JSON string literal (with quotes); NULL gives null. */
int qh_json_str(struct qh_buf *b, const char *s);

/* Appends "key": followed by the string value (NULL gives null). */
int qh_json_kv_str(struct qh_buf *b, const char *key, const char *s);

/* Appends "key": followed by the integer. */
int qh_json_kv_int(struct qh_buf *b, const char *key, int64_t v);

/* Appends raw text (punctuation, literals). */
int qh_json_raw(struct qh_buf *b, const char *text);

#endif
