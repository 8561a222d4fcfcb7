/*
 * Unit tests for the viewer's side of the RFB stream decoder
 * (qh_rfbdec_feed_client, common/rfbdec_client.c): a SetPixelFormat takes
 * effect at the next FramebufferUpdate, never inside the one being read;
 * a rectangle in an encoding the viewer never announced is refused once
 * the viewer's side is fed; a 3.3 viewer's handshake (no security list)
 * is followed; long clipboard text is skipped as it comes; garbage fails
 * the decoder as a whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "qh/compat.h"
#include "qh/buf.h"
#include "qh/err.h"
#include "qh/rfbdec.h"
#include "qh/rfbproto.h"

static struct qh_buf srv, cli;

static void
put_u16(struct qh_buf *b, unsigned v)
{
	assert_int_equal(qh_buf_put_u16(b, (uint16_t)v), 0);
}

static void
put_u32(struct qh_buf *b, uint32_t v)
{
	assert_int_equal(qh_buf_put_u32(b, v), 0);
}

/* The server's handshake for a 2x1 screen in our native format. */
static void
server_hello(int minor)
{
	struct qh_rfb_pf pf;

	assert_int_equal(qh_buf_put(&srv, "RFB 003.008\n", 12), 0);
	if (minor == 3)
		put_u32(&srv, QH_RFB_SEC_NONE);
	else {
		assert_int_equal(qh_buf_put(&srv, "\x01\x01", 2), 0);
		put_u32(&srv, 0);
	}
	put_u16(&srv, 2);
	put_u16(&srv, 1);
	qh_rfb_pf_native(&pf);
	assert_int_equal(qh_rfb_pf_put(&srv, &pf), 0);
	assert_int_equal(qh_buf_put_string(&srv, "t", 1), 0);
}

/* An update of one rectangle header at 0,0 of w x h in enc. */
static void
update(int w, int h, int32_t enc)
{
	assert_int_equal(qh_buf_put(&srv, "\x00\x00\x00\x01", 4), 0);
	put_u16(&srv, 0);
	put_u16(&srv, 0);
	put_u16(&srv, (unsigned)w);
	put_u16(&srv, (unsigned)h);
	put_u32(&srv, (uint32_t)enc);
}

/* SetPixelFormat: 16 bpp big-endian 5-6-5. */
static void
client_pf16(void)
{
	struct qh_rfb_pf pf = { 16, 16, 1, 1, { 31, 63, 31 }, { 11, 5, 0 } };

	assert_int_equal(qh_buf_put(&cli, "\x00\x00\x00\x00", 4), 0);
	assert_int_equal(qh_rfb_pf_put(&cli, &pf), 0);
}

static int
setup(void **state QH_UNUSED)
{
	qh_buf_init(&srv, 1 << 20);
	qh_buf_init(&cli, 1 << 20);
	return 0;
}

static int
teardown(void **state QH_UNUSED)
{
	qh_buf_release(&srv);
	qh_buf_release(&cli);
	return 0;
}

static void
test_pixel_format_at_next_update(void **state QH_UNUSED)
{
	struct qh_rfbdec *d;
	const uint32_t *fb;
	int w, h;

	assert_int_equal(qh_rfbdec_new(&d, 100), 0);
	server_hello(8);
	assert_int_equal(qh_rfbdec_feed(d, &srv), 0);
	assert_int_equal(qh_buf_put(&cli, "RFB 003.008\n\x01\x01", 14), 0);
	assert_int_equal(qh_rfbdec_feed_client(d, &cli), 0);
	assert_int_equal(qh_buf_len(&cli), 0);
	/* The first update's header is read, its pixels not yet. */
	update(2, 1, QH_RFB_ENC_RAW);
	assert_int_equal(qh_rfbdec_feed(d, &srv), 0);
	/* The viewer changes formats while that update is being read... */
	client_pf16();
	assert_int_equal(qh_rfbdec_feed_client(d, &cli), 0);
	/* ... which still comes in 32 bpp, little-endian: B, G, R, X. */
	assert_int_equal(qh_buf_put(&srv, "\x00\x00\xff\x00\x00\xff\x00\x00", 8), 0);
	assert_int_equal(qh_rfbdec_feed(d, &srv), 0);
	assert_non_null(fb = qh_rfbdec_frame(d, &w, &h));
	assert_int_equal(fb[0] & 0xffffff, 0xff0000);
	assert_int_equal(fb[1] & 0xffffff, 0x00ff00);
	/* The next one is in the new format: 2 bytes a pixel, big-endian. */
	update(2, 1, QH_RFB_ENC_RAW);
	assert_int_equal(qh_buf_put(&srv, "\x00\x1f\xf8\x00", 4), 0);
	assert_int_equal(qh_rfbdec_feed(d, &srv), 0);
	assert_int_equal(qh_buf_len(&srv), 0);
	fb = qh_rfbdec_frame(d, &w, &h);
	assert_int_equal(fb[0] & 0xffffff, 0x0000ff);
	assert_int_equal(fb[1] & 0xffffff, 0xff0000);
	assert_int_equal(qh_rfbdec_updates(d), 2);
	assert_int_equal(qh_rfbdec_client_messages(d), 1);
	qh_rfbdec_free(d);
}

static void
test_unannounced_encoding(void **state QH_UNUSED)
{
	struct qh_rfbdec *d;

	assert_int_equal(qh_rfbdec_new(&d, 100), 0);
	server_hello(8);
	assert_int_equal(qh_rfbdec_feed(d, &srv), 0);
	/* The viewer asks for CopyRect but not for the Cursor. */
	assert_int_equal(qh_buf_put(&cli, "RFB 003.008\n\x01\x01\x02\x00\x00\x01", 18),
	    0);
	put_u32(&cli, QH_RFB_ENC_COPYRECT);
	assert_int_equal(qh_rfbdec_feed_client(d, &cli), 0);
	update(2, 1, QH_RFB_ENC_COPYRECT);
	put_u32(&srv, 0);
	assert_int_equal(qh_rfbdec_feed(d, &srv), 0);
	update(1, 1, QH_RFB_ENC_CURSOR);
	assert_int_equal(qh_rfbdec_feed(d, &srv), QH_ERR_PROTOCOL);
	assert_non_null(strstr(qh_rfbdec_why(d), "did not ask for"));
	/* Failed once, failed for good, on both sides. */
	assert_int_not_equal(qh_rfbdec_feed_client(d, &cli), 0);
	qh_rfbdec_free(d);
}

static void
test_viewer_33_and_cut_text(void **state QH_UNUSED)
{
	struct qh_rfbdec *d;
	uint8_t text[5000];
	const uint32_t *fb;
	int w, h;

	memset(text, 'x', sizeof(text));
	assert_int_equal(qh_rfbdec_new(&d, 100), 0);
	/* The server offers 3.8; the viewer answers 3.3: a u32 security type. */
	server_hello(3);
	assert_int_equal(qh_buf_put(&cli, "RFB 003.003\n", 12), 0);
	assert_int_equal(qh_rfbdec_feed_client(d, &cli), 0);
	assert_int_equal(qh_rfbdec_feed(d, &srv), 0);
	assert_int_equal(qh_buf_len(&srv), 0);
	assert_non_null(fb = qh_rfbdec_frame(d, &w, &h));
	assert_int_equal(w, 2);
	/* ClientInit, then clipboard text fed in two parts, then a request. */
	assert_int_equal(qh_buf_put(&cli, "\x01\x06\x00\x00\x00", 5), 0);
	put_u32(&cli, sizeof(text));
	assert_int_equal(qh_buf_put(&cli, text, 100), 0);
	assert_int_equal(qh_rfbdec_feed_client(d, &cli), 0);
	assert_int_equal(qh_buf_len(&cli), 0);
	assert_int_equal(qh_buf_put(&cli, text, sizeof(text) - 100), 0);
	assert_int_equal(qh_buf_put(&cli, "\x03\x01\0\0\0\0\0\x02\0\x01", 10), 0);
	assert_int_equal(qh_rfbdec_feed_client(d, &cli), 0);
	assert_int_equal(qh_buf_len(&cli), 0);
	assert_int_equal(qh_rfbdec_client_messages(d), 2);
	/* Not a viewer's message. */
	assert_int_equal(qh_buf_put(&cli, "\x09", 1), 0);
	assert_int_equal(qh_rfbdec_feed_client(d, &cli), QH_ERR_PROTOCOL);
	assert_int_not_equal(qh_rfbdec_feed(d, &srv), 0);
	qh_rfbdec_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pixel_format_at_next_update, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unannounced_encoding, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_viewer_33_and_cut_text, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
