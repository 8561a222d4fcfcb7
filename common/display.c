/*
 * The display filter (see qh/display.h): one rule, in step(), for what of
 * a foreign text a terminal may see; the entry points only say where the
 * shown form goes.
 */
#include <stdint.h>
#include <string.h>

#include "qh/display.h"
#include "qh/err.h"

/*
 * The length of the UTF-8 character at p (len > 0 bytes), or 0 when p
 * starts no valid one (RFC 3629: no overlong form, no surrogate, nothing
 * past U+10FFFF, no cut sequence). Sets *cp to its code point.
 */
static size_t
utf8_char(const uint8_t *p, size_t len, uint32_t *cp)
{
	uint32_t v, min;
	size_t n, k;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, v = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, v = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, v = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* 1 for a code point a terminal acts on: C0, DEL, C1. */
static int
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/*
 * The filter's one rule. Looks at the character (or invalid byte) at p,
 * len > 0 bytes, and says what to show for it: *show and *show_len (at
 * most what it consumed). Returns the bytes consumed, at least 1.
 */
static size_t
step(const uint8_t *p, size_t len, unsigned flags, const uint8_t **show, size_t *show_len)
{
	static const uint8_t space = ' ', lf = '\n', ask = '?';
	uint32_t cp = 0;
	size_t n = utf8_char(p, len, &cp);

	*show_len = 1;
	if (n == 0) {
		*show = &ask; /* one per invalid byte; decoding restarts after it */
		return 1;
	}
	if (!is_control(cp)) {
		*show = p;
		*show_len = n;
		return n;
	}
	if (cp == '\r' && len > 1 && p[1] == '\n') {
		*show = flags & QH_DISPLAY_LINES ? &lf : &space;
		return 2;
	}
	if (cp == '\n' || cp == '\t' || cp == '\r')
		*show = (flags & QH_DISPLAY_LINES) && cp != '\r' ? p : &space;
	else
		*show = &ask;
	return n;
}

int
qh_display_clean(const void *p, size_t len)
{
	const uint8_t *s = p;
	uint32_t cp;
	size_t i, n;

	for (i = 0; i < len; i += n)
		if ((n = utf8_char(s + i, len - i, &cp)) == 0 || is_control(cp))
			return 0;
	return 1;
}

int
qh_display_put(struct qh_buf *out, const void *p, size_t len, unsigned flags)
{
	const uint8_t *s = p, *show;
	size_t i = 0, n;
	int r;

	while (i < len) {
		i += step(s + i, len - i, flags, &show, &n);
		if ((r = qh_buf_put(out, show, n)) != 0)
			return r;
	}
	return qh_buf_error(out);
}

int
qh_display_write(FILE *f, const void *p, size_t len, unsigned flags)
{
	const uint8_t *s = p, *show;
	size_t i = 0, n, used, start = 0;

	/* Runs shown as they are go out in one piece. */
	while (i < len) {
		used = step(s + i, len - i, flags, &show, &n);
		if (show != s + i) {
			if (fwrite(s + start, 1, i - start, f) != i - start ||
			    fwrite(show, 1, n, f) != n)
				return QH_ERR_SYSTEM;
			start = i + used;
		}
		i += used;
	}
	if (fwrite(s + start, 1, len - start, f) != len - start)
		return QH_ERR_SYSTEM;
	return 0;
}

char *
qh_display_str(const char *s, char *out, size_t size, unsigned flags)
{
	const uint8_t *p = (const uint8_t *)s, *show;
	size_t len = s != NULL ? strlen(s) : 0, i = 0, o = 0, n, used;

	/* o never passes i, so out may be s: each step writes behind what it read. */
	while (i < len) {
		used = step(p + i, len - i, flags, &show, &n);
		if (o + n >= size)
			break;
		memmove(out + o, show, n);
		o += n;
		i += used;
	}
	out[o] = '\0';
	return out;
}
