/*
 * Strict JSON syntax checking (RFC 8259) for peer text we embed verbatim.
 * One pass over the input through an index that never passes len; the
 * nesting is a bounded array of container kinds, so hostile input costs
 * linear time and constant memory.
 */
#include "qh/err.h"
#include "qh/jsoncheck.h"
#include "qh/wire.h"

enum container {
	IN_ARRAY,
	IN_OBJECT,
};

struct scan {
	const uint8_t *p;
	size_t len;
	size_t i;		/* next byte; never more than len */
};

static int
peek(const struct scan *s)
{
	return s->i < s->len ? s->p[s->i] : -1;
}

static void
skip_ws(struct scan *s)
{
	while (s->i < s->len && (s->p[s->i] == ' ' || s->p[s->i] == '\t' ||
	    s->p[s->i] == '\n' || s->p[s->i] == '\r'))
		s->i++;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string starting at the opening quote; returns 0 with s->i past the closing one. */
static int
scan_string(struct scan *s)
{
	int c, k;

	if (peek(s) != '"')
		return QH_ERR_FORMAT;
	s->i++;
	for (;;) {
		if ((c = peek(s)) < 0 || c < 0x20)
			return QH_ERR_FORMAT;	/* unterminated, or a raw control */
		s->i++;
		if (c == '"')
			return 0;
		if (c != '\\')
			continue;
		switch (c = peek(s)) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			s->i++;
			break;
		case 'u':
			s->i++;
			for (k = 0; k < 4; k++, s->i++)
				if (!is_hex(peek(s)))
					return QH_ERR_FORMAT;
			break;
		default:
			return QH_ERR_FORMAT;
		}
	}
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int
scan_number(struct scan *s)
{
	if (peek(s) == '-')
		s->i++;
	if (peek(s) == '0')
		s->i++;
	else if (is_digit(peek(s)) && peek(s) != '0')
		while (is_digit(peek(s)))
			s->i++;
	else
		return QH_ERR_FORMAT;
	if (peek(s) == '.') {
		s->i++;
		if (!is_digit(peek(s)))
			return QH_ERR_FORMAT;
		while (is_digit(peek(s)))
			s->i++;
	}
	if (peek(s) == 'e' || peek(s) == 'E') {
		s->i++;
		if (peek(s) == '+' || peek(s) == '-')
			s->i++;
		if (!is_digit(peek(s)))
			return QH_ERR_FORMAT;
		while (is_digit(peek(s)))
			s->i++;
	}
	return 0;
}

static int
scan_literal(struct scan *s, const char *word)
{
	for (; *word != '\0'; word++, s->i++)
		if (peek(s) != *word)
			return QH_ERR_FORMAT;
	return 0;
}

/* A member name and its colon; s->i is at the name's opening quote. */
static int
scan_name(struct scan *s)
{
	int r;

	if ((r = scan_string(s)) != 0)
		return r;
	skip_ws(s);
	if (peek(s) != ':')
		return QH_ERR_FORMAT;
	s->i++;
	skip_ws(s);
	return 0;
}

int
qh_jsoncheck(const uint8_t *p, size_t len, unsigned max_depth, int want_object)
{
	unsigned char stack[QH_JSONCHECK_MAX_DEPTH];
	struct scan s = { p, len, 0 };
	unsigned depth = 0;
	int r = 0, c;

	if (max_depth > QH_JSONCHECK_MAX_DEPTH)
		max_depth = QH_JSONCHECK_MAX_DEPTH;
	if (!qh_utf8_valid(p, len))
		return QH_ERR_FORMAT;
	skip_ws(&s);
	if (want_object && peek(&s) != '{')
		return QH_ERR_FORMAT;
	for (;;) {
		/* A value starts here. */
		switch (c = peek(&s)) {
		case '{':
		case '[':
			if (depth == max_depth)
				return QH_ERR_TOO_LARGE;
			stack[depth++] = c == '{' ? IN_OBJECT : IN_ARRAY;
			s.i++;
			skip_ws(&s);
			if (peek(&s) == (c == '{' ? '}' : ']')) {
				s.i++;
				depth--;
				break;	/* an empty container is a whole value */
			}
			if (c == '{' && (r = scan_name(&s)) != 0)
				return r;
			continue;	/* its first value */
		case '"':
			r = scan_string(&s);
			break;
		case 't':
			r = scan_literal(&s, "true");
			break;
		case 'f':
			r = scan_literal(&s, "false");
			break;
		case 'n':
			r = scan_literal(&s, "null");
			break;
		default:
			r = scan_number(&s);
			break;
		}
		if (c != '{' && c != '[' && r != 0)
			return r;
		/* After a value: close containers, or go on to the next member. */
		for (;;) {
			skip_ws(&s);
			if (depth == 0)
				return s.i == s.len ? 0 : QH_ERR_FORMAT;
			c = peek(&s);
			if (c == ',') {
				s.i++;
				skip_ws(&s);
				if (stack[depth - 1] == IN_OBJECT && (r = scan_name(&s)) != 0)
					return r;
				break;	/* the next value */
			}
			if (c != (stack[depth - 1] == IN_OBJECT ? '}' : ']'))
				return QH_ERR_FORMAT;
			s.i++;
			depth--;
		}
	}
}
