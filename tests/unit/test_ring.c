/*
 * Unit tests for common/ring.c, the bounded ring that holds bytes until a
 * write takes them: nothing is allocated before the first put, a put that
 * does not fit stores nothing, the queued bytes come back in order as one
 * or two spans across the wrap, spans handed to a write stay intact while
 * more is put behind them, the storage can be freed once the ring is
 * empty, and a long random run of puts and consumes matches a plain model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/ring.h"

/* Copies what the spans of r describe to out (at least qh_ring_len bytes). */
static size_t
flatten(const struct qh_ring *r, uint8_t *out)
{
	uv_buf_t b[2];
	size_t total, n = 0;
	unsigned int i, nb;

	nb = qh_ring_peek(r, b, &total);
	assert_true(nb <= 2);
	for (i = 0; i < nb; i++) {
		assert_true(b[i].len > 0);
		memcpy(out + n, b[i].base, b[i].len);
		n += b[i].len;
	}
	assert_int_equal(n, total);
	assert_int_equal(n, qh_ring_len(r));
	return n;
}

static void
test_empty(void **state QH_UNUSED)
{
	struct qh_ring r;
	uv_buf_t b[2];
	size_t total = 99;

	qh_ring_init(&r, 16);
	assert_null(r.d); /* white box: nothing allocated yet */
	assert_int_equal(qh_ring_len(&r), 0);
	assert_int_equal(qh_ring_room(&r), 16);
	assert_int_equal(qh_ring_peek(&r, b, &total), 0);
	assert_int_equal(total, 0);
	assert_int_equal(qh_ring_put(&r, "", 0), 0);
	assert_null(r.d); /* an empty put needs no storage */
	qh_ring_trim(&r);
	qh_ring_release(&r);
	assert_int_equal(qh_ring_len(&r), 0);
}

static void
test_bound(void **state QH_UNUSED)
{
	struct qh_ring r;
	uint8_t out[8];

	qh_ring_init(&r, 8);
	assert_int_equal(qh_ring_put(&r, "123456789", 9), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_ring_len(&r), 0);
	assert_int_equal(qh_ring_put(&r, "12345", 5), 0);
	assert_int_equal(qh_ring_put(&r, "6789", 4), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_ring_len(&r), 5); /* all or nothing */
	assert_int_equal(qh_ring_put(&r, "678", 3), 0);
	assert_int_equal(qh_ring_room(&r), 0);
	assert_int_equal(qh_ring_put(&r, "x", 1), QH_ERR_TOO_LARGE);
	assert_int_equal(flatten(&r, out), 8);
	assert_memory_equal(out, "12345678", 8);
	qh_ring_release(&r);
}

static void
test_wrap(void **state QH_UNUSED)
{
	struct qh_ring r;
	uv_buf_t b[2];
	uint8_t out[8];
	size_t total;

	qh_ring_init(&r, 8);
	assert_int_equal(qh_ring_put(&r, "abcdef", 6), 0);
	qh_ring_consume(&r, 4);
	assert_int_equal(qh_ring_put(&r, "ghijk", 5), 0); /* wraps */
	assert_int_equal(qh_ring_peek(&r, b, &total), 2);
	assert_int_equal(total, 7);
	assert_int_equal(b[0].len, 4);
	assert_memory_equal(b[0].base, "efgh", 4);
	assert_int_equal(b[1].len, 3);
	assert_memory_equal(b[1].base, "ijk", 3);
	/* A short write: part of the first span. */
	qh_ring_consume(&r, 3);
	assert_int_equal(flatten(&r, out), 4);
	assert_memory_equal(out, "hijk", 4);
	qh_ring_consume(&r, 4);
	assert_int_equal(qh_ring_len(&r), 0);
	/* Empty again: the next put is one span from the start. */
	assert_int_equal(qh_ring_put(&r, "12345678", 8), 0);
	assert_int_equal(qh_ring_peek(&r, b, &total), 1);
	assert_int_equal(b[0].len, 8);
	qh_ring_release(&r);
}

static void
test_in_flight(void **state QH_UNUSED)
{
	struct qh_ring r;
	uv_buf_t b[2], again[2];
	size_t total, total2;
	unsigned int nb;

	qh_ring_init(&r, 8);
	assert_int_equal(qh_ring_put(&r, "abcdef", 6), 0);
	qh_ring_consume(&r, 5);
	assert_int_equal(qh_ring_put(&r, "ghi", 3), 0);
	/* A write takes "fghi" (two spans); more arrives meanwhile. */
	nb = qh_ring_peek(&r, b, &total);
	assert_int_equal(nb, 2);
	assert_int_equal(total, 4);
	assert_int_equal(qh_ring_put(&r, "JKLM", 4), 0);
	assert_int_equal(qh_ring_put(&r, "N", 1), QH_ERR_TOO_LARGE);
	assert_memory_equal(b[0].base, "fgh", 3);
	assert_memory_equal(b[1].base, "i", 1);
	/* The write completes: the rest is what came meanwhile. */
	qh_ring_consume(&r, total);
	assert_int_equal(qh_ring_peek(&r, again, &total2), 1);
	assert_int_equal(total2, 4);
	assert_memory_equal(again[0].base, "JKLM", 4);
	qh_ring_release(&r);
}

static void
test_trim(void **state QH_UNUSED)
{
	struct qh_ring r;
	uint8_t out[4];

	qh_ring_init(&r, 4);
	assert_int_equal(qh_ring_put(&r, "ab", 2), 0);
	qh_ring_trim(&r); /* not empty: kept */
	assert_non_null(r.d);
	assert_int_equal(flatten(&r, out), 2);
	assert_memory_equal(out, "ab", 2);
	qh_ring_consume(&r, 2);
	qh_ring_trim(&r);
	assert_null(r.d);
	assert_int_equal(qh_ring_put(&r, "cdef", 4), 0); /* allocated again */
	assert_int_equal(flatten(&r, out), 4);
	assert_memory_equal(out, "cdef", 4);
	qh_ring_release(&r); /* drops what is queued */
	assert_null(r.d);
	assert_int_equal(qh_ring_len(&r), 0);
	assert_int_equal(qh_ring_room(&r), 4);
}

/* Random puts and consumes of random sizes against a plain byte array. */
static void
test_model(void **state QH_UNUSED)
{
	enum { CAP = 61, ROUNDS = 20000 };
	uint8_t model[CAP], out[CAP], chunk[CAP + 8];
	struct qh_ring r;
	size_t mlen = 0, n, i;
	unsigned int seed = 12345;
	uint8_t next = 0;
	int k;

	qh_ring_init(&r, CAP);
	for (k = 0; k < ROUNDS; k++) {
		n = (size_t)rand_r(&seed) % (CAP + 8);
		if (rand_r(&seed) % 2) {
			for (i = 0; i < n; i++)
				chunk[i] = next++;
			if (n > CAP - mlen) {
				assert_int_equal(qh_ring_put(&r, chunk, n),
				    QH_ERR_TOO_LARGE);
				next -= (uint8_t)n; /* not stored */
				continue;
			}
			assert_int_equal(qh_ring_put(&r, chunk, n), 0);
			memcpy(model + mlen, chunk, n);
			mlen += n;
		} else {
			if (n > mlen)
				n = mlen;
			qh_ring_consume(&r, n);
			memmove(model, model + n, mlen - n);
			mlen -= n;
			if (k % 7 == 0)
				qh_ring_trim(&r);
		}
		assert_int_equal(flatten(&r, out), mlen);
		assert_memory_equal(out, model, mlen);
		assert_int_equal(qh_ring_room(&r), CAP - mlen);
	}
	qh_ring_release(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_in_flight),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
