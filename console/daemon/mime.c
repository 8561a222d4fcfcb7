/*
 * MIME pieces of the messages the daemon sends (mime.h): encoded words,
 * quoted-printable, base64 and the date, each bounded by the buffer it
 * writes into.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mime.h"

#define WORD_BYTES                                                                       \
	39 /* UTF-8 bytes per encoded word: 52 base64 + 12, so a line stays within 76 */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
put_str(struct qh_buf *b, const char *s)
{
	(void)qh_buf_put(b, s, strlen(s));
}

/* Base64 of len bytes at p, without line breaks. */
static void
put_b64(struct qh_buf *b, const unsigned char *p, size_t len)
{
	char q[4];
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		q[0] = b64[p[i] >> 2];
		q[1] = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		q[2] = b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		q[3] = b64[p[i + 2] & 63];
		(void)qh_buf_put(b, q, 4);
	}
	if (len - i == 1) {
		q[0] = b64[p[i] >> 2];
		q[1] = b64[(p[i] & 3) << 4];
		q[2] = q[3] = '=';
		(void)qh_buf_put(b, q, 4);
	} else if (len - i == 2) {
		q[0] = b64[p[i] >> 2];
		q[1] = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		q[2] = b64[(p[i + 1] & 15) << 2];
		q[3] = '=';
		(void)qh_buf_put(b, q, 4);
	}
}

void
mime_base64(struct qh_buf *b, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i, n;

	for (i = 0; i < len; i += 57) { /* 57 bytes: one line of 76 */
		n = len - i < 57 ? len - i : 57;
		put_b64(b, s + i, n);
		put_str(b, "\r\n");
	}
}

/* 1 if c may stand in a header value as it is. */
static int
plain_char(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

/* The value without control characters (DEL and C0; UTF-8 is kept), into out. */
static size_t
clean(const char *value, char *out, size_t len)
{
	size_t n = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)value; *p != '\0' && n + 1 < len; p++)
		if (*p >= 0x20 && *p != 0x7f)
			out[n++] = (char)*p;
		else if (*p == '\t' || *p == '\n')
			out[n++] = ' ';
	out[n] = '\0';
	return n;
}

/* Appends text (no controls) as encoded words, one per line. */
static void
put_words(struct qh_buf *b, const char *text, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = len - i < WORD_BYTES ? len - i : WORD_BYTES;
		/* Never end a word inside a UTF-8 sequence. */
		while (
		    n > 1 && i + n < len && ((unsigned char)text[i + n] & 0xc0) == 0x80)
			n--;
		if (i > 0)
			put_str(b, "\r\n ");
		put_str(b, "=?UTF-8?B?");
		put_b64(b, (const unsigned char *)text + i, n);
		put_str(b, "?=");
		i += n;
	}
}

void
mime_header_text(struct qh_buf *b, const char *name, const char *value)
{
	char text[1024];
	size_t len = clean(value, text, sizeof(text)), i;
	int plain = strlen(name) + len + 2 <= 78;

	for (i = 0; i < len && plain; i++)
		plain = plain_char((unsigned char)text[i]);
	/* "=?" in a plain value would read as an encoded word. */
	if (strstr(text, "=?") != NULL)
		plain = 0;
	put_str(b, name);
	put_str(b, ": ");
	if (plain)
		(void)qh_buf_put(b, text, len);
	else
		put_words(b, text, len);
	put_str(b, "\r\n");
}

void
mime_header_mailbox(struct qh_buf *b, const char *name, const char *display,
    const char *addr)
{
	char text[512];
	size_t len = clean(display != NULL ? display : "", text, sizeof(text)), i;
	int plain = len <= 60;

	for (i = 0; i < len && plain; i++)
		plain = plain_char((unsigned char)text[i]);
	put_str(b, name);
	put_str(b, ": ");
	if (len > 0 && plain) {
		put_str(b, "\"");
		for (i = 0; i < len; i++) {
			if (text[i] == '"' || text[i] == '\\')
				put_str(b, "\\");
			(void)qh_buf_put(b, text + i, 1);
		}
		put_str(b, "\" ");
	} else if (len > 0) {
		put_words(b, text, len);
		put_str(b, "\r\n ");
	}
	put_str(b, "<");
	put_str(b, addr);
	put_str(b, ">\r\n");
}

void
mime_qp(struct qh_buf *b, const char *text, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)text;
	char enc[3];
	size_t i, col = 0, need;
	int c, lone;

	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue; /* the LF ends the line */
		if (c == '\n') {
			put_str(b, "\r\n");
			col = 0;
			continue;
		}
		/* A space or tab at the end of a line is encoded, or it would be lost. */
		lone = (c == ' ' || c == '\t') &&
		    (i + 1 == len || p[i + 1] == '\n' || p[i + 1] == '\r');
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !lone) || (c == '.' && col == 0)) {
			enc[0] = (char)c;
			need = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			need = 3;
		}
		/* A leading dot is encoded: SMTP servers that do not unstuff stay safe.
		 */
		if (c == '.' && col == 0) {
			enc[0] = '=';
			enc[1] = '2';
			enc[2] = 'E';
			need = 3;
		}
		if (col + need > 75) {
			put_str(b, "=\r\n");
			col = 0;
		}
		(void)qh_buf_put(b, enc, need);
		col += need;
	}
	if (col > 0)
		put_str(b, "\r\n");
}

void
mime_date(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* The process runs in the C locale: English day and month names. */
	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 +0000");
}
