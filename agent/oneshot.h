/*
 * The agent's short connection: one channel to the console with this PC's
 * certificate and no HELLO, so the PC does not join the queue and no
 * technician is needed (docs/protocol.md, "Tickets" and "The ticket
 * desk"). `qh-agent tickets`, `ticket show/get/reply` and `balance` run on
 * it: the command gives a REQUEST and callbacks, and the connection's
 * failures (no answer, a refusal, a lost connection) are reported here in
 * the customer's language, once.
 *
 * Everything runs on the default loop; nothing here is thread-safe.
 */
#ifndef QH_AGENT_ONESHOT_H
#define QH_AGENT_ONESHOT_H

#include <stddef.h>
#include <stdint.h>

#include "qh/cli.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/wire.h"

#define ONESHOT_TIMEOUT_MS 30000 /* dial, handshake and the channel's answer */

struct oneshot;

/* What a command adds; every member may be NULL. */
struct oneshot_ops {
	/* The console accepted the request: the channel is open. */
	void (*on_open)(struct oneshot *o);
	/* A message on the channel other than ERROR (which ends the command). */
	void (*on_msg)(struct oneshot *o, const struct qh_msg *m);
	/* Bytes on the channel, credited back after the call. */
	void (*on_data)(struct oneshot *o, const uint8_t *p, size_t len);
	/* The channel has room again. */
	void (*on_writable)(struct oneshot *o);
	/*
	 * The console closed the channel without an ERROR: the exit status,
	 * after printing what failed. NULL means 0.
	 */
	int (*on_end)(struct oneshot *o);
	/*
	 * The console refused the request, or ended it with an ERROR: the
	 * line for the customer from the console's code and text (NULL:
	 * the text as it came). Lines are written into line (len bytes).
	 */
	void (*refused)(struct oneshot *o, const char *code, const char *text, char *line,
	    size_t len);
	/* The command ends, however: release what it holds. Runs once. */
	void (*on_stop)(struct oneshot *o);
};

/*
 * Loads this PC's identity (agent.pem) for a connection: returns 0 with *op,
 * or an exit status after one line for the customer.
 */
int oneshot_new(struct qh_cli *c, const struct oneshot_ops *ops, void *arg,
    struct oneshot **op);

/* This PC's identity, from its certificate. */
const struct qh_identity *oneshot_identity(const struct oneshot *o);

/*
 * Connects, opens the channel with REQUEST req and runs until it and the
 * connection are gone. Returns the exit status.
 */
int oneshot_run(struct oneshot *o, const struct qh_buf *req);

/* Frees what oneshot_new made; NULL is fine. */
void oneshot_free(struct oneshot *o);

/*
 * Ends the command with status after printing the line (if fmt is not
 * NULL; sanitised); only the first call counts.
 */
void oneshot_finish(struct oneshot *o, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void *oneshot_arg(const struct oneshot *o);

/* The open channel, or NULL. */
struct qh_chan *oneshot_chan(const struct oneshot *o);

#endif
