/*
 * The render part: documents made where a command runs, from data the
 * store or the console's daemon gave (never inside the daemon): the
 * customer's monthly statement as PDF (cairo) or HTML with an inline SVG
 * chart. It links cairo; it uses libqh and nothing else of the console.
 */
#ifndef QH_RENDER_H
#define QH_RENDER_H

#include <stddef.h>

/*
 * Renders the statement data json (len bytes: one object as `statement
 * --data` prints it) into a new file at path as format "pdf" or "html",
 * in the customer's language. Returns 0, or a negative QH_ERR_* with the
 * reason in why.
 */
int render_statement(const char *json, size_t len, const char *format, const char *path,
    char *why, size_t whylen);

#endif
