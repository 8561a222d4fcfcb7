/*
 * Support tickets on the console: receiving one from an agent (the
 * "ticket" request of `qh-console serve`). The rules it is checked against
 * are the store's.
 */
#ifndef QH_CONSOLE_TICKET_H
#define QH_CONSOLE_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "qh/mux.h"
#include "qh/ticket.h"
#include "qh/pki.h"
#include "server.h"

/*
 * The "ticket" request of an agent: accepts or refuses ch and receives the
 * metadata and attachments (docs/protocol.md, "Tickets"). Runs on the
 * serve loop; the ticket rows are written in one transaction once every
 * attachment is verified and stored.
 */
void ticket_request(struct server *srv, const struct qh_identity *agent,
    struct qh_chan *ch, const struct qh_msg *m);

#endif
