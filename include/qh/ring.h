/*
 * A bounded ring of bytes for data that waits to be written: channel bytes
 * on their way to a socket, a process's stdin or a file. Its capacity is
 * fixed at init (the window granted to the peer, so a peer that keeps to
 * the window can never overflow it); the storage is allocated on the first
 * put that needs it and may be freed again whenever the ring is empty.
 *
 * The write pattern: qh_ring_peek() describes the queued bytes as at most
 * two spans for one vectored uv_write or uv_fs_write; later puts append
 * behind them and never move or overwrite them, so the spans stay valid
 * while the write is in flight; once it completes, qh_ring_consume() drops
 * what was written. A put never exceeds the capacity: it stores all or
 * nothing.
 *
 * The struct is visible only so that rings can live inside other structs;
 * callers never touch its fields. Not thread-safe.
 */
#ifndef QH_RING_H
#define QH_RING_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define QH_RING_MAX (64 * 1024 * 1024) /* largest capacity qh_ring_init takes */

struct qh_ring {
	uint8_t *d;  /* private: cap bytes, or NULL until the first put */
	size_t cap;  /* private: capacity */
	size_t head; /* private: offset of the oldest byte */
	size_t len;  /* private: bytes queued */
};

/* An empty ring that holds at most cap bytes (1..QH_RING_MAX); allocates nothing. */
void qh_ring_init(struct qh_ring *r, size_t cap);

/* Frees the storage and drops what is queued; the ring stays usable. */
void qh_ring_release(struct qh_ring *r);

/* Frees the storage if the ring is empty; the next put allocates it again. */
void qh_ring_trim(struct qh_ring *r);

/* Bytes queued. */
size_t qh_ring_len(const struct qh_ring *r);

/* Bytes a put may still add: capacity minus what is queued. */
size_t qh_ring_room(const struct qh_ring *r);

/*
 * Appends len bytes at p behind what is queued. Returns 0, or
 * QH_ERR_TOO_LARGE when they do not fit (nothing is stored) or
 * QH_ERR_NOMEM when the storage cannot be allocated.
 */
int qh_ring_put(struct qh_ring *r, const void *p, size_t len);

/*
 * Describes the queued bytes, oldest first, as spans in bufs: returns how
 * many (0, 1 or 2) and sets *total to their length. The spans stay valid
 * until the next consume, release or trim; puts leave them alone.
 */
unsigned int qh_ring_peek(const struct qh_ring *r, uv_buf_t bufs[2], size_t *total);

/* Drops the n oldest bytes (after they were written); n is at most the length. */
void qh_ring_consume(struct qh_ring *r, size_t n);

#endif
