/*
 * Fuzz target for the reader of the viewer's side of a desktop recording
 * (qh_rfbdec_feed_client in common/rfbdec_client.c), driven as a console
 * records a session and replay reads it: the input is a viewer's byte
 * stream. It goes in uneven pieces to the agent's RFB server (agent/rfb.c,
 * frames given whenever it wants one), and what the server read of it to
 * the decoder's viewer side; the server's real output goes to the
 * decoder's server side in between, in the order a console in the middle
 * would have seen it. What the server never read or refused is fed last.
 *
 * Checked: the viewer-side reader returns 0 or an error from its contract,
 * never leaves more than one message's bytes unread (cut text aside, which
 * it skips as it comes), and after an error every call fails; whatever the
 * server accepted of the viewer's bytes, the decoder accepts both halves (the
 * formats and encodings the viewer asks for included) and its picture has
 * the screen's size.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
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

#define FW 64
#define FH 40
/* Longest viewer message the reader keeps whole (SetEncodings of 1024). */
#define CLIENT_MSG_MAX (4 + 4 * 1024)

static uint32_t pics[2][FW * FH];

static void
make_pictures(void)
{
	int i;

	for (i = 0; i < FW * FH; i++) {
		pics[0][i] =
		    (uint32_t)((i % FW) * 4 << 16 | (i / FW) * 6 << 8 | (i & 0xff));
		pics[1][i] =
		    (i / 5 + i / FW) % 3 ? 0xffffff : 0x203040U * (uint32_t)(i % 7);
	}
}

/* Feeds the viewer's piece; returns the reader's result. */
static int
feed_client(struct qh_rfbdec *dec, struct qh_buf *cin, const uint8_t *p, size_t n)
{
	int r;

	CHECK(qh_buf_put(cin, p, n) == 0);
	r = qh_rfbdec_feed_client(dec, cin);
	CHECK(r == 0 || r == QH_ERR_FORMAT || r == QH_ERR_PROTOCOL ||
	    r == QH_ERR_TOO_LARGE);
	if (r == 0)
		CHECK(qh_buf_len(cin) < CLIENT_MSG_MAX);
	else
		CHECK(qh_rfbdec_why(dec)[0] != '\0');
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t pieces[] = { 1, 5, 20, 3, 300, 64, 2, 9000 };
	struct rfb_frame f = { NULL, FW, FH, FW };
	struct qh_buf in, out, cin, sin;
	struct qh_rfbdec *dec;
	struct rfb *r;
	size_t fed = 0, cfed = 0, held, n, k = 0;
	int res = 0, dres = 0, frames = 0, rounds = 0, w, h;

	if (pics[0][1] == 0)
		make_pictures();
	CHECK((r = rfb_new("fuzz", NULL, NULL)) != NULL);
	CHECK(qh_rfbdec_new(&dec, FW * FH) == 0);
	qh_buf_init(&in, RFB_INPUT_MAX);
	qh_buf_init(&out, 1 << 20);
	qh_buf_init(&cin, RFB_INPUT_MAX + 65536);
	qh_buf_init(&sin, 8 << 20);
	rfb_set_control(r, 1);
	for (;;) {
		/* The server's bytes first: it speaks first, and answers after. */
		do {
			qh_buf_reset(&out);
			CHECK(rfb_output(r, &out) == 0);
			CHECK(qh_buf_put(&sin, qh_buf_ptr(&out), qh_buf_len(&out)) == 0);
		} while (qh_buf_len(&out) > 0);
		if (res != 0 || dres != 0)
			break;
		if ((dres = qh_rfbdec_feed(dec, &sin)) != 0)
			fprintf(stderr, "decoder: %s\n", qh_rfbdec_why(dec));
		CHECK(dres == 0);
		if (fed == size && rounds++ == 3)
			break;
		n = pieces[k++ % (sizeof(pieces) / sizeof(pieces[0]))];
		n = n > size - fed ? size - fed : n;
		n = n > qh_buf_room(&in) ? qh_buf_room(&in) : n;
		CHECK(qh_buf_put(&in, data + fed, n) == 0);
		fed += n;
		held = qh_buf_len(&in);
		if ((res = rfb_input(r, &in)) != 0)
			break;
		/* What the server read, the viewer's reader takes too. */
		dres = feed_client(dec, &cin, data + cfed, held - qh_buf_len(&in));
		cfed += held - qh_buf_len(&in);
		CHECK(dres == 0);
		if (rfb_want_frame(r)) {
			f.px = pics[frames++ % 2];
			CHECK(rfb_set_frame(r, &f, NULL, 0) == 0);
		}
	}
	/* The rest (what the server refused, or never read) only has to be read safely.
	 */
	if (dres == 0 && cfed < size)
		dres = feed_client(dec, &cin, data + cfed, size - cfed);
	if (dres != 0) {
		/* A failed decoder stays failed. */
		CHECK(qh_rfbdec_feed_client(dec, &cin) != 0);
		CHECK(qh_rfbdec_feed(dec, &sin) != 0);
	} else if (qh_rfbdec_frame(dec, &w, &h) != NULL)
		CHECK(w == FW && h == FH);
	qh_buf_release(&in);
	qh_buf_release(&out);
	qh_buf_release(&cin);
	qh_buf_release(&sin);
	qh_rfbdec_free(dec);
	rfb_free(r);
	return 0;
}
