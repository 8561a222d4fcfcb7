/*
 * Fuzz target for the readers of desktop recordings: the FBS 001.000 block
 * reader (common/fbs.c) and the RFB stream decoder behind it
 * (common/rfbdec.c, rfbdec_zt.c), driven the way replay drives them.
 * Input starting with the FBS magic is read as a recording, block by
 * block into the decoder; any other input goes to the decoder as a raw
 * server stream, split in two pieces at a point the first byte chooses.
 *
 * Checked: readers return 0 or an error from their contract; a block
 * never points outside the input; an incomplete block consumes nothing;
 * after an error the decoder stays failed; the picture never exceeds the
 * pixel bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/fbs.h"
#include "qh/rfbdec.h"

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

#define MAX_PIXELS (512 * 512)

/* Feeds len bytes to the decoder through its stream buffer; returns feed's result. */
static int
feed(struct qh_rfbdec *dec, struct qh_buf *stream, const uint8_t *p, size_t len)
{
	const uint32_t *fb;
	int r, w, h;

	if (qh_buf_put(stream, p, len) != 0)
		return QH_ERR_TOO_LARGE;
	r = qh_rfbdec_feed(dec, stream);
	CHECK(r == 0 || r == QH_ERR_FORMAT || r == QH_ERR_PROTOCOL ||
	    r == QH_ERR_TOO_LARGE || r == QH_ERR_NOMEM);
	if (r != 0)
		CHECK(qh_rfbdec_why(dec)[0] != '\0');
	if ((fb = qh_rfbdec_frame(dec, &w, &h)) != NULL)
		CHECK(w > 0 && h > 0 && (size_t)w * h <= MAX_PIXELS);
	return r;
}

static void
recording(const uint8_t *data, size_t size, struct qh_rfbdec *dec, struct qh_buf *stream)
{
	struct qh_buf in;
	const uint8_t *p;
	size_t len, before;
	uint32_t ms;
	int r;

	qh_buf_init_ro(&in, data, size);
	CHECK(qh_fbs_get_header(&in) == 0);
	for (;;) {
		before = qh_buf_len(&in);
		r = qh_fbs_get_block(&in, &p, &len, &ms);
		if (r != 0) {
			CHECK(r == QH_ERR_INCOMPLETE || r == QH_ERR_TOO_LARGE ||
			    r == QH_ERR_FORMAT);
			CHECK(qh_buf_len(&in) == before);
			break;
		}
		CHECK(p >= data && len <= size && p + len <= data + size);
		CHECK(before - qh_buf_len(&in) == QH_FBS_BLOCK_SIZE(len));
		if (feed(dec, stream, p, len) != 0)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qh_rfbdec *dec;
	struct qh_buf stream;
	size_t cut;
	int r = 0;

	CHECK(qh_rfbdec_new(&dec, MAX_PIXELS) == 0);
	qh_buf_init(&stream, QH_RFBDEC_UNIT_MAX + QH_FBS_BLOCK_MAX);
	if (size >= QH_FBS_MAGIC_LEN &&
	    memcmp(data, QH_FBS_MAGIC, QH_FBS_MAGIC_LEN) == 0) {
		recording(data, size, dec, &stream);
	} else if (size > 0) {
		cut = size > 1 ? 1 + data[0] * (size - 1) / 256 : 1;
		r = feed(dec, &stream, data + 1, cut - 1);
		if (r == 0)
			r = feed(dec, &stream, data + cut, size - cut);
		/* A failed decoder stays failed. */
		if (r != 0)
			CHECK(feed(dec, &stream, (const uint8_t *)"RFB 003.008\n", 12) !=
			    0);
	}
	qh_buf_release(&stream);
	qh_rfbdec_free(dec);
	return 0;
}
