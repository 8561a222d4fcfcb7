/*
 * The test client of the RFB server's unit tests (test_rfb.c,
 * test_rfb_enc.c): a struct tc drives an agent/rfb.c server with client
 * messages, pulls its output through a buffer of a chosen size, and
 * decodes both the stream and the recording tap with common/rfbdec.c; and
 * test pictures to send through it. Included by those files only.
 */
#ifndef QH_TEST_RFBTEST_H
#define QH_TEST_RFBTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/rfbdec.h"
#include "qh/rfbproto.h"
#include "rfb.h"

#define W 300
#define H 200

/* A client driving the server, with the decoder reading what it sends. */
struct tc {
	struct rfb *r;
	struct qh_buf in, out, tap;
	struct qh_rfbdec *dec, *tapdec;
	size_t outmax;	/* room given to each rfb_output call */
	int raw_format; /* the stream's own decoder can follow (native format) */
	uint32_t keys[64];
	int nkeys, downs[64];
	int buttons, px, py, npointer;
	char clip[1024];
	size_t cliplen;
	int nclip;
};

static void __attribute__((unused)) on_key(void *arg, int down, uint32_t keysym)
{
	struct tc *t = arg;

	if (t->nkeys < 64) {
		t->downs[t->nkeys] = down;
		t->keys[t->nkeys++] = keysym;
	}
}

static void __attribute__((unused)) on_pointer(void *arg, uint8_t buttons, int x, int y)
{
	struct tc *t = arg;

	t->buttons = buttons;
	t->px = x;
	t->py = y;
	t->npointer++;
}

static void __attribute__((unused)) on_clipboard(void *arg, const char *text, size_t len)
{
	struct tc *t = arg;

	t->cliplen = len < sizeof(t->clip) ? len : sizeof(t->clip);
	memcpy(t->clip, text, t->cliplen);
	t->nclip++;
}

static const struct rfb_ops ops = { on_key, on_pointer, on_clipboard };

static void __attribute__((unused)) on_tap(void *arg, const uint8_t *p, size_t len)
{
	struct tc *t = arg;

	assert_int_equal(qh_buf_put(&t->tap, p, len), 0);
}

static void __attribute__((unused)) tc_init(struct tc *t)
{
	memset(t, 0, sizeof(*t));
	t->r = rfb_new("test desk", &ops, t);
	assert_non_null(t->r);
	qh_buf_init(&t->in, RFB_INPUT_MAX);
	qh_buf_init(&t->out, 64 * 1024 * 1024);
	qh_buf_init(&t->tap, 64 * 1024 * 1024);
	assert_int_equal(qh_rfbdec_new(&t->dec, 1 << 22), 0);
	assert_int_equal(qh_rfbdec_new(&t->tapdec, 1 << 22), 0);
	rfb_set_tap(t->r, on_tap, t);
	t->outmax = 1 << 30;
	t->raw_format = 1;
}

static void __attribute__((unused)) tc_free(struct tc *t)
{
	rfb_free(t->r);
	qh_buf_release(&t->in);
	qh_buf_release(&t->out);
	qh_buf_release(&t->tap);
	qh_rfbdec_free(t->dec);
	qh_rfbdec_free(t->tapdec);
}

/* Sends client bytes; returns rfb_input's result. */
static int __attribute__((unused)) tc_send(struct tc *t, const void *p, size_t n)
{
	assert_int_equal(qh_buf_put(&t->in, p, n), 0);
	return rfb_input(t->r, &t->in);
}

/* Pulls everything out (t->outmax bytes per call) and decodes both streams. */
static void __attribute__((unused)) tc_pump(struct tc *t)
{
	struct qh_buf small;
	int r;

	do {
		qh_buf_init(&small, t->outmax);
		r = rfb_output(t->r, &small);
		assert_int_equal(r, 0);
		assert_int_equal(qh_buf_put(&t->out, qh_buf_ptr(&small),
				     qh_buf_len(&small)),
		    0);
		qh_buf_release(&small);
	} while (rfb_output_pending(t->r));
	if (!t->raw_format)
		qh_buf_reset(&t->out);
	else if (qh_rfbdec_feed(t->dec, &t->out) != 0)
		fail_msg("decoder: %s", qh_rfbdec_why(t->dec));
	if (qh_rfbdec_feed(t->tapdec, &t->tap) != 0)
		fail_msg("tap decoder: %s", qh_rfbdec_why(t->tapdec));
}

/* The server's version, then the client's side of a 3.8 handshake with a frame. */
static void __attribute__((unused))
tc_connect(struct tc *t, const uint32_t *px, int w, int h)
{
	struct rfb_frame f = { px, w, h, (size_t)w };

	tc_pump(t);
	assert_int_equal(tc_send(t, "RFB 003.008\n", 12), 0);
	assert_int_equal(tc_send(t, "\x01\x00", 2), 0);
	assert_int_equal(rfb_want_frame(t->r), 1);
	assert_int_equal(rfb_set_frame(t->r, &f, NULL, 0), 0);
	tc_pump(t);
}

static void __attribute__((unused)) put_u16(uint8_t *d, unsigned v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

static void __attribute__((unused)) put_u32(uint8_t *d, uint32_t v)
{
	put_u16(d, v >> 16);
	put_u16(d + 2, v & 0xffff);
}

static int __attribute__((unused)) tc_encodings(struct tc *t, const int32_t *e, int n)
{
	uint8_t m[4 + 4 * 64];
	int i;

	m[0] = QH_RFB_C_SETENCODINGS;
	m[1] = 0;
	put_u16(m + 2, (unsigned)n);
	for (i = 0; i < n; i++)
		put_u32(m + 4 + 4 * i, (uint32_t)e[i]);
	return tc_send(t, m, 4 + 4 * (size_t)n);
}

static int __attribute__((unused))
tc_request(struct tc *t, int incremental, int x, int y, int w, int h)
{
	uint8_t m[10] = { QH_RFB_C_UPDATEREQUEST, (uint8_t)incremental };

	put_u16(m + 2, (unsigned)x);
	put_u16(m + 4, (unsigned)y);
	put_u16(m + 6, (unsigned)w);
	put_u16(m + 8, (unsigned)h);
	return tc_send(t, m, sizeof(m));
}

static int __attribute__((unused))
tc_pixelformat(struct tc *t, const struct qh_rfb_pf *pf)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, 64);
	assert_int_equal(qh_buf_put(&b, "\0\0\0\0", 4), 0);
	assert_int_equal(qh_rfb_pf_put(&b, pf), 0);
	r = tc_send(t, qh_buf_ptr(&b), qh_buf_len(&b));
	qh_buf_release(&b);
	return r;
}

/* Sends a new frame and answers one request; the update must arrive whole. */
static void __attribute__((unused))
tc_frame(struct tc *t, const uint32_t *px, int w, int h, int incremental)
{
	struct rfb_frame f = { px, w, h, (size_t)w };
	uint64_t before = qh_rfbdec_updates(t->tapdec);

	assert_int_equal(tc_request(t, incremental, 0, 0, w, h), 0);
	assert_int_equal(rfb_want_frame(t->r), 1);
	assert_int_equal(rfb_set_frame(t->r, &f, NULL, 0), 0);
	tc_pump(t);
	assert_true(qh_rfbdec_updates(t->tapdec) > before);
}

/* Images. */

enum pattern { P_TEXT, P_GRADIENT, P_NOISE, P_BANDS, P_FLAT };

static uint32_t __attribute__((unused)) noise(uint32_t *s)
{
	*s = *s * 1103515245 + 12345;
	return *s >> 8;
}

/* A test picture; seed varies its content. */
static uint32_t *__attribute__((unused))
image(enum pattern p, int w, int h, uint32_t seed)
{
	uint32_t *px = calloc((size_t)w * h, 4), s = seed;
	int x, y;

	assert_non_null(px);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			uint32_t *v = &px[(size_t)y * w + x];

			switch (p) {
			case P_TEXT: { /* dark glyph-like strokes on white, 13-pixel lines
					*/
				uint32_t cell =
				    ((uint32_t)(x / 7) * 7919U +
					(uint32_t)(y / 13) * 104729U + seed * 31U) *
				    2654435761U;

				*v = (cell >> 29) < 3 &&
					(x + y % 13 + (cell >> 20)) % 5 < 2 && y % 13 < 10
				    ? 0x202020
				    : 0xffffff;
				break;
			}
			case P_GRADIENT:
				*v = (uint32_t)((x * 255 / w) << 16 | (y * 255 / h) << 8 |
				    ((x + y + seed) & 255));
				break;
			case P_NOISE:
				*v = noise(&s) & 0xffffff;
				break;
			case P_BANDS: /* few colours in runs: palettes and RLE */
				*v =
				    0x102030U * (uint32_t)(((x + seed) / 9 + y / 17) % 5);
				break;
			case P_FLAT: /* one colour but for a small square */
				*v = x > 40 && x < 50 && y > 40 && y < 50 ? 0xff0000
									  : 0x336699;
				break;
			}
		}
	return px;
}

/* The decoder's picture equals px as the pixel format can carry it. */
static void __attribute__((unused)) assert_frame(struct qh_rfbdec *d, const uint32_t *px,
    int w, int h, const struct qh_rfb_pf *pf, int tolerance)
{
	struct qh_rfb_conv c;
	const uint32_t *got;
	int gw, gh, i, k, diff, worst = 0;
	uint32_t want;

	qh_rfb_conv_init(&c, pf);
	got = qh_rfbdec_frame(d, &gw, &gh);
	assert_non_null(got);
	assert_int_equal(gw, w);
	assert_int_equal(gh, h);
	for (i = 0; i < w * h; i++) {
		want = qh_rfb_unpack(pf, qh_rfb_pack(&c, px[i]));
		for (k = 0; k < 24; k += 8) {
			diff = abs((int)((got[i] >> k) & 255) - (int)((want >> k) & 255));
			worst = diff > worst ? diff : worst;
		}
		if (worst > tolerance)
			fail_msg("pixel %d,%d: got %06x, want %06x", i % w, i / w, got[i],
			    want);
	}
}

#endif
