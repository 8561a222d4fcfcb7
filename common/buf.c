/*
 * Bounded buffer: the only place that does arithmetic on received bytes.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"

#define BUF_MIN_ALLOC 256

void
qh_buf_init(struct qh_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
qh_buf_init_ro(struct qh_buf *b, const void *p, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->d = (uint8_t *)(uintptr_t)p;
	b->end = b->alloc = b->max = len;
	b->readonly = 1;
}

void
qh_buf_release(struct qh_buf *b)
{
	if (!b->readonly)
		free(b->d);
	b->d = NULL;
	b->off = b->end = b->alloc = 0;
	b->err = 0;
}

size_t
qh_buf_len(const struct qh_buf *b)
{
	assert(b->off <= b->end);
	return b->end - b->off;
}

const uint8_t *
qh_buf_ptr(const struct qh_buf *b)
{
	return b->d + b->off;
}

size_t
qh_buf_room(const struct qh_buf *b)
{
	if (b->readonly)
		return 0;
	return b->max - qh_buf_len(b);
}

size_t
qh_buf_capacity(const struct qh_buf *b)
{
	return b->readonly ? 0 : b->alloc;
}

void
qh_buf_trim(struct qh_buf *b)
{
	if (b->readonly || qh_buf_len(b) > 0 || b->d == NULL)
		return;
	free(b->d);
	b->d = NULL;
	b->off = b->end = b->alloc = 0;
}

void
qh_buf_reset(struct qh_buf *b)
{
	b->err = 0;
	if (b->readonly) {
		b->off = b->end;
		return;
	}
	b->off = b->end = 0;
}

int
qh_buf_error(const struct qh_buf *b)
{
	return b->err;
}

int
qh_buf_fail(struct qh_buf *b, int err)
{
	if (b->err == 0)
		b->err = err;
	return b->err;
}

int
qh_buf_consume(struct qh_buf *b, size_t n)
{
	if (n > qh_buf_len(b))
		return QH_ERR_INCOMPLETE;
	b->off += n;
	if (b->off == b->end && !b->readonly) {
		b->off = b->end = 0;
		b->err = 0; /* what a failed put spoiled is gone */
	}
	return 0;
}

int
qh_buf_reserve(struct qh_buf *b, size_t n, uint8_t **dp)
{
	size_t len = qh_buf_len(b), need, nalloc;
	uint8_t *nd;

	if (b->readonly)
		return QH_ERR_ARG;
	if (n > b->max - len)
		return QH_ERR_TOO_LARGE;
	need = b->end + n;
	if (need > b->alloc) {
		/*
		 * Compact only when the consumed prefix is at least as large as
		 * the live bytes (so each byte moves at most once per doubling),
		 * or when the buffer could not grow far enough otherwise.
		 */
		if (b->off > 0 && (b->off >= len || need > b->max)) {
			memmove(b->d, b->d + b->off, len);
			b->off = 0;
			b->end = len;
			need = len + n;
		}
		if (need > b->alloc) {
			nalloc = b->alloc < BUF_MIN_ALLOC ? BUF_MIN_ALLOC : b->alloc;
			/* Doubling stops at the maximum, so it cannot overflow. */
			while (nalloc < need && nalloc <= b->max / 2)
				nalloc *= 2;
			if (nalloc < need || nalloc > b->max)
				nalloc = b->max;
			if ((nd = realloc(b->d, nalloc)) == NULL)
				return QH_ERR_NOMEM;
			b->d = nd;
			b->alloc = nalloc;
		}
	}
	*dp = b->d + b->end;
	b->end += n;
	return 0;
}

void
qh_buf_unreserve(struct qh_buf *b, size_t n)
{
	assert(n <= qh_buf_len(b));
	b->end -= n;
}

int
qh_buf_put(struct qh_buf *b, const void *p, size_t len)
{
	uint8_t *d;
	int r;

	if (b->err != 0)
		return b->err;
	if (len == 0)
		return 0;
	if ((r = qh_buf_reserve(b, len, &d)) != 0)
		return qh_buf_fail(b, r);
	memcpy(d, p, len);
	return 0;
}

int
qh_buf_put_u8(struct qh_buf *b, uint8_t v)
{
	return qh_buf_put(b, &v, 1);
}

int
qh_buf_put_u16(struct qh_buf *b, uint16_t v)
{
	uint8_t d[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return qh_buf_put(b, d, sizeof(d));
}

int
qh_buf_put_u32(struct qh_buf *b, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
		(uint8_t)v };

	return qh_buf_put(b, d, sizeof(d));
}

/* One put of all eight bytes, so a failure appends nothing. */
int
qh_buf_put_u64(struct qh_buf *b, uint64_t v)
{
	uint8_t d[8];
	int i;

	for (i = 0; i < 8; i++)
		d[i] = (uint8_t)(v >> (56 - 8 * i));
	return qh_buf_put(b, d, sizeof(d));
}

int
qh_buf_put_string(struct qh_buf *b, const void *p, size_t len)
{
	int r;

	if (b->err != 0)
		return b->err;
	if (b->readonly)
		return qh_buf_fail(b, QH_ERR_ARG);
	if (len > UINT32_MAX || len + 4 > qh_buf_room(b))
		return qh_buf_fail(b, QH_ERR_TOO_LARGE);
	if ((r = qh_buf_put_u32(b, (uint32_t)len)) != 0)
		return r;
	return qh_buf_put(b, p, len);
}

int
qh_buf_put_cstring(struct qh_buf *b, const char *s)
{
	return qh_buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int
qh_buf_get(struct qh_buf *b, void *p, size_t len)
{
	if (len > qh_buf_len(b))
		return QH_ERR_INCOMPLETE;
	if (p != NULL && len > 0)
		memcpy(p, qh_buf_ptr(b), len);
	return qh_buf_consume(b, len);
}

int
qh_buf_peek_u8(const struct qh_buf *b, size_t off, uint8_t *v)
{
	if (off >= qh_buf_len(b))
		return QH_ERR_INCOMPLETE;
	*v = qh_buf_ptr(b)[off];
	return 0;
}

int
qh_buf_peek_u32(const struct qh_buf *b, size_t off, uint32_t *v)
{
	const uint8_t *p;

	if (off > qh_buf_len(b) || qh_buf_len(b) - off < 4)
		return QH_ERR_INCOMPLETE;
	p = qh_buf_ptr(b) + off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int
qh_buf_get_u8(struct qh_buf *b, uint8_t *v)
{
	return qh_buf_get(b, v, 1);
}

int
qh_buf_get_u16(struct qh_buf *b, uint16_t *v)
{
	uint8_t d[2];
	int r;

	if ((r = qh_buf_get(b, d, sizeof(d))) != 0)
		return r;
	*v = (uint16_t)(d[0] << 8 | d[1]);
	return 0;
}

int
qh_buf_get_u32(struct qh_buf *b, uint32_t *v)
{
	int r;

	if ((r = qh_buf_peek_u32(b, 0, v)) != 0)
		return r;
	return qh_buf_consume(b, 4);
}

int
qh_buf_get_u64(struct qh_buf *b, uint64_t *v)
{
	uint32_t hi, lo;

	if (qh_buf_len(b) < 8)
		return QH_ERR_INCOMPLETE;
	(void)qh_buf_get_u32(b, &hi);
	(void)qh_buf_get_u32(b, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
qh_buf_get_string_direct(struct qh_buf *b, const uint8_t **pp, size_t *lenp,
    size_t maxlen)
{
	uint32_t len;
	int r;

	if ((r = qh_buf_peek_u32(b, 0, &len)) != 0)
		return r;
	if (len > maxlen)
		return QH_ERR_TOO_LARGE;
	if (qh_buf_len(b) - 4 < len)
		return QH_ERR_INCOMPLETE;
	*pp = qh_buf_ptr(b) + 4;
	*lenp = len;
	return qh_buf_consume(b, 4 + (size_t)len);
}

int
qh_buf_get_cstring(struct qh_buf *b, char **sp, size_t maxlen)
{
	struct qh_buf save = *b;
	const uint8_t *p;
	size_t len;
	char *s;
	int r;

	*sp = NULL;
	if ((r = qh_buf_get_string_direct(b, &p, &len, maxlen)) != 0)
		return r;
	if (memchr(p, '\0', len) != NULL) {
		*b = save;
		return QH_ERR_FORMAT;
	}
	if ((s = malloc(len + 1)) == NULL) {
		*b = save;
		return QH_ERR_NOMEM;
	}
	memcpy(s, p, len);
	s[len] = '\0';
	*sp = s;
	return 0;
}
