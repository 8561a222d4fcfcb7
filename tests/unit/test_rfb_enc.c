/*
 * Unit tests for the agent's RFB server, update side (agent/rfb_plan.c,
 * rfb_enc.c, rfb_zrle.c) against the recording decoder (common/rfbdec*.c):
 * updates only when asked for and coalesced; pixel formats of 8, 16 and 32
 * bpp in both byte orders; a round trip of every encoding (Raw, ZRLE,
 * Tight fill/basic/JPEG, CopyRect for a scroll, Cursor, PointerPos,
 * DesktopSize) that must give back the source frame, through the stream
 * and through the recording tap, with output pulled through a tiny buffer
 * as well as a large one.
 */
#include "qh/compat.h"
#include "rfbtest.h"

/* Updates and encodings. */

static void
test_updates_only_on_request(void **state QH_UNUSED)
{
	uint32_t *a = image(P_TEXT, W, H, 0), *b = image(P_TEXT, W, H, 1);
	struct rfb_frame f = { b, W, H, W };
	struct rfb_stats st;
	struct tc t;

	tc_init(&t);
	tc_connect(&t, a, W, H);
	assert_int_equal(rfb_want_frame(t.r), 0);
	tc_frame(&t, a, W, H, 0);
	assert_frame(t.dec, a, W, H,
	    &(struct qh_rfb_pf){ 32, 24, 0, 1, { 255, 255, 255 }, { 16, 8, 0 } }, 0);
	/* A new frame without a request: nothing goes out. */
	assert_int_equal(rfb_set_frame(t.r, &f, NULL, 0), 0);
	tc_pump(&t);
	rfb_get_stats(t.r, &st);
	assert_int_equal(st.updates, 1);
	/* An incremental request with nothing changed waits for a change. */
	f.px = a;
	assert_int_equal(tc_request(&t, 1, 0, 0, W, H), 0);
	assert_int_equal(rfb_set_frame(t.r, &f, NULL, 0), 0);
	tc_pump(&t);
	rfb_get_stats(t.r, &st);
	assert_int_equal(st.updates, 1);
	assert_int_equal(rfb_want_frame(t.r), 1);
	/* Frames coalesce: only the newest is sent. */
	f.px = b;
	assert_int_equal(rfb_set_frame(t.r, &f, NULL, 0), 0);
	tc_pump(&t);
	rfb_get_stats(t.r, &st);
	assert_int_equal(st.updates, 2);
	assert_frame(t.dec, b, W, H,
	    &(struct qh_rfb_pf){ 32, 24, 0, 1, { 255, 255, 255 }, { 16, 8, 0 } }, 0);
	tc_free(&t);
	free(a);
	free(b);
}

/* Runs frames of every pattern through one encoding and pixel format. */
static void
round_trip(int32_t enc, int quality, const struct qh_rfb_pf *pf, size_t outmax,
    int tolerance)
{
	int32_t encs[4] = { enc, QH_RFB_ENC_COPYRECT };
	struct rfb_stats st;
	enum pattern p;
	uint32_t *px;
	struct tc t;
	int n = 2, seed;

	if (quality >= 0)
		encs[n++] = QH_RFB_ENC_QUALITY0 + quality;
	tc_init(&t);
	t.outmax = outmax;
	px = image(P_BANDS, W, H, 0);
	tc_connect(&t, px, W, H);
	free(px);
	if (pf != NULL) {
		assert_int_equal(tc_pixelformat(&t, pf), 0);
		t.raw_format = 0;
	}
	assert_int_equal(tc_encodings(&t, encs, n), 0);
	for (seed = 0; seed < 3; seed++)
		for (p = P_TEXT; p <= P_FLAT; p++) {
			px = image(p, W, H, (uint32_t)seed);
			tc_frame(&t, px, W, H, seed > 0);
			if (pf == NULL || qh_rfb_pf_valid(pf)) {
				struct qh_rfb_pf native;

				qh_rfb_pf_native(&native);
				/* The tap carries the client's format; the stream the
				 * first. */
				assert_frame(t.tapdec, px, W, H,
				    pf != NULL ? pf : &native, tolerance);
				if (pf == NULL)
					assert_frame(t.dec, px, W, H, &native, tolerance);
			}
			free(px);
		}
	/* Every form of the encoding was used. */
	rfb_get_stats(t.r, &st);
	if (enc == QH_RFB_ENC_TIGHT) {
		assert_true(st.tight_fill > 0);
		assert_true(st.tight_palette > 0);
		assert_true(quality < 0 ? st.tight_basic > 0 : st.tight_jpeg > 0);
	}
	assert_true(enc != QH_RFB_ENC_ZRLE || st.zrle > 0);
	assert_true(enc != QH_RFB_ENC_RAW || st.raw > 0);
	tc_free(&t);
}

static void
test_round_trip_raw(void **state QH_UNUSED)
{
	round_trip(QH_RFB_ENC_RAW, -1, NULL, 1 << 30, 0);
	round_trip(QH_RFB_ENC_RAW, -1, NULL, 7, 0);
}

static void
test_round_trip_zrle(void **state QH_UNUSED)
{
	round_trip(QH_RFB_ENC_ZRLE, -1, NULL, 1 << 30, 0);
	round_trip(QH_RFB_ENC_ZRLE, -1, NULL, 100, 0);
}

static void
test_round_trip_tight(void **state QH_UNUSED)
{
	round_trip(QH_RFB_ENC_TIGHT, -1, NULL, 1 << 30, 0);
	round_trip(QH_RFB_ENC_TIGHT, -1, NULL, 33, 0);
}

static void
test_round_trip_tight_jpeg(void **state QH_UNUSED)
{
	struct rfb_stats st;

	/* JPEG is lossy: a quality of 9 stays within a few levels per channel. */
	round_trip(QH_RFB_ENC_TIGHT, 9, NULL, 1 << 30, 40);
	round_trip(QH_RFB_ENC_TIGHT, 0, NULL, 1 << 30, 255);
	(void)st;
}

static void
test_pixel_formats(void **state QH_UNUSED)
{
	static const struct qh_rfb_pf pfs[] = {
		{ 32, 24, 1, 1, { 255, 255, 255 }, { 16, 8, 0 } }, /* big-endian XRGB */
		{ 32, 24, 0, 1, { 255, 255, 255 }, { 0, 8, 16 } }, /* XBGR */
		{ 32, 24, 1, 1, { 255, 255, 255 },
		    { 24, 16, 8 } },				/* RGBX: colour up top */
		{ 16, 16, 0, 1, { 31, 63, 31 }, { 11, 5, 0 } }, /* RGB565 */
		{ 16, 16, 1, 1, { 31, 63, 31 }, { 11, 5, 0 } },
		{ 16, 15, 0, 1, { 31, 31, 31 }, { 10, 5, 0 } }, /* RGB555 */
		{ 8, 8, 0, 1, { 7, 7, 3 }, { 0, 3, 6 } },	/* BGR233 */
		{ 8, 6, 0, 1, { 3, 3, 3 }, { 4, 2, 0 } },
	};
	size_t i;

	for (i = 0; i < sizeof(pfs) / sizeof(pfs[0]); i++) {
		assert_true(qh_rfb_pf_valid(&pfs[i]));
		round_trip(QH_RFB_ENC_RAW, -1, &pfs[i], 1 << 30, 0);
		round_trip(QH_RFB_ENC_ZRLE, -1, &pfs[i], 1 << 30, 0);
		round_trip(QH_RFB_ENC_TIGHT, -1, &pfs[i], 1 << 30, 0);
	}
}

/* A terminal scrolling by one 13-pixel line goes out as one CopyRect. */
static void
test_scroll_copyrect(void **state QH_UNUSED)
{
	static const int32_t encs[] = { QH_RFB_ENC_ZRLE, QH_RFB_ENC_COPYRECT };
	uint32_t *a = image(P_TEXT, W, H, 0), *b = calloc(W * H, 4);
	struct qh_rfb_pf native;
	struct rfb_stats st;
	uint64_t bytes;
	struct tc t;
	int y;

	/* b: a's rows 13.. moved up, a new line at the bottom, a fixed border. */
	for (y = 0; y < H; y++)
		memcpy(b + (size_t)y * W, a + (size_t)(y + 13 < H ? y + 13 : y) * W,
		    W * 4);
	for (y = H - 13; y < H; y++)
		memset(b + (size_t)y * W + 20, 0x40, 100 * 4);
	for (y = 0; y < H; y++)
		b[(size_t)y * W] = a[(size_t)y * W] = 0x0000ff;
	qh_rfb_pf_native(&native);
	tc_init(&t);
	tc_connect(&t, a, W, H);
	assert_int_equal(tc_encodings(&t, encs, 2), 0);
	tc_frame(&t, a, W, H, 0);
	rfb_get_stats(t.r, &st);
	bytes = st.bytes;
	tc_frame(&t, b, W, H, 1);
	rfb_get_stats(t.r, &st);
	assert_int_equal(st.copyrects, 1);
	assert_frame(t.dec, b, W, H, &native, 0);
	assert_frame(t.tapdec, b, W, H, &native, 0);
	/* The copy plus the new line cost far less than the screen did. */
	assert_true(st.bytes - bytes < (bytes - 64) / 3);
	tc_free(&t);
	free(a);
	free(b);
}

static void
test_cursor_and_pointer(void **state QH_UNUSED)
{
	static const int32_t encs[] = { QH_RFB_ENC_RAW, QH_RFB_ENC_CURSOR,
		QH_RFB_ENC_POINTERPOS };
	uint32_t shape[12 * 16], *px = image(P_BANDS, W, H, 0), *copy;
	struct rfb_cursor c = { shape, 12, 16, 2, 3, 7 };
	struct tc t;
	int i, w, h;

	for (i = 0; i < 12 * 16; i++)
		shape[i] = (i % 12 < 6 ? 0xff000000U : 0) | 0x00ff00;
	tc_init(&t);
	tc_connect(&t, px, W, H);
	assert_int_equal(rfb_cursor_in_frame(t.r), 1);
	assert_int_equal(tc_encodings(&t, encs, 3), 0);
	assert_int_equal(rfb_cursor_in_frame(t.r), 0);
	rfb_set_cursor(t.r, &c);
	rfb_set_pointer(t.r, 50, 60);
	tc_frame(&t, px, W, H, 0);
	copy = malloc(W * H * 4);
	memcpy(copy, qh_rfbdec_frame(t.dec, &w, &h), W * H * 4);
	assert_int_equal(qh_rfbdec_paint_cursor(t.dec, copy, W, H), 1);
	/* The hotspot lands on the pointer; only the opaque half is painted. */
	assert_int_equal(copy[60 * W + 50] & 0xffffff, 0x00ff00);
	assert_int_equal(copy[(60 - 3) * W + (50 - 2 + 7)],
	    px[(60 - 3) * W + (50 - 2 + 7)]);
	/* The same serial is not sent again; a new position is, alone. */
	rfb_set_cursor(t.r, &c);
	rfb_set_pointer(t.r, 51, 60);
	tc_frame(&t, px, W, H, 1);
	assert_int_equal(qh_rfbdec_updates(t.dec), 2);
	tc_free(&t);
	free(px);
	free(copy);
}

static void
test_desktop_size(void **state QH_UNUSED)
{
	static const int32_t encs[] = { QH_RFB_ENC_TIGHT, QH_RFB_ENC_DESKTOPSIZE };
	uint32_t *a = image(P_NOISE, W, H, 0), *b = image(P_TEXT, 150, 120, 0);
	struct rfb_frame f = { b, 150, 120, 150 };
	struct qh_rfb_pf native;
	struct tc t;
	int w, h;

	qh_rfb_pf_native(&native);
	tc_init(&t);
	tc_connect(&t, a, W, H);
	assert_int_equal(tc_encodings(&t, encs, 2), 0);
	tc_frame(&t, a, W, H, 0);
	assert_int_equal(tc_request(&t, 1, 0, 0, W, H), 0);
	assert_int_equal(rfb_set_frame(t.r, &f, NULL, 0), 0);
	tc_pump(&t);
	(void)qh_rfbdec_frame(t.dec, &w, &h);
	assert_int_equal(w, 150);
	assert_int_equal(h, 120);
	/* Everything is sent again at the new size. */
	tc_frame(&t, b, 150, 120, 1);
	assert_frame(t.dec, b, 150, 120, &native, 0);
	tc_free(&t);

	/* A client that cannot resize is told goodbye instead. */
	tc_init(&t);
	tc_connect(&t, a, W, H);
	tc_frame(&t, a, W, H, 0);
	assert_int_equal(tc_request(&t, 1, 0, 0, W, H), 0);
	assert_int_equal(rfb_set_frame(t.r, &f, NULL, 0), 0);
	assert_true(rfb_output(t.r, &t.out) < 0);
	assert_non_null(strstr(rfb_why(t.r), "cannot resize"));
	tc_free(&t);
	free(a);
	free(b);
}

/* A partial request gets only its area; the rest follows when asked. */
static void
test_partial_request(void **state QH_UNUSED)
{
	uint32_t *a = image(P_GRADIENT, W, H, 0);
	struct rfb_frame f = { a, W, H, W };
	struct qh_rfb_pf native;
	const uint32_t *got;
	struct tc t;
	int w, h;

	qh_rfb_pf_native(&native);
	tc_init(&t);
	tc_connect(&t, a, W, H);
	assert_int_equal(tc_request(&t, 1, 10, 20, 30, 40), 0);
	assert_int_equal(rfb_set_frame(t.r, &f, NULL, 0), 0);
	tc_pump(&t);
	got = qh_rfbdec_frame(t.dec, &w, &h);
	assert_int_equal(got[25 * W + 15], a[25 * W + 15]);
	assert_int_equal(got[100 * W + 200], 0);
	tc_frame(&t, a, W, H, 1);
	assert_frame(t.dec, a, W, H, &native, 0);
	tc_free(&t);
	free(a);
}

/* The tap starts over with a handshake when the client changes its format. */
static void
test_tap_format_change(void **state QH_UNUSED)
{
	static const struct qh_rfb_pf rgb565 = { 16, 16, 0, 1, { 31, 63, 31 },
		{ 11, 5, 0 } };
	uint32_t *a = image(P_GRADIENT, W, H, 0), *b = image(P_TEXT, W, H, 2);
	struct qh_rfb_pf native;
	struct tc t;

	qh_rfb_pf_native(&native);
	tc_init(&t);
	tc_connect(&t, a, W, H);
	tc_frame(&t, a, W, H, 0);
	assert_frame(t.tapdec, a, W, H, &native, 0);
	assert_int_equal(tc_pixelformat(&t, &rgb565), 0);
	t.raw_format = 0;
	tc_frame(&t, b, W, H, 0);
	assert_frame(t.tapdec, b, W, H, &rgb565, 0);
	assert_string_equal(qh_rfbdec_name(t.tapdec), "test desk");
	tc_free(&t);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_updates_only_on_request),
		cmocka_unit_test(test_round_trip_raw),
		cmocka_unit_test(test_round_trip_zrle),
		cmocka_unit_test(test_round_trip_tight),
		cmocka_unit_test(test_round_trip_tight_jpeg),
		cmocka_unit_test(test_pixel_formats),
		cmocka_unit_test(test_scroll_copyrect),
		cmocka_unit_test(test_cursor_and_pointer),
		cmocka_unit_test(test_desktop_size),
		cmocka_unit_test(test_partial_request),
		cmocka_unit_test(test_tap_format_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
