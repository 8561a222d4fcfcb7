/*
 * A strict JSON syntax checker for text that came from a peer and is to be
 * embedded as it is into JSON we print (a ticket's environment document).
 * It builds nothing: it walks the bytes once, with an explicit, bounded
 * stack instead of recursion, and answers yes or no.
 */
#ifndef QH_JSONCHECK_H
#define QH_JSONCHECK_H

#include <stddef.h>
#include <stdint.h>

/* The deepest nesting any caller may ask for. */
#define QH_JSONCHECK_MAX_DEPTH	256

/*
 * Returns 0 if the len bytes at p are exactly one JSON text by RFC 8259
 * (whitespace around it allowed), valid UTF-8 without NUL, nested at most
 * max_depth arrays and objects deep (max_depth is clamped to
 * QH_JSONCHECK_MAX_DEPTH). Returns QH_ERR_FORMAT for anything else and
 * QH_ERR_TOO_LARGE for nesting that is too deep. When want_object is set
 * the text must be an object.
 */
int qh_jsoncheck(const uint8_t *p, size_t len, unsigned max_depth, int want_object);

#endif
