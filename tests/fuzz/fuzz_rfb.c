/*
 * Fuzz target for the RFB server's parsing of client bytes (agent/rfb.c),
 * driven as rfbsess drives it: the input is the client's byte stream,
 * fed in uneven pieces through a buffer of RFB_INPUT_MAX bytes; after
 * each piece the output is pulled through a small buffer and, whenever
 * the server wants one, a frame is given (two pictures in turn), so the
 * pixel formats and encodings the input asks for run through the
 * encoders too. Control is on.
 *
 * Checked: rfb_input returns 0 or a parse error with a reason, and never
 * leaves the buffer fuller than the largest message; rfb_output never
 * fails on valid input; the recording tap's stream always decodes
 * (common/rfbdec.c) to the screen's size. The same bytes fed at once
 * give the same callbacks and the same end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/rfbdec.h"
#include "rfb.h"

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

#define FW 100
#define FH 70

static uint32_t pics[2][FW * FH];
static unsigned long events;

static void
on_key(void *arg QH_UNUSED, int down, uint32_t keysym)
{
	events = events * 31 + keysym + (unsigned)down;
}

static void
on_pointer(void *arg QH_UNUSED, uint8_t buttons, int x, int y)
{
	CHECK(x >= 0 && x < FW && y >= 0 && y < FH);
	events = events * 31 + buttons + (unsigned)x + (unsigned)y;
}

static void
on_clipboard(void *arg QH_UNUSED, const char *text, size_t len)
{
	CHECK(len <= 2 * RFB_CUT_MAX);
	CHECK(memchr(text, 0, len) == NULL);
	events = events * 31 + len;
}

static const struct rfb_ops ops = { on_key, on_pointer, on_clipboard };

/* The recording tap's stream, decoded as it comes. */
struct tap {
	struct qh_buf buf;
	struct qh_rfbdec *dec;
};

static void
on_tap(void *arg, const uint8_t *p, size_t len)
{
	struct tap *t = arg;

	CHECK(qh_buf_put(&t->buf, p, len) == 0);
}

static void
make_pictures(void)
{
	int i;

	for (i = 0; i < FW * FH; i++) {
		pics[0][i] =
		    (uint32_t)((i % FW) * 2 << 16 | (i / FW) * 3 << 8 | (i & 0xff));
		pics[1][i] =
		    (i / 7 + i / FW) % 3 ? 0xffffff : 0x102030U * (uint32_t)(i % 5);
	}
}

/* Runs the server over data in pieces of the given sizes; returns rfb_input's end. */
static int
run(const uint8_t *data, size_t size, const size_t *pieces, size_t npieces,
    unsigned long *ev)
{
	struct rfb *r = rfb_new("fuzz", &ops, NULL);
	struct rfb_frame f = { NULL, FW, FH, FW };
	struct qh_buf in, out;
	struct tap t;
	size_t fed = 0, n, k = 0;
	int res = 0, frames = 0, rounds = 0, w, h;

	CHECK(r != NULL);
	CHECK(qh_rfbdec_new(&t.dec, FW * FH) == 0);
	qh_buf_init(&t.buf, 8 * 1024 * 1024);
	qh_buf_init(&in, RFB_INPUT_MAX);
	qh_buf_init(&out, 4096);
	rfb_set_tap(r, on_tap, &t);
	rfb_set_control(r, 1);
	events = 0;
	while (res == 0 && (fed < size || rounds++ < 3)) {
		n = pieces[k++ % npieces];
		n = n > size - fed ? size - fed : n;
		n = n > qh_buf_room(&in) ? qh_buf_room(&in) : n;
		CHECK(qh_buf_put(&in, data + fed, n) == 0);
		fed += n;
		res = rfb_input(r, &in);
		if (res != 0) {
			CHECK(res == QH_ERR_PROTOCOL || res == QH_ERR_FORMAT ||
			    res == QH_ERR_TOO_LARGE);
			CHECK(rfb_why(r)[0] != '\0');
			break;
		}
		/* What is left is one incomplete message, never a full buffer. */
		CHECK(qh_buf_room(&in) > 0);
		if (rfb_want_frame(r)) {
			f.px = pics[frames++ % 2];
			CHECK(rfb_set_frame(r, &f, NULL, 0) == 0);
		}
		do {
			qh_buf_reset(&out);
			CHECK(rfb_output(r, &out) == 0);
		} while (qh_buf_len(&out) > 0);
		if (qh_rfbdec_feed(t.dec, &t.buf) != 0) {
			fprintf(stderr, "tap: %s\n", qh_rfbdec_why(t.dec));
			CHECK(0);
		}
		CHECK(qh_buf_len(&t.buf) == 0);
	}
	if (qh_rfbdec_frame(t.dec, &w, &h) != NULL)
		CHECK(w == FW && h == FH);
	*ev = events;
	qh_buf_release(&in);
	qh_buf_release(&out);
	qh_buf_release(&t.buf);
	qh_rfbdec_free(t.dec);
	rfb_free(r);
	return res;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t pieces[] = { 1, 3, 12, 64, 1000, 7, 65536, 2 };
	static const size_t whole[] = { RFB_INPUT_MAX };
	unsigned long ev1, ev2;
	int r1, r2;

	if (pics[0][1] == 0)
		make_pictures();
	r1 = run(data, size, pieces, sizeof(pieces) / sizeof(pieces[0]), &ev1);
	r2 = run(data, size, whole, 1, &ev2);
	CHECK(r1 == r2);
	if (r1 == 0)
		CHECK(ev1 == ev2);
	return 0;
}
