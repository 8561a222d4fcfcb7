/*
 * The TLS layer's insides, shared by its three files and no one else:
 * tls.c (a connection's life, its input and output), tls_ctx.c (contexts,
 * tickets, the verified-certificate set, our BIO) and tls_loop.c (what the
 * connections of one loop share: the timer wheel, the flush list, the
 * scratch buffers). Functions here are prefixed tls__, as the mux's are
 * mux__.
 */
#ifndef QH_TLS_INT_H
#define QH_TLS_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <uv.h>
#include <openssl/ssl.h>

#include "qh/buf.h"
#include "qh/dial.h"
#include "qh/pki.h"
#include "qh/tls.h"

#define RX_CIPHER_MAX	 (256 * 1024)
#define RX_READ_CHUNK	 (64 * 1024)
#define RX_PLAIN_MAX	 (256 * 1024)
#define TX_PLAIN_MAX	 (QH_TLS_OUT_MAX)
#define TX_CIPHER_MAX	 (QH_TLS_OUT_MAX + 64 * 1024)
#define CLOSE_LINGER_MS	 2000
#define TICKET_SECONDS	 3600  /* a ticket resumes for an hour */
#define TICKET_CACHE	 65536 /* sessions a server keeps; the oldest go first */
#define VERIFIED_BUCKETS 4096  /* chains of the verified-certificate set */
#define VERIFIED_MAX	 65536 /* certificates remembered; then it starts over */
#define WHEEL_TICK_MS	 250   /* the wheel's resolution */
#define WHEEL_SLOTS	 64    /* 16 s per turn; later deadlines wait a turn or more */
#define RELEASE_MS	 1000  /* empty buffers unused this long are freed */
#define SLOT_NONE	 (-1)  /* not on the wheel */
#define SLOT_DUE	 (-2)  /* on the list of the tick being run */

/* A client certificate whose chain the server has verified: its SHA-256. */
struct verified {
	unsigned char fp[32];
	struct verified *next;
};

struct qh_tls_ctx {
	SSL_CTX *ssl;
	int server;
	int allow_expired;			     /* qh_tls_ctx_allow_expired */
	struct verified *verified[VERIFIED_BUCKETS]; /* server: chains verified */
	size_t nverified;
	int resume;	      /* client: offer the kept ticket */
	SSL_SESSION *session; /* client: the newest ticket the server gave us */
};

enum tls_state {
	TLS_NEW,       /* handle created, not connected yet */
	TLS_HANDSHAKE, /* handshake in progress */
	TLS_READY,     /* peer verified, application data flows */
	TLS_CLOSING,   /* flushing close_notify, handles not closed yet */
	TLS_DEAD,      /* handles closing; only close callbacks remain */
};

LIST_HEAD(conn_list, qh_tls_conn);

/*
 * What the connections of one loop share: the wheel, the flush list and
 * the scratch buffers. Made for a loop's first connection and closed
 * after its last is freed.
 */
struct tls_loop {
	uv_loop_t *loop;
	unsigned users;		 /* connections on this loop */
	uv_timer_t tick;	 /* the wheel's one timer (unreferenced) */
	uv_prepare_t prep;	 /* flushes what was queued outside I/O callbacks */
	uv_check_t check;	 /* flushes right after the I/O callbacks */
	int open_handles;	 /* while closing */
	struct conn_list flushq; /* connections with plaintext queued */
	struct conn_list slots[WHEEL_SLOTS]; /* by deadline tick */
	struct conn_list due;		     /* the slot being run */
	unsigned nwheel;		     /* connections on the wheel */
	uint64_t tick_done;		     /* last tick whose slot was run */
	uint8_t rx_cipher[RX_READ_CHUNK];    /* scratch: one read's ciphertext */
	uint8_t rx_plain[RX_READ_CHUNK];     /* scratch: its plaintext */
	struct tls_loop *next;
};

struct qh_tls_conn {
	uv_tcp_t own;  /* accepted into; replaced by a dialled handle */
	uv_tcp_t *tcp; /* the connection's socket: &own, or the dialled one */
	struct tls_loop *tl;
	LIST_ENTRY(qh_tls_conn) flink; /* on tl->flushq while flush_scheduled */
	LIST_ENTRY(qh_tls_conn) wlink; /* in a wheel slot, or on tl->due */
	int slot;		       /* SLOT_NONE, SLOT_DUE or the slot */
	uint64_t due_ms;	       /* the deadline the wheel holds */
	uint64_t hs_deadline_ms;       /* handshake or linger deadline */
	uint64_t last_io_ms;	       /* last byte in or out, for RELEASE_MS */
	uv_write_t wreq[2];
	uv_shutdown_t sreq;
	int open_handles;

	enum tls_state state;
	enum qh_tls_mode mode;
	SSL *ssl;
	struct qh_tls_ctx *ctx;
	const struct qh_tls_ops *ops;
	void *arg;

	struct qh_buf rx_cipher;    /* an incomplete record, waiting for the rest */
	struct qh_buf rx_view;	    /* the scratch buffer's bytes of one read */
	struct qh_buf *rx_src;	    /* what the BIO reads: rx_view or rx_cipher */
	size_t rx_reserved;	    /* bytes lent to libuv by alloc_cb */
	int rx_scratch;		    /* alloc_cb lent the scratch buffer */
	struct qh_buf rx_plain;	    /* decrypted, not yet consumed */
	struct qh_buf tx_plain;	    /* plaintext waiting for SSL_write */
	struct qh_buf tx_cipher[2]; /* ciphertext: one collecting, one in flight */
	int tx_cur;		    /* index of the collecting buffer */
	int tx_busy[2];		    /* buffer i is owned by a uv_write */
	int above_high;		    /* on_drain is owed (queued reached high water) */
	int flush_scheduled;

	uint64_t last_rx_ms, idle_ms, dead_ms;
	uint64_t last_idle_ms; /* when on_idle last ran */
	int close_err;

	struct qh_dial *dial; /* while qh_tls_dial runs */
	char *dial_why;	      /* the caller's buffer for its failure */
	size_t dial_whylen;

	char host[256];
	char pin[65];
	char addr[64];
	struct qh_identity peer;
	struct qh_tls_stats stats;
};

/* Makes our BIO for conn (tls_ctx.c); NULL when OpenSSL has no memory. */
BIO *tls__bio_new(struct qh_tls_conn *conn);

/* Notes the queued ciphertext: its maximum, and above_high at the mark. */
void tls__note_queued(struct qh_tls_conn *conn);

/* The loop's shared parts for a new connection, counted; NULL without memory. */
struct tls_loop *tls__loop_get(uv_loop_t *loop);

/* A connection of tl was freed; the last one closes the shared parts. */
void tls__loop_put(struct tls_loop *tl);

/* Puts conn on the wheel for due_ms (now or later); replaces its old deadline. */
void tls__wheel_set(struct qh_tls_conn *conn, uint64_t due_ms);

/* Takes conn off the wheel, wherever it is on it. */
void tls__wheel_remove(struct qh_tls_conn *conn);

/* Puts conn on its loop's flush list (once) and arms the loop's flush. */
void tls__flush_add(struct qh_tls_conn *conn);

/* Takes conn off the flush list if it is on it. */
void tls__flush_remove(struct qh_tls_conn *conn);

/* tls.c: encrypts and sends what conn has queued (the loop's flush). */
void tls__flush(struct qh_tls_conn *conn);

/* tls.c: the wheel reached conn's deadline; now is the loop's time. */
void tls__tick(struct qh_tls_conn *conn, uint64_t now);

#endif
