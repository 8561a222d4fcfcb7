/*
 * Encoding cost of the agent's RFB server at 1920x1080: for each encoding
 * (Raw, ZRLE, Tight basic, Tight with JPEG), the time to produce a full
 * frame and the bytes it takes, and the same for the update after a
 * terminal scrolled by one line (CopyRect plus the new line). The frames
 * are a terminal-like picture (dark glyph strokes on white) and a
 * photo-like one (gradients with noise), or a PPM given with --ppm (a real
 * screenshot, e.g. from tests/tools/rfbclient.py snap). Only the server's
 * own work is timed (planning and encoding); no I/O.
 *
 *   bench_rfb [--ppm FILE] [--rounds N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qh/buf.h"
#include "qh/rfbproto.h"
#include "rfb.h"

#define FW   1920
#define FH   1080
#define LINE 13

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t *
terminal(int seed)
{
	uint32_t *px = malloc((size_t)FW * FH * 4), cell;
	int x, y;

	for (y = 0; y < FH; y++)
		for (x = 0; x < FW; x++) {
			cell = ((uint32_t)(x / 7) * 7919U +
				   (uint32_t)((y + seed) / LINE) * 104729U) *
			    2654435761U;
			px[(size_t)y * FW + x] = (cell >> 29) < 5 &&
				(x + (y + seed) % LINE + (cell >> 20)) % 5 < 2 &&
				(y + seed) % LINE < 10
			    ? 0x202020
			    : 0xffffff;
		}
	return px;
}

static uint32_t *
photo(void)
{
	uint32_t *px = malloc((size_t)FW * FH * 4), s = 1;
	int x, y;

	for (y = 0; y < FH; y++)
		for (x = 0; x < FW; x++) {
			s = s * 1103515245 + 12345;
			px[(size_t)y * FW + x] =
			    (uint32_t)((x * 255 / FW + (s >> 28)) & 255) << 16 |
			    (uint32_t)((y * 255 / FH + (s >> 24)) & 255) << 8 |
			    (uint32_t)(((x + y) / 8 + (s >> 20)) & 255);
		}
	return px;
}

/* A 1920x1080 picture from a binary PPM (cropped or padded with black). */
static uint32_t *
load_ppm(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint32_t *px = calloc((size_t)FW * FH, 4);
	int w, h, max, x, y, c[3];

	if (f == NULL || fscanf(f, "P6 %d %d %d", &w, &h, &max) != 3 || fgetc(f) == EOF) {
		fprintf(stderr, "bench_rfb: %s is not a binary PPM\n", path);
		exit(2);
	}
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			c[0] = fgetc(f);
			c[1] = fgetc(f);
			c[2] = fgetc(f);
			if (x < FW && y < FH)
				px[(size_t)y * FW + x] = (uint32_t)c[0] << 16 |
				    (uint32_t)c[1] << 8 | (uint32_t)c[2];
		}
	fclose(f);
	return px;
}

/* The picture moved up by one line, with a new line at the bottom. */
static uint32_t *
scrolled(const uint32_t *a)
{
	uint32_t *b = malloc((size_t)FW * FH * 4);
	int y;

	memcpy(b, a + (size_t)LINE * FW, (size_t)(FH - LINE) * FW * 4);
	for (y = FH - LINE; y < FH; y++)
		memcpy(b + (size_t)y * FW, a + (size_t)((y * 7) % FH) * FW,
		    (size_t)FW * 4);
	return b;
}

static void
send(struct rfb *r, struct qh_buf *in, const void *p, size_t n)
{
	(void)qh_buf_put(in, p, n);
	if (rfb_input(r, in) != 0) {
		fprintf(stderr, "bench_rfb: %s\n", rfb_why(r));
		exit(1);
	}
}

/* Asks for an update of frame and times producing it; bytes into *bytes. */
static double
update(struct rfb *r, struct qh_buf *in, struct qh_buf *out, const uint32_t *px, int full,
    size_t *bytes)
{
	uint8_t req[10] = { 3, (uint8_t)!full, 0, 0, 0, 0, FW >> 8, FW & 255, FH >> 8,
		FH & 255 };
	struct rfb_frame f = { px, FW, FH, FW };
	double t0;

	send(r, in, req, sizeof(req));
	(void)rfb_set_frame(r, &f, NULL, 0);
	*bytes = 0;
	t0 = now_ms();
	do {
		qh_buf_reset(out);
		if (rfb_output(r, out) != 0) {
			fprintf(stderr, "bench_rfb: %s\n", rfb_why(r));
			exit(1);
		}
		*bytes += qh_buf_len(out);
	} while (qh_buf_len(out) > 0);
	return now_ms() - t0;
}

static void
bench(const char *what, const uint32_t *a, const uint32_t *b, int32_t enc, int quality,
    int rounds)
{
	uint8_t encs[16] = { 2, 0, 0, 2 };
	struct qh_buf in, out;
	struct rfb *r;
	double full = 0, scroll = 0;
	size_t fb = 0, sb = 0, n;
	int i, k = 4;

	qh_buf_init(&in, RFB_INPUT_MAX);
	qh_buf_init(&out, 4 * 1024 * 1024);
	for (i = 0; i < rounds; i++) {
		r = rfb_new("bench", NULL, NULL);
		rfb_set_control(r, 0);
		send(r, &in, "RFB 003.008\n\x01\x01", 14);
		k = 4;
		encs[k++] = 0, encs[k++] = 0, encs[k++] = 0, encs[k++] = (uint8_t)enc;
		encs[k++] = 0, encs[k++] = 0, encs[k++] = 0,
		encs[k++] = QH_RFB_ENC_COPYRECT;
		if (quality >= 0) {
			encs[3] = 3;
			encs[k++] = 0xff, encs[k++] = 0xff, encs[k++] = 0xff;
			encs[k++] = (uint8_t)(QH_RFB_ENC_QUALITY0 + quality);
		}
		send(r, &in, encs, (size_t)k);
		(void)update(r, &in, &out, a, 1, &n); /* ServerInit */
		full += update(r, &in, &out, a, 1, &fb);
		scroll += update(r, &in, &out, b, 0, &sb);
		rfb_free(r);
	}
	printf("rfb encode %-8s %-14s full frame %7.1f ms %9zu bytes, one-line scroll "
	       "%6.1f ms "
	       "%8zu bytes\n",
	    what,
	    enc == QH_RFB_ENC_RAW	 ? "raw"
		: enc == QH_RFB_ENC_ZRLE ? "zrle"
		: quality < 0		 ? "tight"
					 : "tight+jpeg",
	    full / rounds, fb, scroll / rounds, sb);
	qh_buf_release(&in);
	qh_buf_release(&out);
}

int
main(int argc, char **argv)
{
	const char *ppm = NULL;
	uint32_t *t, *ts, *p, *ps;
	int rounds = 5, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ppm") == 0 && i + 1 < argc)
			ppm = argv[++i];
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_rfb [--ppm FILE] [--rounds N]\n");
			return 2;
		}
	}
	t = ppm != NULL ? load_ppm(ppm) : terminal(0);
	ts = scrolled(t);
	p = photo();
	ps = scrolled(p);
	bench("terminal", t, ts, QH_RFB_ENC_RAW, -1, rounds);
	bench("terminal", t, ts, QH_RFB_ENC_ZRLE, -1, rounds);
	bench("terminal", t, ts, QH_RFB_ENC_TIGHT, -1, rounds);
	bench("terminal", t, ts, QH_RFB_ENC_TIGHT, 6, rounds);
	bench("photo", p, ps, QH_RFB_ENC_RAW, -1, rounds);
	bench("photo", p, ps, QH_RFB_ENC_ZRLE, -1, rounds);
	bench("photo", p, ps, QH_RFB_ENC_TIGHT, -1, rounds);
	bench("photo", p, ps, QH_RFB_ENC_TIGHT, 6, rounds);
	free(t);
	free(ts);
	free(p);
	free(ps);
	return 0;
}
