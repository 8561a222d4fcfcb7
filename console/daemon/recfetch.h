/*
 * A session's recording fetched over TLS (docs/protocol.md, "recording"):
 * an accountant's web console plays a terminal cast in the page, or offers
 * a desktop recording for download.
 */
#ifndef QH_DAEMON_RECFETCH_H
#define QH_DAEMON_RECFETCH_H

#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "server.h"

#define RECFETCH_MAX 8 /* recordings being sent at once, in all */

/*
 * REQUEST{cmd="recording", id, name} on ch from the peer who (the peer
 * table lets only role accounting ask): decoded by the desk codec
 * (qh/desk.h); the file STATE/recordings/ID/NAME as far as it is written
 * now is hashed off the loop, then ch is accepted with MSG
 * TICKET_FILE{name, size, hash} and the bytes follow as DATA, then EOF
 * and CLOSE. Refused with ERROR{code, text}: request, not-found, busy,
 * storage.
 */
void recfetch_request(struct server *srv, const struct qh_identity *who,
    struct qh_chan *ch, const struct qh_msg *m);

#endif
