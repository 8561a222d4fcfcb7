/*
 * Certificate renewal on the console's side: a peer renews its own
 * certificate over its own connection (certs/README.md), on the serve loop.
 */
#ifndef QH_DAEMON_RENEW_H
#define QH_DAEMON_RENEW_H

#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "server.h"

/*
 * REQUEST{cmd="renew", csr} on ch from the peer id (an agent, technician
 * or accountant, checked current by the caller): issues a certificate for
 * the same identity and the CSR's new key, records it and answers
 * REPLY{cert, ca}; or refuses ch with the reason. The certificate id
 * names stays valid until the new one is used.
 */
void renew_request(struct server *srv, const struct qh_identity *id, struct qh_chan *ch,
    const struct qh_msg *m);

#endif
