/*
 * Unit tests for common/fbs.c: FBS 001.000 blocks written and read back,
 * every prefix incomplete without consuming, a wrong magic, an oversized
 * length and non-zero padding refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/fbs.h"

/* FBS. */

static void
test_fbs_round_trip(void **state QH_UNUSED)
{
	struct qh_buf b, ro;
	const uint8_t *p;
	size_t len, i;
	uint32_t ms;

	qh_buf_init(&b, 1024);
	assert_int_equal(qh_fbs_put_header(&b), 0);
	assert_int_equal(qh_fbs_put_block(&b, "RFB 003.008\n", 12, 0), 0);
	assert_int_equal(qh_fbs_put_block(&b, "abcde", 5, 1500), 0);
	assert_int_equal(qh_fbs_put_block(&b, "", 0, 1), QH_ERR_ARG);
	assert_int_equal(qh_buf_len(&b), 12 + (4 + 12 + 4) + (4 + 8 + 4));
	/* Every prefix is incomplete and consumes nothing. */
	for (i = 0; i < qh_buf_len(&b); i++) {
		qh_buf_init_ro(&ro, qh_buf_ptr(&b), i);
		if (qh_fbs_get_header(&ro) == 0) {
			while (qh_fbs_get_block(&ro, &p, &len, &ms) == 0)
				;
			assert_int_equal(qh_fbs_get_block(&ro, &p, &len, &ms),
			    QH_ERR_INCOMPLETE);
		} else
			assert_int_equal(qh_buf_len(&ro), i);
	}
	qh_buf_init_ro(&ro, qh_buf_ptr(&b), qh_buf_len(&b));
	assert_int_equal(qh_fbs_get_header(&ro), 0);
	assert_int_equal(qh_fbs_get_block(&ro, &p, &len, &ms), 0);
	assert_int_equal(len, 12);
	assert_int_equal(ms, 0);
	assert_int_equal(qh_fbs_get_block(&ro, &p, &len, &ms), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(p, "abcde", 5);
	assert_int_equal(ms, 1500);
	assert_int_equal(qh_buf_len(&ro), 0);
	qh_buf_release(&b);

	qh_buf_init_ro(&ro, "FBS 001.001\n", 12);
	assert_int_equal(qh_fbs_get_header(&ro), QH_ERR_FORMAT);
	qh_buf_init_ro(&ro, "\x01\x00\x00\x01", 4);
	assert_int_equal(qh_fbs_get_block(&ro, &p, &len, &ms), QH_ERR_TOO_LARGE);
	qh_buf_init_ro(&ro,
	    "\0\0\0\x01"
	    "a\x01\0\0"
	    "\0\0\0\0",
	    12);
	assert_int_equal(qh_fbs_get_block(&ro, &p, &len, &ms), QH_ERR_FORMAT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fbs_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
