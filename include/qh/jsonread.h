/*
 * Reading JSON (RFC 8259) from a peer into a small read-only tree: the
 * workstation facts an agent reports, for one. The parser is bounded
 * (input size, nesting depth, node count), takes nothing on trust, and
 * has a fuzz target (tests/fuzz/fuzz_jsonread.c). Strings come out as
 * valid UTF-8 without NUL; numbers as doubles, and as exact 64-bit
 * integers when they are integers in range.
 */
#ifndef QH_JSONREAD_H
#define QH_JSONREAD_H

#include <stddef.h>
#include <stdint.h>

#define QH_JSON_MAX_INPUT (4 * 1024 * 1024)
#define QH_JSON_MAX_DEPTH 32
#define QH_JSON_MAX_NODES 65536

enum qh_json_type {
	QH_JSON_NULL,
	QH_JSON_FALSE,
	QH_JSON_TRUE,
	QH_JSON_NUMBER,
	QH_JSON_STRING,
	QH_JSON_ARRAY,
	QH_JSON_OBJECT,
};

/* One value of a parsed document; owned by the document, read-only. */
struct qh_json_node {
	enum qh_json_type type;
	const char *key;	    /* the member's name inside an object, else NULL */
	const char *str;	    /* STRING: the decoded text */
	double num;		    /* NUMBER */
	int64_t ival;		    /* NUMBER when is_int */
	int is_int;		    /* NUMBER: an integer that fits int64_t */
	size_t count;		    /* ARRAY, OBJECT: elements */
	struct qh_json_node *child; /* ARRAY, OBJECT: the first element */
	struct qh_json_node *next;  /* the next element of the parent */
};

struct qh_json_doc;

/*
 * Parses len bytes at p as one JSON value (whitespace around it allowed).
 * Returns 0 and a document in *docp, or QH_ERR_FORMAT (not JSON, invalid
 * UTF-8, NUL in a string), QH_ERR_TOO_LARGE (a bound exceeded) or
 * QH_ERR_NOMEM; *docp is NULL then.
 */
int qh_json_parse(const void *p, size_t len, struct qh_json_doc **docp);

/* Frees a document and all its nodes; NULL is fine. */
void qh_json_free(struct qh_json_doc *doc);

/* The document's value. */
const struct qh_json_node *qh_json_root(const struct qh_json_doc *doc);

/* The first member named key of an object, or NULL (also for a non-object). */
const struct qh_json_node *qh_json_get(const struct qh_json_node *obj, const char *key);

/* The string member key of obj, or NULL when it is absent or not a string. */
const char *qh_json_get_str(const struct qh_json_node *obj, const char *key);

/*
 * Reads the integer member key of obj into *v. Returns 0, QH_ERR_NOT_FOUND
 * or QH_ERR_FORMAT (not an integer number).
 */
int qh_json_get_int(const struct qh_json_node *obj, const char *key, int64_t *v);

#endif
