/*
 * Writing JSON text into a bounded buffer (RFC 8259).
 *
 * A builder places the commas and colons, tracks the nesting and keeps the
 * first error, so a caller appends a whole document without checking each
 * call and asks qh_json_finish() once: the text is complete and valid, or
 * the error says why not (the buffer was full, or the nesting is wrong).
 * Strings are escaped, C0, DEL and C1 controls as \u00XX, so the text
 * drives no terminal it is printed on; bytes that are not UTF-8 become
 * U+FFFD, so whatever a customer or a peer sent, the output parses.
 *
 *	struct qh_json j;
 *
 *	qh_json_init(&j, &out);
 *	qh_json_begin_object(&j);
 *	qh_json_kv_str(&j, "customer", id);
 *	qh_json_key(&j, "sessions");
 *	qh_json_begin_array(&j);
 *	...
 *	qh_json_end_array(&j);
 *	qh_json_end_object(&j);
 *	if ((r = qh_json_finish(&j)) != 0)
 *		fail;
 */
#ifndef QH_JSON_H
#define QH_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"

#define QH_JSON_DEPTH 32 /* deepest nesting a builder writes */

struct qh_json {
	struct qh_buf *b; /* private: where the text goes */
	int depth;	  /* private: open objects and arrays */
	uint32_t members; /* private: bit d set once level d has a member */
	uint32_t objects; /* private: bit d set when level d is an object */
	int keyed;	  /* private: a key waits for its value */
	int err;	  /* private: the first error */
};

/* Starts a document at the end of b. */
void qh_json_init(struct qh_json *j, struct qh_buf *b);

void qh_json_begin_object(struct qh_json *j);
void qh_json_end_object(struct qh_json *j);
void qh_json_begin_array(struct qh_json *j);
void qh_json_end_array(struct qh_json *j);

/* The next member's key, inside an object. */
void qh_json_key(struct qh_json *j, const char *key);

/* Values: in an array, or after qh_json_key. */
void qh_json_str(struct qh_json *j, const char *s); /* NULL gives null */
void qh_json_strn(struct qh_json *j, const char *s, size_t len);
void qh_json_int(struct qh_json *j, int64_t v);
void qh_json_bool(struct qh_json *j, int v);
void qh_json_null(struct qh_json *j);
/* A value that is JSON text already, from another builder. */
void qh_json_raw(struct qh_json *j, const char *json, size_t len);

/* Key and value in one call. */
void qh_json_kv_str(struct qh_json *j, const char *key, const char *s);
void qh_json_kv_int(struct qh_json *j, const char *key, int64_t v);
void qh_json_kv_bool(struct qh_json *j, const char *key, int v);
void qh_json_kv_null(struct qh_json *j, const char *key);

/*
 * Ends the document: 0 when every object and array is closed and every
 * append succeeded; else the first error (QH_ERR_TOO_LARGE when the buffer
 * was full, QH_ERR_INTERNAL for wrong nesting).
 */
int qh_json_finish(struct qh_json *j);

/* The first error so far, or 0. */
int qh_json_error(const struct qh_json *j);

#endif
