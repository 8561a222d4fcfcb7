/*
 * The context every module of the daemon shares: one per `qh-console
 * serve`, made by serve.c. It holds data only, so every daemon file may
 * include it without depending on another.
 */
#ifndef QH_DAEMON_SERVER_H
#define QH_DAEMON_SERVER_H

#include <sys/queue.h>

#include <uv.h>

#include "qh/tls.h"
#include "store/store.h"

#define DAEMON_NAME_MAX 256 /* longest customer or technician name */

struct peer;
struct entry;

struct server {
	uv_loop_t *loop;
	const char *state_dir;
	struct console_conf conf;
	sqlite3 *db;			    /* the one connection, on this loop */
	struct qh_tls_ctx *tls;		    /* the listener's */
	int stopping;			    /* shutting down: no new requests */
	LIST_HEAD(peer_list, peer) peers;   /* peer.c's */
	LIST_HEAD(entry_list, entry) queue; /* queue.c's */
	LIST_HEAD(session_list, session)
	closing;		  /* session.c's: closes not written yet */
	uint64_t next_consent_id; /* queue.c's */
	uv_tcp_t listener;	  /* serve.c's, like the rest */
	uv_signal_t sigterm, sigint;
	uv_timer_t housekeeping; /* daily: recording retention */
};

#endif
