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
struct limit_counts;
struct presence;
struct queue_index;

struct server {
	uv_loop_t *loop;
	const char *state_dir;
	struct console_conf conf;
	sqlite3 *db;			  /* the one connection, on this loop */
	struct qh_tls_ctx *tls;		  /* the listener's */
	int stopping;			  /* shutting down: no new requests */
	LIST_HEAD(peer_list, peer) peers; /* peer.c's */
	/* peer.c's: the connections not authenticated yet, oldest first */
	TAILQ_HEAD(preauth_list, peer) preauth;
	struct limit_counts *preauth_by_addr; /* peer.c's: the same, per address */
	int npeers, npreauth;		      /* peer.c's: connections, and of them */
	int fd_limit, fd_base;		      /* serve.c's: RLIMIT_NOFILE, fds at start */
	LIST_HEAD(entry_list, entry) queue;   /* queue.c's */
	struct queue_index *queue_index;      /* queue.c's: entries by code, resume */
	LIST_HEAD(session_list, session) closing; /* session.c's: closes not written */
	uint64_t next_consent_id;		  /* queue.c's */
	uv_tcp_t listener;			  /* serve.c's, like the rest */
	uv_signal_t sigterm, sigint;
	uv_signal_t sighup;	   /* loads the console's certificate again */
	uv_timer_t housekeeping;   /* daily: recording retention */
	uv_timer_t watch;	   /* each second: did another process change the DB? */
	int64_t data_version;	   /* the DB's as last seen by watch */
	int lock_fd;		   /* STATE/serve.lock, held with flock */
	struct presence *presence; /* presence.c's: verdicts, pending last_seen */
};

#endif
