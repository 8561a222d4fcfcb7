/*
 * A bounded recursive-descent JSON parser (see qh/jsonread.h). Every byte
 * is read through a read-only qh_buf; decoded strings go to one arena the
 * size of the input (a decoded string is never longer than its source),
 * nodes to blocks that are never moved, so node pointers stay valid.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "qh/wire.h"

#define BLOCK_NODES 256
#define NUMBER_MAX  64 /* longest number text accepted */

struct block {
	struct block *next;
	size_t used;
	struct qh_json_node n[BLOCK_NODES];
};

struct qh_json_doc {
	struct qh_json_node *root;
	struct block *blocks;
	size_t nodes;
	char *arena; /* decoded strings, NUL-terminated */
	size_t arena_len, arena_used;
};

/* The parser's state: the input and the document being built. */
struct parser {
	struct qh_buf in;
	struct qh_json_doc *doc;
	int depth;
};

static int parse_value(struct parser *ps, struct qh_json_node **np);

static struct qh_json_node *
node_new(struct qh_json_doc *doc, enum qh_json_type type)
{
	struct block *b = doc->blocks;
	struct qh_json_node *n;

	if (doc->nodes >= QH_JSON_MAX_NODES)
		return NULL;
	if (b == NULL || b->used == BLOCK_NODES) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return NULL;
		b->next = doc->blocks;
		doc->blocks = b;
	}
	n = &b->n[b->used++];
	doc->nodes++;
	n->type = type;
	return n;
}

/* The next byte without taking it; -1 at the end. */
static int
peek(struct parser *ps)
{
	uint8_t c;

	return qh_buf_peek_u8(&ps->in, 0, &c) == 0 ? c : -1;
}

/* Takes the next byte; -1 at the end. */
static int
next(struct parser *ps)
{
	uint8_t c;

	return qh_buf_get_u8(&ps->in, &c) == 0 ? c : -1;
}

static void
skip_ws(struct parser *ps)
{
	int c;

	while ((c = peek(ps)) == ' ' || c == '\t' || c == '\n' || c == '\r')
		(void)next(ps);
}

/* Takes the literal word (after its first letter was seen). */
static int
expect_word(struct parser *ps, const char *word)
{
	for (; *word != '\0'; word++)
		if (next(ps) != (unsigned char)*word)
			return QH_ERR_FORMAT;
	return 0;
}

static int
hex4(struct parser *ps, uint32_t *v)
{
	int i, c;

	*v = 0;
	for (i = 0; i < 4; i++) {
		c = next(ps);
		if (c >= '0' && c <= '9')
			*v = *v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v = *v << 4 | (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v = *v << 4 | (uint32_t)(c - 'A' + 10);
		else
			return QH_ERR_FORMAT;
	}
	return 0;
}

static int
arena_put(struct qh_json_doc *doc, uint8_t c)
{
	if (doc->arena_used >= doc->arena_len)
		return QH_ERR_INTERNAL; /* the arena's size is a proven bound */
	doc->arena[doc->arena_used++] = (char)c;
	return 0;
}

/* Appends code point cp as UTF-8. */
static int
arena_put_cp(struct qh_json_doc *doc, uint32_t cp)
{
	int r = 0;

	if (cp < 0x80)
		return arena_put(doc, (uint8_t)cp);
	if (cp < 0x800) {
		if ((r = arena_put(doc, (uint8_t)(0xc0 | cp >> 6))) == 0)
			r = arena_put(doc, (uint8_t)(0x80 | (cp & 0x3f)));
		return r;
	}
	if (cp < 0x10000) {
		if ((r = arena_put(doc, (uint8_t)(0xe0 | cp >> 12))) == 0 &&
		    (r = arena_put(doc, (uint8_t)(0x80 | (cp >> 6 & 0x3f)))) == 0)
			r = arena_put(doc, (uint8_t)(0x80 | (cp & 0x3f)));
		return r;
	}
	if ((r = arena_put(doc, (uint8_t)(0xf0 | cp >> 18))) == 0 &&
	    (r = arena_put(doc, (uint8_t)(0x80 | (cp >> 12 & 0x3f)))) == 0 &&
	    (r = arena_put(doc, (uint8_t)(0x80 | (cp >> 6 & 0x3f)))) == 0)
		r = arena_put(doc, (uint8_t)(0x80 | (cp & 0x3f)));
	return r;
}

/* Parses a string (after its opening quote) into the arena; *sp is its text. */
static int
parse_string(struct parser *ps, const char **sp)
{
	struct qh_json_doc *doc = ps->doc;
	size_t start = doc->arena_used;
	uint32_t cp, lo;
	int c, r;

	for (;;) {
		if ((c = next(ps)) < 0)
			return QH_ERR_FORMAT;
		if (c == '"')
			break;
		if (c < 0x20)
			return QH_ERR_FORMAT; /* control characters must be escaped */
		if (c != '\\') {
			if ((r = arena_put(doc, (uint8_t)c)) != 0)
				return r;
			continue;
		}
		switch (c = next(ps)) {
		case '"':
		case '\\':
		case '/':
			r = arena_put(doc, (uint8_t)c);
			break;
		case 'b':
			r = arena_put(doc, '\b');
			break;
		case 'f':
			r = arena_put(doc, '\f');
			break;
		case 'n':
			r = arena_put(doc, '\n');
			break;
		case 'r':
			r = arena_put(doc, '\r');
			break;
		case 't':
			r = arena_put(doc, '\t');
			break;
		case 'u':
			if ((r = hex4(ps, &cp)) != 0)
				return r;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return QH_ERR_FORMAT; /* a lone low surrogate */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (next(ps) != '\\' || next(ps) != 'u' ||
				    hex4(ps, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
					return QH_ERR_FORMAT;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				return QH_ERR_FORMAT; /* no NUL inside our strings */
			r = arena_put_cp(doc, cp);
			break;
		default:
			return QH_ERR_FORMAT;
		}
		if (r != 0)
			return r;
	}
	if (!qh_utf8_valid((const uint8_t *)doc->arena + start, doc->arena_used - start))
		return QH_ERR_FORMAT;
	if ((r = arena_put(doc, '\0')) != 0)
		return r;
	*sp = doc->arena + start;
	return 0;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Parses a number; its text is copied aside (bounded) for strtod. */
static int
parse_number(struct parser *ps, struct qh_json_node *n)
{
	char text[NUMBER_MAX + 1];
	size_t len = 0;
	int c, integral = 1, neg = 0, digits = 0;
	uint64_t acc = 0, limit;
	int overflow = 0;

#define TAKE()                                                                           \
	do {                                                                             \
		if (len == NUMBER_MAX)                                                   \
			return QH_ERR_TOO_LARGE;                                         \
		text[len++] = (char)next(ps);                                            \
	} while (0)

	if (peek(ps) == '-') {
		neg = 1;
		TAKE();
	}
	if ((c = peek(ps)) == '0') {
		TAKE();
		digits = 1;
	} else if (c >= '1' && c <= '9') {
		while (is_digit(c = peek(ps))) {
			if (acc > (UINT64_MAX - 9) / 10)
				overflow = 1;
			else
				acc = acc * 10 + (uint64_t)(c - '0');
			TAKE();
			digits++;
		}
	} else
		return QH_ERR_FORMAT;
	if (peek(ps) == '.') {
		integral = 0;
		TAKE();
		if (!is_digit(peek(ps)))
			return QH_ERR_FORMAT;
		while (is_digit(peek(ps)))
			TAKE();
	}
	if ((c = peek(ps)) == 'e' || c == 'E') {
		integral = 0;
		TAKE();
		if ((c = peek(ps)) == '+' || c == '-')
			TAKE();
		if (!is_digit(peek(ps)))
			return QH_ERR_FORMAT;
		while (is_digit(peek(ps)))
			TAKE();
	}
#undef TAKE
	text[len] = '\0';
	n->num = strtod(text, NULL);
	if (!isfinite(n->num))
		return QH_ERR_FORMAT;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (integral && digits > 0 && !overflow && acc <= limit) {
		n->is_int = 1;
		n->ival = neg
		    ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc)
		    : (int64_t)acc;
	}
	return 0;
}

/* Parses the elements of an array or the members of an object (after its bracket). */
static int
parse_container(struct parser *ps, struct qh_json_node *n, int close)
{
	struct qh_json_node *elem, **tail = &n->child;
	const char *key = NULL;
	int c, r;

	if (++ps->depth > QH_JSON_MAX_DEPTH)
		return QH_ERR_TOO_LARGE;
	skip_ws(ps);
	if (peek(ps) == close) {
		(void)next(ps);
		ps->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (n->type == QH_JSON_OBJECT) {
			if (next(ps) != '"')
				return QH_ERR_FORMAT;
			if ((r = parse_string(ps, &key)) != 0)
				return r;
			skip_ws(ps);
			if (next(ps) != ':')
				return QH_ERR_FORMAT;
		}
		if ((r = parse_value(ps, &elem)) != 0)
			return r;
		elem->key = key;
		*tail = elem;
		tail = &elem->next;
		n->count++;
		skip_ws(ps);
		if ((c = next(ps)) == ',')
			continue;
		if (c != close)
			return QH_ERR_FORMAT;
		break;
	}
	ps->depth--;
	return 0;
}

static int
parse_value(struct parser *ps, struct qh_json_node **np)
{
	struct qh_json_node *n;
	int c, r = 0;

	skip_ws(ps);
	switch (c = peek(ps)) {
	case '{':
	case '[':
		if ((n = node_new(ps->doc, c == '{' ? QH_JSON_OBJECT : QH_JSON_ARRAY)) ==
		    NULL)
			return QH_ERR_TOO_LARGE;
		(void)next(ps);
		r = parse_container(ps, n, c == '{' ? '}' : ']');
		break;
	case '"':
		if ((n = node_new(ps->doc, QH_JSON_STRING)) == NULL)
			return QH_ERR_TOO_LARGE;
		(void)next(ps);
		r = parse_string(ps, &n->str);
		break;
	case 't':
	case 'f':
	case 'n':
		if ((n = node_new(ps->doc,
			 c == 't'	? QH_JSON_TRUE
			     : c == 'f' ? QH_JSON_FALSE
					: QH_JSON_NULL)) == NULL)
			return QH_ERR_TOO_LARGE;
		r = expect_word(ps, c == 't' ? "true" : c == 'f' ? "false" : "null");
		break;
	default:
		if (c != '-' && !is_digit(c))
			return QH_ERR_FORMAT;
		if ((n = node_new(ps->doc, QH_JSON_NUMBER)) == NULL)
			return QH_ERR_TOO_LARGE;
		r = parse_number(ps, n);
		break;
	}
	if (r != 0)
		return r;
	*np = n;
	return 0;
}

void
qh_json_free(struct qh_json_doc *doc)
{
	struct block *b, *nb;

	if (doc == NULL)
		return;
	for (b = doc->blocks; b != NULL; b = nb) {
		nb = b->next;
		free(b);
	}
	free(doc->arena);
	free(doc);
}

int
qh_json_parse(const void *p, size_t len, struct qh_json_doc **docp)
{
	struct parser ps;
	struct qh_json_doc *doc;
	int r;

	*docp = NULL;
	if (len > QH_JSON_MAX_INPUT)
		return QH_ERR_TOO_LARGE;
	if ((doc = calloc(1, sizeof(*doc))) == NULL ||
	    (doc->arena = malloc(len + 1)) == NULL) {
		free(doc);
		return QH_ERR_NOMEM;
	}
	doc->arena_len = len + 1;
	memset(&ps, 0, sizeof(ps));
	qh_buf_init_ro(&ps.in, p, len);
	ps.doc = doc;
	if ((r = parse_value(&ps, &doc->root)) == 0) {
		skip_ws(&ps);
		if (qh_buf_len(&ps.in) != 0)
			r = QH_ERR_FORMAT; /* something after the value */
	}
	if (r != 0) {
		qh_json_free(doc);
		return r == QH_ERR_INTERNAL ? QH_ERR_FORMAT : r;
	}
	*docp = doc;
	return 0;
}

const struct qh_json_node *
qh_json_root(const struct qh_json_doc *doc)
{
	return doc->root;
}

const struct qh_json_node *
qh_json_get(const struct qh_json_node *obj, const char *key)
{
	const struct qh_json_node *n;

	if (obj == NULL || obj->type != QH_JSON_OBJECT)
		return NULL;
	for (n = obj->child; n != NULL; n = n->next)
		if (strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

const char *
qh_json_get_str(const struct qh_json_node *obj, const char *key)
{
	const struct qh_json_node *n = qh_json_get(obj, key);

	return n != NULL && n->type == QH_JSON_STRING ? n->str : NULL;
}

int
qh_json_get_int(const struct qh_json_node *obj, const char *key, int64_t *v)
{
	const struct qh_json_node *n = qh_json_get(obj, key);

	if (n == NULL)
		return QH_ERR_NOT_FOUND;
	if (n->type != QH_JSON_NUMBER || !n->is_int)
		return QH_ERR_FORMAT;
	*v = n->ival;
	return 0;
}
