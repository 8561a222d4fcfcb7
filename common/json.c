/*
 * JSON output: the builder of qh/json.h (commas, nesting, the first error
 * kept) and its string escaping, which turns bytes that are not UTF-8 into
 * U+FFFD.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qh/err.h"
#include "qh/json.h"

#define BIT(d) ((uint32_t)1 << (d))

/*
 * Length of the valid UTF-8 sequence at p (n bytes available), or 0 when
 * it is not one: overlong forms, surrogates and values past U+10FFFF are
 * invalid (RFC 3629).
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Appends len bytes at s as a JSON string literal, quotes included. */
static int
put_string(struct qh_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	char esc[8];
	size_t n;

	(void)qh_buf_put_u8(b, '"');
	while (p < end) {
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
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				rep = esc;
			}
		}
		if (rep != NULL) {
			(void)qh_buf_put(b, rep, strlen(rep));
			p++;
		} else if ((n = utf8_seq(p, (size_t)(end - p))) == 0) {
			(void)qh_buf_put(b, "\xef\xbf\xbd", 3); /* U+FFFD */
			p++;
		} else if (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f) {
			/* A C1 control, escaped as C0 is: no terminal acts on it. */
			snprintf(esc, sizeof(esc), "\\u%04x", p[1]);
			(void)qh_buf_put(b, esc, strlen(esc));
			p += n;
		} else {
			(void)qh_buf_put(b, p, n);
			p += n;
		}
	}
	return qh_buf_put_u8(b, '"');
}

void
qh_json_init(struct qh_json *j, struct qh_buf *b)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
}

static void
fail(struct qh_json *j, int err)
{
	if (j->err == 0)
		j->err = err;
}

/* Places what goes before a value: a comma between array members. */
static int
value_begin(struct qh_json *j)
{
	int in_object = j->depth > 0 && (j->objects & BIT(j->depth));

	if (j->err != 0)
		return -1;
	if (in_object && !j->keyed) {
		fail(j, QH_ERR_INTERNAL); /* a value in an object needs a key */
		return -1;
	}
	if (j->depth == 0 && j->members & 1) {
		fail(j, QH_ERR_INTERNAL); /* one document, one value */
		return -1;
	}
	if (!in_object && j->members & BIT(j->depth))
		(void)qh_buf_put_u8(j->b, ',');
	j->members |= BIT(j->depth);
	j->keyed = 0;
	return 0;
}

static void
value_end(struct qh_json *j)
{
	if (j->err == 0 && qh_buf_error(j->b) != 0)
		fail(j, qh_buf_error(j->b));
}

static void
begin(struct qh_json *j, int object)
{
	if (value_begin(j) != 0)
		return;
	if (j->depth + 1 >= QH_JSON_DEPTH) {
		fail(j, QH_ERR_TOO_LARGE);
		return;
	}
	j->depth++;
	j->members &= ~BIT(j->depth);
	if (object)
		j->objects |= BIT(j->depth);
	else
		j->objects &= ~BIT(j->depth);
	(void)qh_buf_put_u8(j->b, object ? '{' : '[');
	value_end(j);
}

static void
end(struct qh_json *j, int object)
{
	if (j->err != 0)
		return;
	if (j->depth == 0 || j->keyed || !(j->objects & BIT(j->depth)) != !object) {
		fail(j, QH_ERR_INTERNAL);
		return;
	}
	j->depth--;
	(void)qh_buf_put_u8(j->b, object ? '}' : ']');
	value_end(j);
}

void
qh_json_begin_object(struct qh_json *j)
{
	begin(j, 1);
}

void
qh_json_end_object(struct qh_json *j)
{
	end(j, 1);
}

void
qh_json_begin_array(struct qh_json *j)
{
	begin(j, 0);
}

void
qh_json_end_array(struct qh_json *j)
{
	end(j, 0);
}

void
qh_json_key(struct qh_json *j, const char *key)
{
	if (j->err != 0)
		return;
	if (j->depth == 0 || !(j->objects & BIT(j->depth)) || j->keyed) {
		fail(j, QH_ERR_INTERNAL);
		return;
	}
	if (j->members & BIT(j->depth))
		(void)qh_buf_put_u8(j->b, ',');
	(void)put_string(j->b, key, strlen(key));
	(void)qh_buf_put_u8(j->b, ':');
	j->keyed = 1;
	value_end(j);
}

void
qh_json_strn(struct qh_json *j, const char *s, size_t len)
{
	if (value_begin(j) != 0)
		return;
	(void)put_string(j->b, s, len);
	value_end(j);
}

void
qh_json_str(struct qh_json *j, const char *s)
{
	if (s == NULL)
		qh_json_null(j);
	else
		qh_json_strn(j, s, strlen(s));
}

void
qh_json_raw(struct qh_json *j, const char *json, size_t len)
{
	if (value_begin(j) != 0)
		return;
	(void)qh_buf_put(j->b, json, len);
	value_end(j);
}

void
qh_json_int(struct qh_json *j, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	qh_json_raw(j, num, (size_t)n);
}

void
qh_json_bool(struct qh_json *j, int v)
{
	qh_json_raw(j, v ? "true" : "false", v ? 4 : 5);
}

void
qh_json_null(struct qh_json *j)
{
	qh_json_raw(j, "null", 4);
}

void
qh_json_kv_str(struct qh_json *j, const char *key, const char *s)
{
	qh_json_key(j, key);
	qh_json_str(j, s);
}

void
qh_json_kv_int(struct qh_json *j, const char *key, int64_t v)
{
	qh_json_key(j, key);
	qh_json_int(j, v);
}

void
qh_json_kv_bool(struct qh_json *j, const char *key, int v)
{
	qh_json_key(j, key);
	qh_json_bool(j, v);
}

void
qh_json_kv_null(struct qh_json *j, const char *key)
{
	qh_json_key(j, key);
	qh_json_null(j);
}

int
qh_json_error(const struct qh_json *j)
{
	return j->err;
}

int
qh_json_finish(struct qh_json *j)
{
	if (j->err == 0 && (j->depth != 0 || j->keyed))
		fail(j, QH_ERR_INTERNAL);
	return j->err;
}
