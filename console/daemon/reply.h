/*
 * Replies and notices to peers: the one place that builds the messages a
 * technician or a customer reads, so every module answers the same way.
 * It calls nothing else in the daemon.
 */
#ifndef QH_DAEMON_REPLY_H
#define QH_DAEMON_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "qh/mux.h"

/* Sends text on an accepted channel, then EOF and close: a one-shot request's answer. */
void reply_text(struct qh_chan *ch, const char *text, size_t len);

/* Sends MSG ERROR{code, text} on an accepted channel, then EOF and close. */
void reply_error(struct qh_chan *ch, const char *code, const char *text);

/*
 * Sends MSG REPLY{cert, ca} on an accepted channel, then EOF and close: a
 * renewed certificate and the CA that issued it (PEM).
 */
void reply_cert(struct qh_chan *ch, const char *cert_pem, const char *ca_pem);

/* Sends a NOTICE of kind ("info", "warning", "attached"...) to a connection. */
void reply_notice(struct qh_mux *mux, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends a NOTICE on a channel (a technician's command reads it as a line). */
void reply_chan_notice(struct qh_chan *ch, const char *text);

/*
 * Tells an agent about its session: kind "opened" (secs and text unused)
 * or "closed" with the billable seconds and the line for the customer.
 */
void reply_session(struct qh_mux *mux, const char *kind, int64_t id, int64_t secs,
    const char *text);

/* A six-digit code for people: "482 913". */
const char *reply_code(const char *code, char out[8]);

#endif
