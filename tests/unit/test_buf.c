/*
 * Unit tests for common/buf.c, the bounded buffer every parser reads
 * through: a getter consumes exactly what it returns or, short of data,
 * nothing at all; every putter stops at the buffer's maximum and appends
 * nothing when it does; strings are bounded by the caller's maxlen and
 * C strings refuse embedded NULs; read-only views refuse writes; the data
 * survives many rounds of append and consume (compaction); integers are
 * big-endian on the wire.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"

/* Checks that b holds exactly the len bytes at p. */
static void
assert_buf_bytes(const struct qh_buf *b, const void *p, size_t len)
{
	assert_int_equal(qh_buf_len(b), len);
	if (len > 0)
		assert_memory_equal(qh_buf_ptr(b), p, len);
}

/* The getters that read a fixed number of bytes, behind one signature. */
static int
get_u8(struct qh_buf *b)
{
	uint8_t v;

	return qh_buf_get_u8(b, &v);
}

static int
get_u16(struct qh_buf *b)
{
	uint16_t v;

	return qh_buf_get_u16(b, &v);
}

static int
get_u32(struct qh_buf *b)
{
	uint32_t v;

	return qh_buf_get_u32(b, &v);
}

static int
get_u64(struct qh_buf *b)
{
	uint64_t v;

	return qh_buf_get_u64(b, &v);
}

static int
get_5(struct qh_buf *b)
{
	uint8_t v[5];

	return qh_buf_get(b, v, sizeof(v));
}

static const struct fixed_getter {
	const char *name;
	int (*get)(struct qh_buf *);
	size_t width;
} fixed_getters[] = {
	{ "u8", get_u8, 1 },
	{ "u16", get_u16, 2 },
	{ "u32", get_u32, 4 },
	{ "u64", get_u64, 8 },
	{ "get(5)", get_5, 5 },
};

#define NGETTERS (sizeof(fixed_getters) / sizeof(fixed_getters[0]))

/*
 * Each fixed-width getter, given every length from 0 to its width + 1,
 * consumes exactly its width when there is enough and nothing otherwise;
 * checked on a growable buffer and on a read-only view.
 */
static void
test_fixed_getters_consume(void **state QH_UNUSED)
{
	uint8_t data[16];
	struct qh_buf b;
	size_t g, n, i;
	int ro;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xa0 + i);
	for (g = 0; g < NGETTERS; g++) {
		const struct fixed_getter *fg = &fixed_getters[g];

		for (ro = 0; ro <= 1; ro++) {
			for (n = 0; n <= fg->width + 1; n++) {
				if (ro)
					qh_buf_init_ro(&b, data, n);
				else {
					qh_buf_init(&b, 64);
					assert_int_equal(qh_buf_put(&b, data, n), 0);
				}
				if (n < fg->width) {
					assert_int_equal(fg->get(&b), QH_ERR_INCOMPLETE);
					assert_buf_bytes(&b, data, n);
				} else {
					assert_int_equal(fg->get(&b), 0);
					assert_buf_bytes(&b, data + fg->width,
					    n - fg->width);
				}
				qh_buf_release(&b);
			}
		}
	}
}

/* The values read are the values written, and a failed get leaves *v alone. */
static void
test_getter_values(void **state QH_UNUSED)
{
	struct qh_buf b;
	uint8_t v8 = 0x11, raw[3];
	uint16_t v16 = 0x2222;
	uint32_t v32 = 0x33333333;
	uint64_t v64 = 0x4444444444444444ULL;

	qh_buf_init(&b, 128);
	assert_int_equal(qh_buf_put_u8(&b, 0xfe), 0);
	assert_int_equal(qh_buf_put_u16(&b, 0xfedc), 0);
	assert_int_equal(qh_buf_put_u32(&b, 0xfedcba98), 0);
	assert_int_equal(qh_buf_put_u64(&b, 0xfedcba9876543210ULL), 0);
	assert_int_equal(qh_buf_put(&b, "xyz", 3), 0);
	assert_int_equal(qh_buf_len(&b), 1 + 2 + 4 + 8 + 3);

	assert_int_equal(qh_buf_get_u8(&b, &v8), 0);
	assert_int_equal(v8, 0xfe);
	assert_int_equal(qh_buf_get_u16(&b, &v16), 0);
	assert_int_equal(v16, 0xfedc);
	assert_int_equal(qh_buf_get_u32(&b, &v32), 0);
	assert_int_equal(v32, 0xfedcba98);
	assert_int_equal(qh_buf_get_u64(&b, &v64), 0);
	assert_true(v64 == 0xfedcba9876543210ULL);
	assert_int_equal(qh_buf_get(&b, raw, 3), 0);
	assert_memory_equal(raw, "xyz", 3);
	assert_int_equal(qh_buf_len(&b), 0);

	/* Empty now: every getter fails and leaves its output untouched. */
	assert_int_equal(qh_buf_get_u8(&b, &v8), QH_ERR_INCOMPLETE);
	assert_int_equal(v8, 0xfe);
	assert_int_equal(qh_buf_get_u16(&b, &v16), QH_ERR_INCOMPLETE);
	assert_int_equal(v16, 0xfedc);
	assert_int_equal(qh_buf_get_u32(&b, &v32), QH_ERR_INCOMPLETE);
	assert_int_equal(v32, 0xfedcba98);
	assert_int_equal(qh_buf_get_u64(&b, &v64), QH_ERR_INCOMPLETE);
	assert_true(v64 == 0xfedcba9876543210ULL);
	assert_int_equal(qh_buf_len(&b), 0);

	/* A NULL destination skips bytes. */
	assert_int_equal(qh_buf_put(&b, "abcdef", 6), 0);
	assert_int_equal(qh_buf_get(&b, NULL, 4), 0);
	assert_buf_bytes(&b, "ef", 2);
	qh_buf_release(&b);
}

/* Strings: whole ones are consumed; any truncation consumes nothing. */
static void
test_string_getters_consume(void **state QH_UNUSED)
{
	static const uint8_t enc[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', '!' };
	const uint8_t *p = NULL;
	struct qh_buf b;
	size_t n, len = 0;
	char *s;

	for (n = 0; n < 9; n++) {
		qh_buf_init_ro(&b, enc, n);
		assert_int_equal(qh_buf_get_string_direct(&b, &p, &len, 100),
		    QH_ERR_INCOMPLETE);
		assert_buf_bytes(&b, enc, n);
		s = (char *)1;
		assert_int_equal(qh_buf_get_cstring(&b, &s, 100), QH_ERR_INCOMPLETE);
		assert_null(s);
		assert_buf_bytes(&b, enc, n);
	}

	qh_buf_init_ro(&b, enc, sizeof(enc));
	assert_int_equal(qh_buf_get_string_direct(&b, &p, &len, 5), 0);
	assert_int_equal(len, 5);
	assert_ptr_equal(p, enc + 4);
	assert_buf_bytes(&b, "!", 1);

	qh_buf_init(&b, 64);
	assert_int_equal(qh_buf_put(&b, enc, sizeof(enc)), 0);
	assert_int_equal(qh_buf_get_cstring(&b, &s, 5), 0);
	assert_string_equal(s, "hello");
	free(s);
	assert_buf_bytes(&b, "!", 1);

	/* An empty string is a string. */
	qh_buf_reset(&b);
	assert_int_equal(qh_buf_put_cstring(&b, ""), 0);
	assert_int_equal(qh_buf_get_cstring(&b, &s, 0), 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(qh_buf_len(&b), 0);
	qh_buf_release(&b);
}

/* Strings over maxlen fail as TOO_LARGE, from the length prefix alone. */
static void
test_string_maxlen(void **state QH_UNUSED)
{
	/* Claims 0x10000 bytes; only the prefix and two bytes are here. */
	static const uint8_t huge[] = { 0, 1, 0, 0, 'a', 'b' };
	static const uint8_t enc[] = { 0, 0, 0, 4, 't', 'e', 's', 't' };
	static const uint8_t big[] = { 0xff, 0xff, 0xff, 0xff };
	const uint8_t *p;
	struct qh_buf b;
	size_t len;
	char *s;

	qh_buf_init_ro(&b, enc, sizeof(enc));
	assert_int_equal(qh_buf_get_string_direct(&b, &p, &len, 3), QH_ERR_TOO_LARGE);
	assert_buf_bytes(&b, enc, sizeof(enc));
	assert_int_equal(qh_buf_get_cstring(&b, &s, 3), QH_ERR_TOO_LARGE);
	assert_null(s);
	assert_buf_bytes(&b, enc, sizeof(enc));
	assert_int_equal(qh_buf_get_cstring(&b, &s, 4), 0);
	assert_string_equal(s, "test");
	free(s);

	qh_buf_init_ro(&b, huge, sizeof(huge));
	assert_int_equal(qh_buf_get_string_direct(&b, &p, &len, 0xffff),
	    QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_get_cstring(&b, &s, 0xffff), QH_ERR_TOO_LARGE);
	assert_buf_bytes(&b, huge, sizeof(huge));
	/* Within maxlen but not all here: incomplete, not too large. */
	assert_int_equal(qh_buf_get_string_direct(&b, &p, &len, 0x10000),
	    QH_ERR_INCOMPLETE);
	assert_buf_bytes(&b, huge, sizeof(huge));

	qh_buf_init_ro(&b, big, sizeof(big));
	assert_int_equal(qh_buf_get_cstring(&b, &s, SIZE_MAX - 1), QH_ERR_INCOMPLETE);
	assert_int_equal(qh_buf_get_cstring(&b, &s, 0xfffffffe), QH_ERR_TOO_LARGE);
	assert_buf_bytes(&b, big, sizeof(big));
}

/* An embedded NUL is a format error and consumes nothing. */
static void
test_cstring_embedded_nul(void **state QH_UNUSED)
{
	static const uint8_t enc[] = { 0, 0, 0, 3, 'a', 0, 'b', 'z' };
	static const uint8_t tail[] = { 0, 0, 0, 1, 0 };
	const uint8_t *p;
	struct qh_buf b;
	size_t len;
	char *s = (char *)1;

	qh_buf_init(&b, 64);
	assert_int_equal(qh_buf_put(&b, enc, sizeof(enc)), 0);
	assert_int_equal(qh_buf_get_cstring(&b, &s, 64), QH_ERR_FORMAT);
	assert_null(s);
	assert_buf_bytes(&b, enc, sizeof(enc));
	/* The raw getter has no opinion on content. */
	assert_int_equal(qh_buf_get_string_direct(&b, &p, &len, 64), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\0b", 3);
	assert_buf_bytes(&b, "z", 1);
	qh_buf_release(&b);

	/* The string is the whole buffer, so consuming it would empty it. */
	qh_buf_init(&b, 64);
	assert_int_equal(qh_buf_put(&b, tail, sizeof(tail)), 0);
	assert_int_equal(qh_buf_get_cstring(&b, &s, 64), QH_ERR_FORMAT);
	assert_buf_bytes(&b, tail, sizeof(tail));
	qh_buf_release(&b);
}

/* A putter of w bytes, behind one signature. */
static int
put_u8(struct qh_buf *b)
{
	return qh_buf_put_u8(b, 0xa1);
}

static int
put_u16(struct qh_buf *b)
{
	return qh_buf_put_u16(b, 0xa1a2);
}

static int
put_u32(struct qh_buf *b)
{
	return qh_buf_put_u32(b, 0xa1a2a3a4);
}

static int
put_u64(struct qh_buf *b)
{
	return qh_buf_put_u64(b, 0xa1a2a3a4a5a6a7a8ULL);
}

static int
put_raw(struct qh_buf *b)
{
	return qh_buf_put(b, "rawby", 5);
}

static int
put_string(struct qh_buf *b)
{
	return qh_buf_put_string(b, "str", 3);
}

static int
put_cstring(struct qh_buf *b)
{
	return qh_buf_put_cstring(b, "cstring");
}

static int
put_reserve(struct qh_buf *b)
{
	uint8_t *d;

	return qh_buf_reserve(b, 6, &d);
}

static const struct putter {
	const char *name;
	int (*put)(struct qh_buf *);
	size_t width;
} putters[] = {
	{ "u8", put_u8, 1 },
	{ "u16", put_u16, 2 },
	{ "u32", put_u32, 4 },
	{ "u64", put_u64, 8 },
	{ "put(5)", put_raw, 5 },
	{ "string(3)", put_string, 4 + 3 },
	{ "cstring(7)", put_cstring, 4 + 7 },
	{ "reserve(6)", put_reserve, 6 },
};

#define NPUTTERS (sizeof(putters) / sizeof(putters[0]))

/*
 * For each putter and each fill level below the maximum: when it fits it
 * appends exactly its width, and when it does not it fails with TOO_LARGE
 * and the buffer is unchanged. Consumed bytes give their room back.
 */
static void
test_max_enforced_by_putters(void **state QH_UNUSED)
{
	const size_t max = 20;
	uint8_t fill[20];
	struct qh_buf b;
	size_t p, used;

	memset(fill, 'f', sizeof(fill));
	for (p = 0; p < NPUTTERS; p++) {
		const struct putter *pt = &putters[p];

		for (used = 0; used <= max; used++) {
			qh_buf_init(&b, max);
			assert_int_equal(qh_buf_put(&b, fill, used), 0);
			assert_int_equal(qh_buf_room(&b), max - used);
			if (pt->width <= max - used) {
				assert_int_equal(pt->put(&b), 0);
				assert_int_equal(qh_buf_len(&b), used + pt->width);
			} else {
				assert_int_equal(pt->put(&b), QH_ERR_TOO_LARGE);
				assert_buf_bytes(&b, fill, used);
			}
			qh_buf_release(&b);
		}

		/*
		 * Full: the failed put is kept, also once there is room, until
		 * what it spoiled is consumed; then the buffer takes puts again.
		 */
		qh_buf_init(&b, max);
		assert_int_equal(qh_buf_put(&b, fill, max), 0);
		assert_int_equal(pt->put(&b), QH_ERR_TOO_LARGE);
		if (pt->width < max && pt->put != put_reserve) { /* reserve: not sticky */
			assert_int_equal(qh_buf_consume(&b, pt->width), 0);
			assert_int_equal(pt->put(&b), QH_ERR_TOO_LARGE);
			assert_int_equal(qh_buf_len(&b), max - pt->width);
		}
		assert_int_equal(qh_buf_consume(&b, qh_buf_len(&b)), 0);
		assert_int_equal(qh_buf_error(&b), 0);
		assert_int_equal(pt->put(&b), 0);
		assert_int_equal(qh_buf_len(&b), pt->width);
		qh_buf_release(&b);
	}
}

/* A reserve up to the maximum works; one byte past it fails. */
static void
test_reserve_past_max(void **state QH_UNUSED)
{
	struct qh_buf b;
	uint8_t *d = NULL;

	qh_buf_init(&b, 1000);
	assert_int_equal(qh_buf_reserve(&b, 1001, &d), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_reserve(&b, SIZE_MAX, &d), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), 0);
	assert_int_equal(qh_buf_reserve(&b, 1000, &d), 0);
	assert_non_null(d);
	memset(d, 'x', 1000);
	assert_int_equal(qh_buf_len(&b), 1000);
	assert_int_equal(qh_buf_reserve(&b, 1, &d), QH_ERR_TOO_LARGE);

	/* Unreserve gives back the unused tail. */
	qh_buf_unreserve(&b, 400);
	assert_int_equal(qh_buf_len(&b), 600);
	assert_int_equal(qh_buf_room(&b), 400);
	assert_int_equal(qh_buf_reserve(&b, 401, &d), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_reserve(&b, 400, &d), 0);
	qh_buf_release(&b);

	/* A maximum of zero holds nothing but empty puts. */
	qh_buf_init(&b, 0);
	assert_int_equal(qh_buf_put(&b, "", 0), 0);
	assert_int_equal(qh_buf_put_u8(&b, 1), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_put_string(&b, "", 0), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), 0);
	qh_buf_release(&b);

	/* A huge maximum: the growth arithmetic must not overflow. */
	qh_buf_init(&b, SIZE_MAX);
	assert_int_equal(qh_buf_put(&b, "abc", 3), 0);
	assert_int_equal(qh_buf_reserve(&b, SIZE_MAX, &d), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_reserve(&b, SIZE_MAX - 2, &d), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_reserve(&b, 5000, &d), 0);
	memset(d, 'y', 5000);
	assert_int_equal(qh_buf_len(&b), 5003);
	assert_memory_equal(qh_buf_ptr(&b), "abcyy", 5);
	qh_buf_release(&b);
}

/* Read-only views can be read and consumed but refuse every put. */
static void
test_readonly_refuses_puts(void **state QH_UNUSED)
{
	static const uint8_t data[] = { 0, 0, 0, 2, 'h', 'i', 7 };
	struct qh_buf b;
	uint8_t *d;
	size_t p;
	char *s;

	qh_buf_init_ro(&b, data, sizeof(data));
	assert_int_equal(qh_buf_room(&b), 0);
	for (p = 0; p < NPUTTERS; p++) {
		assert_int_equal(putters[p].put(&b), QH_ERR_ARG);
		assert_buf_bytes(&b, data, sizeof(data));
	}
	assert_int_equal(qh_buf_reserve(&b, 0, &d), QH_ERR_ARG);

	/* Consume a little, so that there would be room at the front. */
	assert_int_equal(qh_buf_get_cstring(&b, &s, 10), 0);
	assert_string_equal(s, "hi");
	free(s);
	for (p = 0; p < NPUTTERS; p++)
		assert_int_equal(putters[p].put(&b), QH_ERR_ARG);
	assert_buf_bytes(&b, data + 6, 1);
	assert_int_equal(qh_buf_consume(&b, 2), QH_ERR_INCOMPLETE);
	assert_int_equal(qh_buf_consume(&b, 1), 0);
	assert_int_equal(qh_buf_len(&b), 0);

	/* Reset and release leave the borrowed bytes alone. */
	qh_buf_init_ro(&b, data, sizeof(data));
	qh_buf_reset(&b);
	assert_int_equal(qh_buf_len(&b), 0);
	assert_int_equal(putters[0].put(&b), QH_ERR_ARG);
	qh_buf_release(&b);
	assert_int_equal(data[4], 'h');
}

/* Consume and peek obey the same rule as the getters. */
static void
test_consume_and_peek(void **state QH_UNUSED)
{
	static const uint8_t data[] = { 1, 2, 3, 4, 5, 6 };
	struct qh_buf b;
	uint32_t v32 = 0;
	uint8_t v8 = 0;

	qh_buf_init_ro(&b, data, sizeof(data));
	assert_int_equal(qh_buf_peek_u32(&b, 0, &v32), 0);
	assert_int_equal(v32, 0x01020304);
	assert_int_equal(qh_buf_peek_u32(&b, 2, &v32), 0);
	assert_int_equal(v32, 0x03040506);
	assert_int_equal(qh_buf_peek_u32(&b, 3, &v32), QH_ERR_INCOMPLETE);
	assert_int_equal(qh_buf_peek_u32(&b, SIZE_MAX, &v32), QH_ERR_INCOMPLETE);
	assert_int_equal(qh_buf_peek_u32(&b, SIZE_MAX - 2, &v32), QH_ERR_INCOMPLETE);
	assert_int_equal(v32, 0x03040506);
	assert_int_equal(qh_buf_peek_u8(&b, 5, &v8), 0);
	assert_int_equal(v8, 6);
	assert_int_equal(qh_buf_peek_u8(&b, 6, &v8), QH_ERR_INCOMPLETE);
	assert_int_equal(qh_buf_peek_u8(&b, SIZE_MAX, &v8), QH_ERR_INCOMPLETE);
	assert_buf_bytes(&b, data, sizeof(data));

	assert_int_equal(qh_buf_consume(&b, 7), QH_ERR_INCOMPLETE);
	assert_int_equal(qh_buf_consume(&b, SIZE_MAX), QH_ERR_INCOMPLETE);
	assert_buf_bytes(&b, data, sizeof(data));
	assert_int_equal(qh_buf_consume(&b, 0), 0);
	assert_int_equal(qh_buf_consume(&b, 2), 0);
	assert_buf_bytes(&b, data + 2, 4);
	assert_int_equal(qh_buf_peek_u8(&b, 0, &v8), 0);
	assert_int_equal(v8, 3);
	assert_int_equal(qh_buf_consume(&b, 4), 0);
	assert_int_equal(qh_buf_len(&b), 0);
}

/* A small deterministic generator, so failures are reproducible. */
static uint32_t
lcg(uint32_t *seed)
{
	*seed = *seed * 1103515245U + 12345U;
	return *seed >> 8;
}

/*
 * Many cycles of appending and consuming uneven amounts, with the buffer
 * often nearly full so that it must compact: what comes out is exactly the
 * stream that went in, and the buffer never holds more than its maximum.
 */
static void
test_compaction_keeps_data(void **state QH_UNUSED)
{
	const size_t max = 1000;
	uint8_t chunk[300], out[300];
	uint64_t wseq = 0, rseq = 0;
	uint32_t seed = 12345;
	struct qh_buf b;
	size_t n, i, room;
	uint8_t *d;
	int cycle;

	qh_buf_init(&b, max);
	for (cycle = 0; cycle < 20000; cycle++) {
		/* Append up to 300 bytes, through put or reserve/unreserve. */
		n = lcg(&seed) % sizeof(chunk);
		room = qh_buf_room(&b);
		for (i = 0; i < n; i++)
			chunk[i] = (uint8_t)((wseq + i) * 7 + ((wseq + i) >> 8));
		if (n > room)
			n = room;
		if (cycle % 3 == 0) {
			assert_int_equal(qh_buf_reserve(&b, n + (room - n) / 2, &d), 0);
			memcpy(d, chunk, n);
			qh_buf_unreserve(&b, (room - n) / 2);
		} else
			assert_int_equal(qh_buf_put(&b, chunk, n), 0);
		wseq += n;
		assert_true(qh_buf_len(&b) <= max);
		assert_int_equal(qh_buf_len(&b), wseq - rseq);

		/* Read back up to 300 bytes and check them. */
		n = lcg(&seed) % sizeof(out);
		if (n > qh_buf_len(&b)) {
			assert_int_equal(qh_buf_get(&b, out, n), QH_ERR_INCOMPLETE);
			n = qh_buf_len(&b);
		}
		assert_int_equal(qh_buf_get(&b, out, n), 0);
		for (i = 0; i < n; i++)
			assert_int_equal(out[i],
			    (uint8_t)((rseq + i) * 7 + ((rseq + i) >> 8)));
		rseq += n;
	}
	assert_true(wseq > 1000000);
	qh_buf_release(&b);
}

/* Integers go out big-endian, byte for byte, and come back the same. */
static void
test_integers_big_endian(void **state QH_UNUSED)
{
	static const uint8_t want[] = {
		0x01,
		0x02,
		0x01,
		0x02,
		0x03,
		0x04,
		0x01,
		0x02,
		0x03,
		0x04,
		0x05,
		0x06,
		0x07,
		0x08,
		0xff,
		0xfe,
		0xff,
		0xfe,
		0xfd,
		0xfc,
		0xff,
		0xfe,
		0xfd,
		0xfc,
		0xfb,
		0xfa,
		0xf9,
		0xf8,
		0x00,
		0x00,
		0x00,
		0x03,
		'a',
		'b',
		'c',
	};
	static const uint8_t zero[14];
	struct qh_buf b;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	char *s;

	qh_buf_init(&b, 256);
	assert_int_equal(qh_buf_put_u16(&b, 0x0102), 0);
	assert_int_equal(qh_buf_put_u32(&b, 0x01020304), 0);
	assert_int_equal(qh_buf_put_u64(&b, 0x0102030405060708ULL), 0);
	assert_int_equal(qh_buf_put_u16(&b, 0xfffe), 0);
	assert_int_equal(qh_buf_put_u32(&b, 0xfffefdfc), 0);
	assert_int_equal(qh_buf_put_u64(&b, 0xfffefdfcfbfaf9f8ULL), 0);
	assert_int_equal(qh_buf_put_cstring(&b, "abc"), 0);
	assert_buf_bytes(&b, want, sizeof(want));

	assert_int_equal(qh_buf_get_u16(&b, &v16), 0);
	assert_int_equal(v16, 0x0102);
	assert_int_equal(qh_buf_get_u32(&b, &v32), 0);
	assert_int_equal(v32, 0x01020304);
	assert_int_equal(qh_buf_get_u64(&b, &v64), 0);
	assert_true(v64 == 0x0102030405060708ULL);
	assert_int_equal(qh_buf_get_u16(&b, &v16), 0);
	assert_int_equal(v16, 0xfffe);
	assert_int_equal(qh_buf_get_u32(&b, &v32), 0);
	assert_int_equal(v32, 0xfffefdfc);
	assert_int_equal(qh_buf_get_u64(&b, &v64), 0);
	assert_true(v64 == 0xfffefdfcfbfaf9f8ULL);
	assert_int_equal(qh_buf_get_cstring(&b, &s, 3), 0);
	assert_string_equal(s, "abc");
	free(s);
	assert_int_equal(qh_buf_len(&b), 0);

	/* The extremes. */
	assert_int_equal(qh_buf_put_u16(&b, 0), 0);
	assert_int_equal(qh_buf_put_u32(&b, 0), 0);
	assert_int_equal(qh_buf_put_u64(&b, 0), 0);
	assert_buf_bytes(&b, zero, sizeof(zero));
	qh_buf_reset(&b);
	assert_int_equal(qh_buf_put_u16(&b, UINT16_MAX), 0);
	assert_int_equal(qh_buf_put_u32(&b, UINT32_MAX), 0);
	assert_int_equal(qh_buf_put_u64(&b, UINT64_MAX), 0);
	assert_int_equal(qh_buf_get_u16(&b, &v16), 0);
	assert_int_equal(v16, UINT16_MAX);
	assert_int_equal(qh_buf_get_u32(&b, &v32), 0);
	assert_int_equal(v32, UINT32_MAX);
	assert_int_equal(qh_buf_get_u64(&b, &v64), 0);
	assert_true(v64 == UINT64_MAX);
	qh_buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_getters_consume),
		cmocka_unit_test(test_getter_values),
		cmocka_unit_test(test_string_getters_consume),
		cmocka_unit_test(test_string_maxlen),
		cmocka_unit_test(test_cstring_embedded_nul),
		cmocka_unit_test(test_max_enforced_by_putters),
		cmocka_unit_test(test_reserve_past_max),
		cmocka_unit_test(test_readonly_refuses_puts),
		cmocka_unit_test(test_consume_and_peek),
		cmocka_unit_test(test_compaction_keeps_data),
		cmocka_unit_test(test_integers_big_endian),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
