/*
 * Unit tests for the agent's RFB server (agent/rfb.c), protocol side: the
 * handshake's bytes for 3.8, 3.7 and 3.3 clients; each client message
 * whole, truncated (incomplete: nothing consumed) and invalid or oversized
 * (an error with a reason); input reaching the callbacks only with
 * control, held keys and buttons released when control ends; the
 * clipboard both ways only with control. Encodings: test_rfb_enc.c.
 */
#include "qh/compat.h"
#include "rfbtest.h"

/* Handshake. */

static void
test_handshake_38(void **state QH_UNUSED)
{
	static const uint8_t serverinit[] = { 0, 40, 0, 30, 32, 24, 0, 1, 0, 255, 0, 255,
		0, 255, 16, 8, 0, 0, 0, 0, 0, 0, 0, 9, 't', 'e', 's', 't', ' ', 'd', 'e',
		's', 'k' };
	uint32_t px[40 * 30] = { 0 };
	struct rfb_frame f = { px, 40, 30, 40 };
	struct tc t;

	tc_init(&t);
	assert_int_equal(rfb_output(t.r, &t.out), 0);
	assert_int_equal(qh_buf_len(&t.out), 12);
	assert_memory_equal(qh_buf_ptr(&t.out), "RFB 003.008\n", 12);
	qh_buf_reset(&t.out);
	assert_int_equal(rfb_want_frame(t.r), 0);
	assert_int_equal(tc_send(&t, "RFB 003.008\n", 12), 0);
	assert_int_equal(rfb_output(t.r, &t.out), 0);
	assert_int_equal(qh_buf_len(&t.out), 2);
	assert_memory_equal(qh_buf_ptr(&t.out), "\x01\x01", 2);
	qh_buf_reset(&t.out);
	assert_int_equal(tc_send(&t, "\x01", 1), 0);
	assert_int_equal(rfb_output(t.r, &t.out), 0);
	assert_memory_equal(qh_buf_ptr(&t.out), "\0\0\0\0", 4);
	qh_buf_reset(&t.out);
	assert_int_equal(tc_send(&t, "\x01", 1), 0);
	/* ServerInit waits for a frame, which tells the size. */
	assert_int_equal(rfb_output(t.r, &t.out), 0);
	assert_int_equal(qh_buf_len(&t.out), 0);
	assert_int_equal(rfb_want_frame(t.r), 1);
	assert_int_equal(rfb_set_frame(t.r, &f, NULL, 0), 0);
	assert_int_equal(rfb_output(t.r, &t.out), 0);
	assert_int_equal(qh_buf_len(&t.out), sizeof(serverinit));
	assert_memory_equal(qh_buf_ptr(&t.out), serverinit, sizeof(serverinit));
	/* No update without a request. */
	assert_int_equal(rfb_want_frame(t.r), 0);
	qh_buf_reset(&t.out);
	assert_int_equal(rfb_output(t.r, &t.out), 0);
	assert_int_equal(qh_buf_len(&t.out), 0);
	tc_free(&t);
}

static void
test_handshake_37_33(void **state QH_UNUSED)
{
	struct tc t;

	tc_init(&t);
	tc_pump(&t);
	qh_buf_reset(&t.out);
	assert_int_equal(tc_send(&t, "RFB 003.007\n\x01", 13), 0);
	assert_int_equal(rfb_output(t.r, &t.out), 0);
	/* 3.7: the types, and no SecurityResult for None. */
	assert_int_equal(qh_buf_len(&t.out), 2);
	tc_free(&t);

	tc_init(&t);
	tc_pump(&t);
	qh_buf_reset(&t.out);
	assert_int_equal(tc_send(&t, "RFB 003.003\n\x01", 13), 0);
	assert_int_equal(rfb_output(t.r, &t.out), 0);
	/* 3.3: the server's choice as a u32, then straight to ClientInit. */
	assert_int_equal(qh_buf_len(&t.out), 4);
	assert_memory_equal(qh_buf_ptr(&t.out), "\0\0\0\x01", 4);
	assert_int_equal(rfb_want_frame(t.r), 1);
	tc_free(&t);
}

static void
test_handshake_invalid(void **state QH_UNUSED)
{
	struct tc t;

	tc_init(&t);
	assert_int_equal(tc_send(&t, "RFB 003", 7), 0); /* incomplete, kept */
	assert_int_equal(qh_buf_len(&t.in), 7);
	assert_true(tc_send(&t, ".00x\n", 5) < 0);
	assert_non_null(strstr(rfb_why(t.r), "RFB"));
	tc_free(&t);

	tc_init(&t);
	assert_true(tc_send(&t, "HTTP/1.1 200", 12) < 0);
	tc_free(&t);

	tc_init(&t);
	assert_int_equal(tc_send(&t, "RFB 003.008\n", 12), 0);
	assert_true(tc_send(&t, "\x02", 1) < 0); /* VNC authentication: not offered */
	assert_non_null(strstr(rfb_why(t.r), "security type 2"));
	tc_free(&t);
}

/* Client messages. */

static void
test_truncated_messages_wait(void **state QH_UNUSED)
{
	static const uint8_t msgs[][20] = {
		{ 0, 0, 0, 0, 16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0 },
		{ 2, 0, 0, 2, 0, 0, 0, 16, 0, 0, 0, 0 },
		{ 3, 1, 0, 0, 0, 0, 0, 10, 0, 10 },
		{ 4, 1, 0, 0, 0, 0, 0, 0x61 },
		{ 5, 0, 0, 5, 0, 6 },
		{ 6, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c' },
	};
	static const size_t lens[] = { 20, 12, 10, 8, 6, 11 };
	uint32_t *px = image(P_BANDS, W, H, 1);
	size_t i, k;
	struct tc t;

	tc_init(&t);
	tc_connect(&t, px, W, H);
	rfb_set_control(t.r, 1);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* Every prefix is incomplete: nothing consumed, no error. */
		for (k = 0; k < lens[i]; k++) {
			assert_int_equal(tc_send(&t, &msgs[i][k], 1), 0);
			if (k + 1 < lens[i])
				assert_int_equal(qh_buf_len(&t.in), k + 1);
		}
		assert_int_equal(qh_buf_len(&t.in), 0);
	}
	assert_int_equal(t.nkeys, 1);
	assert_int_equal(t.keys[0], 0x61);
	assert_int_equal(t.npointer, 1);
	assert_int_equal(t.px, 5);
	assert_int_equal(t.py, 6);
	assert_int_equal(t.nclip, 1);
	assert_int_equal(t.cliplen, 3);
	tc_free(&t);
	free(px);
}

static void
test_invalid_messages(void **state QH_UNUSED)
{
	struct qh_rfb_pf pf;
	uint8_t big[4] = { 2, 0, 0x04, 0x01 }; /* SetEncodings of 1025 */
	uint8_t ext[8] = { 6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0 };
	uint32_t *px = image(P_BANDS, W, H, 1);
	struct tc t;

	tc_init(&t);
	tc_connect(&t, px, W, H);
	assert_true(tc_send(&t, "\x09", 1) < 0);
	assert_non_null(strstr(rfb_why(t.r), "type 9"));
	tc_free(&t);

	/* Too many encodings: refused from the header, before the list arrives. */
	tc_init(&t);
	tc_connect(&t, px, W, H);
	assert_true(tc_send(&t, big, sizeof(big)) < 0);
	assert_non_null(strstr(rfb_why(t.r), "1025"));
	tc_free(&t);

	tc_init(&t);
	tc_connect(&t, px, W, H);
	assert_true(tc_send(&t, ext, sizeof(ext)) < 0);
	tc_free(&t);

	/* Formats we do not serve: colour maps, 24 bpp, odd maxima, bits outside. */
	qh_rfb_pf_native(&pf);
	pf.true_colour = 0;
	tc_init(&t);
	tc_connect(&t, px, W, H);
	assert_true(tc_pixelformat(&t, &pf) < 0);
	assert_non_null(strstr(rfb_why(t.r), "SetPixelFormat"));
	tc_free(&t);
	qh_rfb_pf_native(&pf);
	pf.bpp = 24;
	assert_false(qh_rfb_pf_valid(&pf));
	qh_rfb_pf_native(&pf);
	pf.max[1] = 200;
	assert_false(qh_rfb_pf_valid(&pf));
	qh_rfb_pf_native(&pf);
	pf.shift[0] = 30;
	assert_false(qh_rfb_pf_valid(&pf));
	free(px);
}

static void
test_oversized_cut_text_dropped(void **state QH_UNUSED)
{
	uint8_t hdr[8] = { 6, 0, 0, 0 };
	uint8_t *text = malloc(RFB_CUT_MAX + 10);
	uint32_t *px = image(P_BANDS, W, H, 1);
	struct tc t;

	memset(text, 'x', RFB_CUT_MAX + 10);
	put_u32(hdr + 4, RFB_CUT_MAX + 10);
	tc_init(&t);
	tc_connect(&t, px, W, H);
	rfb_set_control(t.r, 1);
	assert_int_equal(tc_send(&t, hdr, 8), 0);
	/* Dropped as it arrives: the input never has to hold it. */
	assert_int_equal(tc_send(&t, text, 1000), 0);
	assert_int_equal(qh_buf_len(&t.in), 0);
	assert_int_equal(tc_send(&t, text, RFB_CUT_MAX + 10 - 1000), 0);
	assert_int_equal(tc_send(&t, "\x04\x01\0\0\0\0\0\x62", 8), 0);
	assert_int_equal(t.nclip, 0);
	assert_int_equal(t.nkeys, 1);
	assert_int_equal(t.keys[0], 0x62);
	tc_free(&t);
	free(text);
	free(px);
}

static void
test_control(void **state QH_UNUSED)
{
	static const uint8_t cut[] = { 6, 0, 0, 0, 0, 0, 0, 4, 'c', 0xe4, 'f', 0 };
	uint32_t *px = image(P_BANDS, W, H, 1);
	struct tc t;

	tc_init(&t);
	tc_connect(&t, px, W, H);
	/* Without control: parsed and dropped. */
	assert_int_equal(tc_send(&t, "\x04\x01\0\0\0\0\0\x61", 8), 0);
	assert_int_equal(tc_send(&t, "\x05\x01\0\x0a\0\x0b", 6), 0);
	assert_int_equal(tc_send(&t, cut, sizeof(cut)), 0);
	assert_int_equal(t.nkeys + t.npointer + t.nclip, 0);
	rfb_set_clipboard(t.r, "hello", 5);
	assert_int_equal(tc_request(&t, 1, 0, 0, W, H), 0);
	tc_pump(&t);
	qh_buf_reset(&t.out);

	/* With control: passed on; Latin-1 text arrives as UTF-8 without NULs. */
	rfb_set_control(t.r, 1);
	assert_int_equal(tc_send(&t, "\x04\x01\0\0\0\0\xff\xe1", 8),
	    0);							       /* Shift_L down */
	assert_int_equal(tc_send(&t, "\x04\x01\0\0\0\0\0\x41", 8), 0); /* A down */
	assert_int_equal(tc_send(&t, "\x04\0\0\0\0\0\0\x41", 8), 0);   /* A up */
	assert_int_equal(tc_send(&t, "\x05\x01\x01\x2c\0\x0b", 6),
	    0); /* x 300: clipped */
	assert_int_equal(tc_send(&t, cut, sizeof(cut)), 0);
	assert_int_equal(t.nkeys, 3);
	assert_int_equal(t.buttons, 1);
	assert_int_equal(t.px, W - 1);
	assert_int_equal(t.py, 11);
	assert_int_equal(t.cliplen, 4);
	assert_memory_equal(t.clip, "c\303\244f", 4);
	/* The customer's clipboard goes out as Latin-1 ("€" is not in it). */
	rfb_set_clipboard(t.r, "a\xc3\xa9\xe2\x82\xac", 6);
	tc_pump(&t);
	assert_int_equal(qh_buf_len(&t.out), 0); /* the decoder skipped it */

	/* Taking control back releases what the technician holds. */
	t.nkeys = 0;
	rfb_set_control(t.r, 0);
	assert_int_equal(t.nkeys, 1);
	assert_int_equal(t.keys[0], 0xffe1);
	assert_int_equal(t.downs[0], 0);
	assert_int_equal(t.buttons, 0);
	assert_int_equal(tc_send(&t, "\x04\x01\0\0\0\0\0\x61", 8), 0);
	assert_int_equal(t.nkeys, 1);
	tc_free(&t);
	free(px);
}

static void
test_clipboard_bytes(void **state QH_UNUSED)
{
	static const uint8_t want[] = { 3, 0, 0, 0, 0, 0, 0, 3, 'a', 0xe9, '?' };
	uint32_t *px = image(P_BANDS, W, H, 1);
	struct qh_buf out;
	struct tc t;

	tc_init(&t);
	tc_connect(&t, px, W, H);
	rfb_set_control(t.r, 1);
	rfb_set_clipboard(t.r, "a\xc3\xa9\xe2\x82\xac", 6);
	qh_buf_init(&out, 1024);
	assert_int_equal(rfb_output(t.r, &out), 0);
	assert_int_equal(qh_buf_len(&out), sizeof(want));
	assert_memory_equal(qh_buf_ptr(&out), want, sizeof(want));
	qh_buf_release(&out);
	tc_free(&t);
	free(px);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_38),
		cmocka_unit_test(test_handshake_37_33),
		cmocka_unit_test(test_handshake_invalid),
		cmocka_unit_test(test_truncated_messages_wait),
		cmocka_unit_test(test_invalid_messages),
		cmocka_unit_test(test_oversized_cut_text_dropped),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_clipboard_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
