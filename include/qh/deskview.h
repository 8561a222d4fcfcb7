/*
 * The ticket desk's documents as text for the vendor's staff: the one
 * rendering of a ticket listing, a ticket and the result of a change, for
 * `qh-console tickets` and `ticket ...` whether the document came from the
 * store on this host or from the console over TLS (qh/desk.h). The
 * document is parsed with the bounded reader (qh/jsonread.h) and every
 * text in it passes the display filter (qh/display.h). Times are shown in
 * the process's local time zone with its name: on the console host that is
 * the business time zone (the store sets it), on a technician's
 * workstation the technician's own.
 *
 * The customer's side renders its documents itself, in the customer's
 * language (agent/desk.c).
 */
#ifndef QH_DESKVIEW_H
#define QH_DESKVIEW_H

#include <stddef.h>
#include <stdio.h>

#include "qh/buf.h"
#include "qh/desk.h"

struct qh_json_node;

/*
 * Prints the document json (len bytes) that answered a request of cmd
 * (QH_DESK_REPLY for a reply's result) on f. Returns 0, QH_ERR_FORMAT
 * when it is not such a document, or QH_ERR_SYSTEM when writing failed.
 */
int qh_deskview_print(FILE *f, enum qh_desk_cmd cmd, const void *json, size_t len);

/*
 * Appends a ticket's environment (an object of its document, as the
 * bounded reader gave it) to text as "Label:  value" lines, as
 * `ticket show` prints them (qh/envinfo.h). Returns 0, QH_ERR_FORMAT (not
 * an object, or not one the lines can be made of) or QH_ERR_TOO_LARGE.
 */
int qh_deskview_env_text(const struct qh_json_node *env, struct qh_buf *text);

/* "waiting for customer" for "waiting"; the other statuses as they are. */
const char *qh_deskview_status(const char *status);

#endif
