/*
 * The bounded ring of qh/ring.h: a fixed capacity, storage allocated on
 * first need, puts that store all or nothing and wrap around the end,
 * and a view of the queued bytes as at most two spans for one vectored
 * write. Every index stays below the capacity and the length never
 * exceeds it.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/ring.h"

void
qh_ring_init(struct qh_ring *r, size_t cap)
{
	assert(cap > 0 && cap <= QH_RING_MAX);
	r->d = NULL;
	r->cap = cap;
	r->head = 0;
	r->len = 0;
}

void
qh_ring_release(struct qh_ring *r)
{
	free(r->d);
	r->d = NULL;
	r->head = 0;
	r->len = 0;
}

void
qh_ring_trim(struct qh_ring *r)
{
	if (r->len == 0)
		qh_ring_release(r);
}

size_t
qh_ring_len(const struct qh_ring *r)
{
	return r->len;
}

size_t
qh_ring_room(const struct qh_ring *r)
{
	return r->cap - r->len;
}

int
qh_ring_put(struct qh_ring *r, const void *p, size_t len)
{
	size_t tail, first;

	if (len > r->cap - r->len)
		return QH_ERR_TOO_LARGE;
	if (len == 0)
		return 0;
	if (r->d == NULL && (r->d = malloc(r->cap)) == NULL)
		return QH_ERR_NOMEM;
	/* head < cap and len <= cap, so the sum cannot wrap a size_t. */
	tail = (r->head + r->len) % r->cap;
	first = r->cap - tail;
	if (first > len)
		first = len;
	memcpy(r->d + tail, p, first);
	memcpy(r->d, (const uint8_t *)p + first, len - first);
	r->len += len;
	return 0;
}

unsigned int
qh_ring_peek(const struct qh_ring *r, uv_buf_t bufs[2], size_t *total)
{
	size_t first;

	*total = r->len;
	if (r->len == 0)
		return 0;
	first = r->cap - r->head;
	if (first >= r->len) {
		bufs[0] = uv_buf_init((char *)r->d + r->head, (unsigned int)r->len);
		return 1;
	}
	bufs[0] = uv_buf_init((char *)r->d + r->head, (unsigned int)first);
	bufs[1] = uv_buf_init((char *)r->d, (unsigned int)(r->len - first));
	return 2;
}

void
qh_ring_consume(struct qh_ring *r, size_t n)
{
	assert(n <= r->len);
	if (n > r->len)
		n = r->len;
	r->len -= n;
	r->head = r->len == 0 ? 0 : (r->head + n) % r->cap;
}
