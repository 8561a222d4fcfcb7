/*
 * Join token encoding: base64url of three text lines, checked strictly;
 * and short join codes, as people read and type them.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "qh/addr.h"
#include "qh/buf.h"
#include "qh/err.h"
#include "qh/pki.h"
#include "qh/token.h"

#define TOKEN_PREFIX "qh1."

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64_value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

static int
is_hex(const char *s, size_t len)
{
	size_t i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
qh_token_encode(const struct qh_token *t, char *out, size_t outlen)
{
	char plain[QH_TOKEN_MAX];
	size_t len, i, o;
	int n;

	n = snprintf(plain, sizeof(plain), "%s\n%s\n%s", t->console, t->pin, t->secret);
	if (n < 0 || (size_t)n >= sizeof(plain))
		return QH_ERR_TOO_LARGE;
	len = (size_t)n;
	if (strlen(TOKEN_PREFIX) + (len + 2) / 3 * 4 + 1 > outlen)
		return QH_ERR_TOO_LARGE;
	memcpy(out, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
	o = strlen(TOKEN_PREFIX);
	for (i = 0; i < len; i += 3) {
		unsigned v = (unsigned)(unsigned char)plain[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)(unsigned char)plain[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)plain[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = b64[(v >> 6) & 63];
		if (i + 2 < len)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
	return 0;
}

int
qh_token_decode(const char *text, struct qh_token *t)
{
	char plain[QH_TOKEN_MAX], *line[3], *save = NULL, host[256];
	size_t tlen, i, o = 0, plen = strlen(TOKEN_PREFIX);
	unsigned acc = 0;
	int bits = 0, v, port;

	memset(t, 0, sizeof(*t));
	tlen = strnlen(text, QH_TOKEN_MAX + 1);
	if (tlen > QH_TOKEN_MAX || tlen <= plen || strncmp(text, TOKEN_PREFIX, plen) != 0)
		return QH_ERR_FORMAT;
	for (i = plen; i < tlen; i++) {
		if ((v = b64_value(text[i])) < 0)
			return QH_ERR_FORMAT;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= sizeof(plain))
				return QH_ERR_FORMAT;
			plain[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 6)
		return QH_ERR_FORMAT; /* a dangling sextet is never produced */
	plain[o] = '\0';
	if (memchr(plain, '\0', o) != NULL)
		return QH_ERR_FORMAT;
	line[0] = strtok_r(plain, "\n", &save);
	line[1] = strtok_r(NULL, "\n", &save);
	line[2] = strtok_r(NULL, "\n", &save);
	if (line[0] == NULL || line[1] == NULL || line[2] == NULL ||
	    strtok_r(NULL, "\n", &save) != NULL)
		return QH_ERR_FORMAT;
	if (strlen(line[0]) >= sizeof(t->console) ||
	    qh_split_hostport(line[0], host, sizeof(host), &port) != 0)
		return QH_ERR_FORMAT;
	if (!is_hex(line[1], 64) || !is_hex(line[2], QH_TOKEN_SECRET_LEN))
		return QH_ERR_FORMAT;
	memcpy(t->console, line[0], strlen(line[0]) + 1);
	memcpy(t->pin, line[1], 65);
	memcpy(t->secret, line[2], QH_TOKEN_SECRET_LEN + 1);
	return 0;
}

int
qh_token_new_secret(struct qh_token *t)
{
	unsigned char r[QH_TOKEN_SECRET_LEN / 2];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return QH_ERR_CRYPTO;
	for (i = 0; i < sizeof(r); i++)
		snprintf(t->secret + 2 * i, 3, "%02x", r[i]);
	return 0;
}

int
qh_short_new(char *out, size_t outlen)
{
	const size_t n = sizeof(QH_SHORT_ALPHABET) - 1;
	unsigned char r[64];
	size_t i, got = 0;

	if (outlen < QH_SHORT_LEN + 1)
		return QH_ERR_ARG;
	/* Rejection sampling: every character equally likely. */
	while (got < QH_SHORT_LEN) {
		if (RAND_bytes(r, sizeof(r)) != 1)
			return QH_ERR_CRYPTO;
		for (i = 0; i < sizeof(r) && got < QH_SHORT_LEN; i++)
			if (r[i] < 256 / n * n)
				out[got++] = QH_SHORT_ALPHABET[r[i] % n];
	}
	out[QH_SHORT_LEN] = '\0';
	return 0;
}

int
qh_short_parse(const char *text, char *out, size_t outlen)
{
	size_t i, o = 0, len = strnlen(text, QH_TOKEN_MAX + 1);
	char ch;

	if (outlen < QH_SHORT_LEN + 1 || len > QH_TOKEN_MAX)
		return QH_ERR_FORMAT;
	for (i = 0; i < len; i++) {
		ch = text[i];
		if (ch == ' ' || ch == '-')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch == '\0' || strchr(QH_SHORT_ALPHABET, ch) == NULL ||
		    o == QH_SHORT_LEN)
			return QH_ERR_FORMAT;
		out[o++] = ch;
	}
	if (o != QH_SHORT_LEN)
		return QH_ERR_FORMAT;
	out[o] = '\0';
	return 0;
}

int
qh_pin_parse(const char *text, char *out, size_t outlen)
{
	size_t i;
	char ch;

	if (outlen < 65 || strnlen(text, 65) != 64)
		return QH_ERR_FORMAT;
	for (i = 0; i < 64; i++) {
		ch = text[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return QH_ERR_FORMAT;
		out[i] = ch;
	}
	out[64] = '\0';
	return 0;
}
