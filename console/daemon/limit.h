/*
 * Limits per source address, for connections that have not authenticated
 * (DESIGN §3: before authentication a peer may only join). An address is
 * keyed by what one party plausibly controls: an IPv4 address, or the /64
 * of an IPv6 address (one customer line gets a whole /64).
 *
 * Two tables: the connections each address holds now (bounded by the
 * number of unauthenticated connections, which peer.c caps), and the
 * recent failed joins of each address (bounded by memory, LIMIT_FAIL_BYTES,
 * whatever the number of sources: when it is full, the sources that find
 * no room share one entry and are slowed down together).
 *
 * Everything here runs on the serve loop.
 */
#ifndef QH_DAEMON_LIMIT_H
#define QH_DAEMON_LIMIT_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define LIMIT_FAIL_BYTES    (1024 * 1024) /* the failed-join table's memory */
#define LIMIT_FAIL_FREE	    3		  /* failed joins answered at once */
#define LIMIT_FAIL_MAX_MS   10000	  /* the longest hold; the agent waits 30 s */
#define LIMIT_FAIL_FORGET_S (10 * 60)	  /* failures older than this are forgotten */

/* The key of the address in sa: IPv4 /32, IPv6 /64 (v4-mapped: its IPv4). */
uint64_t limit_key_sockaddr(const struct sockaddr *sa);

/*
 * The key of "ADDR:PORT" or "[V6]:PORT" text as qh_mux_peer_addr gives it;
 * 0 when it does not parse (all such peers then share one key).
 */
uint64_t limit_key_text(const char *addr_port);

/* Failed joins. */

/* How long to hold a JOIN from key: 0 for the first LIMIT_FAIL_FREE failures. */
uint64_t limit_fail_delay_ms(uint64_t key);

/* Counts a failed join from key. */
void limit_fail(uint64_t key);

/* Bytes the failed-join table occupies: LIMIT_FAIL_BYTES (and one overflow entry). */
size_t limit_fail_table_bytes(void);

/* Connections held per key. */

struct limit_counts;

/* A table for up to max keys at once; NULL when out of memory. */
struct limit_counts *limit_counts_new(size_t max);
void limit_counts_free(struct limit_counts *c);

/* How many connections key holds. */
unsigned limit_count(const struct limit_counts *c, uint64_t key);

/*
 * Adds one connection of key (returns 0, or -1 when max keys are held
 * already) or takes one away (limit_count_del; key must hold one).
 */
int limit_count_add(struct limit_counts *c, uint64_t key);
void limit_count_del(struct limit_counts *c, uint64_t key);

#endif
