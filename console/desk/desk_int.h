/*
 * Inside the desk part: what its commands share (desk.c).
 */
#ifndef QH_DESK_INT_H
#define QH_DESK_INT_H

#include <stdint.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/desk.h"

#define DESK_ANSWER_MAX (16 * 1024 * 1024) /* one document */

/* The desk the dispatcher opened for c. */
struct qh_desk *deskcmd_of(const struct qh_cli *c);

/* Parses the ticket number, the first argument; an exit status on failure. */
int deskcmd_ticket_number(struct qh_cli *c, int64_t *id);

/*
 * Runs req on c's desk and prints the answer: the document itself with
 * --json, else as text (qh/deskview.h). Returns the exit status.
 */
int deskcmd_request(struct qh_cli *c, const struct qh_desk_req *req);

/*
 * The exit status of a failed desk operation: its line (d->why) printed,
 * unless the connection printed it already (why empty).
 */
int deskcmd_failed(struct qh_cli *c, const struct qh_desk *d);

/* Prints answer for cmd as --json or text; returns the exit status. */
int deskcmd_print(struct qh_cli *c, enum qh_desk_cmd cmd, const struct qh_buf *answer);

#endif
