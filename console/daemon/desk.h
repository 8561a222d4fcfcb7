/*
 * The ticket desk on the console (qh/desk.h): technicians' ticket
 * commands over TLS, and a customer's PC asking for its own tickets, a
 * ticket's attachment and its account on a short connection without HELLO.
 * The answers come from the store (desk_run), the same documents the
 * ticket commands make on the console host. A reply with attachments is
 * an upload (upload.h).
 */
#ifndef QH_DAEMON_DESK_H
#define QH_DAEMON_DESK_H

#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "server.h"

/*
 * A desk REQUEST m from the peer who (a technician or an agent): accepts
 * ch and answers the document as DATA, or streams the attachment a
 * "ticket-get" names (TICKET_FILE{name, size, hash}, then DATA), then EOF
 * and CLOSE; or refuses ch with the sentence to show. Runs on the serve
 * loop.
 */
void desk_answer_request(struct server *srv, const struct qh_identity *who,
    struct qh_chan *ch, const struct qh_msg *m);

#endif
