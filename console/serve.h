/*
 * The console daemon's core: the listener, connected peers and their
 * authentication, and the table of technician requests.
 */
#ifndef QH_CONSOLE_SERVE_H
#define QH_CONSOLE_SERVE_H

#include <sys/queue.h>

#include <sqlite3.h>
#include <uv.h>

#include "qh/mux.h"
#include "qh/pki.h"
#include "console.h"

struct peer;

struct server {
	uv_loop_t *loop;
	const char *state_dir;
	struct console_conf conf;
	sqlite3 *db;
	struct qh_tls_ctx *tls;
	uv_tcp_t listener;
	uv_signal_t sigterm, sigint;
	int stopping;
	LIST_HEAD(, peer) peers;
};

/* One TLS connection: an agent, a technician or a joining agent. */
struct peer {
	struct server *srv;
	struct qh_mux *mux;
	struct qh_identity id;
	LIST_ENTRY(peer) link;
};

/* A technician request: the REQUEST message's cmd and who may send it. */
struct request_entry {
	const char *cmd;
	unsigned roles;		/* bit (1 << role) per allowed role */
	/* Handles the request on ch (already accepted). */
	void (*run)(struct peer *p, struct qh_chan *ch, const struct qh_msg *m);
};

/* Sends text on ch followed by EOF and close: the reply of a one-shot request. */
void reply_text(struct qh_chan *ch, const char *text);

/* Sends an ERROR as the channel's last words (code, text), then closes it. */
void reply_error(struct qh_chan *ch, const char *code, const char *text);

#endif
