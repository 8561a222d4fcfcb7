/*
 * Accounting over TLS: the reports `balance`, `ledger`, `revenue`,
 * `verify`, `sessions`, `tickets` and the data of `statement`, asked for
 * with an accounting bundle (a technician's: only balances of customers
 * with an agent waiting or in session), answered read-only by a child
 * `qh-console` that opens the state read-only, off the serve loop.
 */
#ifndef QH_DAEMON_ACCOUNT_H
#define QH_DAEMON_ACCOUNT_H

#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "server.h"

#define ACCOUNT_CHILDREN_MAX 4		      /* reports running at once, in all */
#define ACCOUNT_LIMIT_MS     (10 * 60 * 1000) /* a report's time */
#define ACCOUNT_PENDING_MAX  65536 /* bytes held per stream while the window is full */

/*
 * REQUEST{cmd="account", arg} on ch from the current peer id: arg packs
 * the command and its words (qh_argv_pack), checked against the table of
 * what each report takes (never --state, --tech or --out) and the peer's
 * role; refused with the reason, or accepted: DATA is the report's stdout,
 * EXTDATA its stderr, then MSG EXIT{status}, EOF, CLOSE.
 */
void account_request(struct server *srv, const struct qh_identity *id, struct qh_chan *ch,
    const struct qh_msg *m);

#endif
