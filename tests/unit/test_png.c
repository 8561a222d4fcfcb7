/*
 * Unit tests for agent/png.c: the signature, chunks whose CRCs check, and
 * IDAT data that inflates and unfilters back to the source pixels.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "qh/compat.h"
#include "qh/png.h"
#include "qh/buf.h"
#include "qh/err.h"

/* A gradient picture. */
static uint32_t *
gradient(int w, int h)
{
	uint32_t *px = calloc((size_t)w * h, 4);
	int x, y;

	assert_non_null(px);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			px[(size_t)y * w + x] = (uint32_t)((x * 255 / w) << 16 |
			    (y * 255 / h) << 8 | ((x + y) & 255));
	return px;
}

/* PNG: chunks with valid CRCs whose image inflates back to the pixels. */
static void
test_png(void **state QH_UNUSED)
{
	uint32_t *px = gradient(37, 23);
	struct qh_buf b, ro, idat;
	uint8_t sig[8], type[4], *img, *row, prev;
	const uint8_t *data;
	uLongf outlen = (1 + 37 * 3) * 23;
	uint32_t len, crc;
	int x, y, c;

	qh_buf_init(&b, 1 << 20);
	qh_buf_init(&idat, 1 << 20);
	assert_int_equal(png_write(&b, px, 37, 23, 37), 0);
	qh_buf_init_ro(&ro, qh_buf_ptr(&b), qh_buf_len(&b));
	assert_int_equal(qh_buf_get(&ro, sig, 8), 0);
	assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
	while (qh_buf_len(&ro) > 0) {
		assert_int_equal(qh_buf_get_u32(&ro, &len), 0);
		data = qh_buf_ptr(&ro) + 4;
		assert_int_equal(qh_buf_get(&ro, type, 4), 0);
		assert_int_equal(qh_buf_consume(&ro, len), 0);
		assert_int_equal(qh_buf_get_u32(&ro, &crc), 0);
		assert_int_equal(crc, crc32(crc32(0, type, 4), data, len));
		if (memcmp(type, "IDAT", 4) == 0)
			assert_int_equal(qh_buf_put(&idat, data, len), 0);
	}
	img = malloc(outlen);
	assert_int_equal(uncompress(img, &outlen, qh_buf_ptr(&idat), qh_buf_len(&idat)),
	    Z_OK);
	assert_int_equal(outlen, (1 + 37 * 3) * 23);
	for (y = 0; y < 23; y++) {
		row = img + (size_t)y * (1 + 37 * 3);
		assert_true(row[0] <= 1);
		for (x = 0; x < 37 * 3; x++) {
			prev = x >= 3 && row[0] == 1 ? row[1 + x - 3] : 0;
			row[1 + x] = (uint8_t)(row[1 + x] + prev);
		}
		for (x = 0; x < 37; x++)
			for (c = 0; c < 3; c++)
				assert_int_equal(row[1 + 3 * x + c],
				    (px[y * 37 + x] >> (16 - 8 * c)) & 255);
	}
	assert_int_equal(png_write(&b, px, 0, 1, 1), QH_ERR_ARG);
	free(img);
	free(px);
	qh_buf_release(&b);
	qh_buf_release(&idat);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_png),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
