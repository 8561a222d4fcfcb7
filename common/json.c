/*
 * JSON output: string escaping and a few helpers for objects.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qh/err.h"
#include "qh/json.h"

int
qh_json_raw(struct qh_buf *b, const char *text)
{
	return qh_buf_put(b, text, strlen(text));
}

int
qh_json_str(struct qh_buf *b, const char *s)
{
	const unsigned char *p;
	char esc[8];
	int r;

	if (s == NULL)
		return qh_json_raw(b, "null");
	if ((r = qh_buf_put_u8(b, '"')) != 0)
		return r;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		const char *rep = NULL;

		switch (*p) {
		case '"':
			rep = "\\\"";
			break;
		case '\\':
			rep = "\\\\";
			break;
		case '\n':
			rep = "\\n";
			break;
		case '\r':
			rep = "\\r";
			break;
		case '\t':
			rep = "\\t";
			break;
		case '\b':
			rep = "\\b";
			break;
		case '\f':
			rep = "\\f";
			break;
		default:
			if (*p < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				rep = esc;
			}
		}
		r = rep != NULL ? qh_json_raw(b, rep) : qh_buf_put_u8(b, *p);
		if (r != 0)
			return r;
	}
	return qh_buf_put_u8(b, '"');
}

int
qh_json_kv_str(struct qh_buf *b, const char *key, const char *s)
{
	int r;

	if ((r = qh_json_str(b, key)) != 0 || (r = qh_buf_put_u8(b, ':')) != 0)
		return r;
	return qh_json_str(b, s);
}

int
qh_json_kv_int(struct qh_buf *b, const char *key, int64_t v)
{
	char num[32];
	int r;

	if ((r = qh_json_str(b, key)) != 0 || (r = qh_buf_put_u8(b, ':')) != 0)
		return r;
	snprintf(num, sizeof(num), "%" PRId64, v);
	return qh_json_raw(b, num);
}
