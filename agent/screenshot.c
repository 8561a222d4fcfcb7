/*
 * A picture of the customer's screen as a PNG file, through the same
 * capture backend the desktop uses (screen.h) and the platform's PNG
 * writer (plat_png_write_file: common/png.c, on Windows WIC): for
 * `qh-agent ticket --screenshot`. The primary monitor, whole, with the
 * pointer painted in where it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/png.h"
#include "platform.h"
#include "screen.h"
#include "screenshot.h"

/* Paints the pointer's shape (alpha-blended) at x, y minus its hotspot. */
static void
paint_pointer(uint32_t *px, int w, int h, const struct screen_cursor *c, int x, int y)
{
	uint32_t s, d, a, r, g, b;
	int i, j, X, Y;

	for (j = 0; j < c->h; j++)
		for (i = 0; i < c->w; i++) {
			X = x - c->hx + i;
			Y = y - c->hy + j;
			s = c->argb[(size_t)j * c->w + i];
			if (X < 0 || Y < 0 || X >= w || Y >= h || (a = s >> 24) == 0)
				continue;
			d = px[(size_t)Y * w + X];
			r = (((s >> 16) & 0xff) * a + ((d >> 16) & 0xff) * (255 - a)) /
			    255;
			g = (((s >> 8) & 0xff) * a + ((d >> 8) & 0xff) * (255 - a)) / 255;
			b = ((s & 0xff) * a + (d & 0xff) * (255 - a)) / 255;
			px[(size_t)Y * w + X] = r << 16 | g << 8 | b;
		}
}

int
screenshot_png(const char *path, int *wp, int *hp, char *why, size_t whylen)
{
	struct screen_damage d;
	struct screen_cursor c;
	struct screen *s = NULL;
	uint32_t *px = NULL;
	int w, h, x, y, r, tries;

	if ((r = screen_open(0, &s, why, whylen)) != 0)
		return r;
	for (tries = 0; tries < 3; tries++) {
		screen_size(s, &w, &h);
		free(px);
		if (w <= 0 || h <= 0 || w > PNG_SIZE_MAX || h > PNG_SIZE_MAX ||
		    (px = malloc((size_t)w * h * 4)) == NULL) {
			snprintf(why, whylen, "the screen (%dx%d) cannot be held", w, h);
			r = QH_ERR_NOMEM;
			goto out;
		}
		/* QH_ERR_AGAIN: the monitor changed size meanwhile; once more. */
		if ((r = screen_grab(s, px, w, h, (size_t)w, 1, NULL, 0, &d)) !=
		    QH_ERR_AGAIN)
			break;
	}
	if (r != 0) {
		snprintf(why, whylen, "the screen could not be captured");
		goto out;
	}
	memset(&c, 0, sizeof(c));
	if (screen_pointer(s, &x, &y, &c) == 0 && c.w > 0 && c.argb != NULL)
		paint_pointer(px, w, h, &c, x, y);
	if ((r = plat_png_write_file(path, px, w, h, (size_t)w)) != 0)
		snprintf(why, whylen, "%s: %s", path, qh_strerror(r));
	*wp = w;
	*hp = h;
out:
	free(px);
	screen_close(s);
	return r;
}
