/* The tickets pages' requests (deskreq.h), read through the bounded readers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "qh/wire.h"
#include "deskreq.h"

/* The members a body may have, per action. */
#define M_ID	0x1
#define M_TEXT	0x2
#define M_LOGIN 0x4
#define M_SLOT	0x8
#define M_FILES 0x10 /* a reply's head only */

static const struct {
	const char *name;
	enum qh_desk_cmd cmd;
	unsigned members;
} actions[] = {
	{ "need", QH_DESK_NEED, M_ID | M_TEXT },
	{ "assign", QH_DESK_ASSIGN, M_ID | M_LOGIN },
	{ "confirm", QH_DESK_CONFIRM, M_ID | M_SLOT },
	{ "close", QH_DESK_CLOSE, M_ID | M_TEXT },
	{ "reply", QH_DESK_REPLY, M_ID | M_TEXT },
};

static int why_set(char *why, size_t len, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
why_set(char *why, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return r;
}

enum qh_desk_cmd
web_desk_action(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(name, actions[i].name) == 0)
			return actions[i].cmd;
	return QH_DESK_NONE;
}

static unsigned
members_of(enum qh_desk_cmd cmd)
{
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].cmd == cmd)
			return actions[i].members;
	return 0;
}

/* Copies string s into out (cap bytes with its NUL); QH_ERR_TOO_LARGE if longer. */
static int
copy_str(char *out, size_t cap, const char *s, size_t *lenp)
{
	size_t n = strnlen(s, cap);

	if (n >= cap)
		return QH_ERR_TOO_LARGE;
	memcpy(out, s, n);
	out[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return 0;
}

/* The reply's own checks: its number and 1..QH_TICKET_REPLY_MAX bytes of text. */
static int
reply_check(const struct web_desk_call *c, char *why, size_t whylen)
{
	if (c->req.id < 1)
		return why_set(why, whylen, QH_ERR_FORMAT, "no ticket number");
	if (c->reply_len == 0 || !qh_utf8_valid((const uint8_t *)c->reply, c->reply_len))
		return why_set(why, whylen, QH_ERR_FORMAT,
		    "the reply must be 1 to %d bytes of UTF-8", QH_TICKET_REPLY_MAX);
	return 0;
}

/* A reply's "files": names valid and unique, sizes within the defaults. */
static int
files_member(const struct qh_json_node *arr, struct web_desk_call *c, char *why,
    size_t whylen)
{
	const struct qh_json_node *f, *size;
	struct web_desk_file *d;
	const char *name;
	int i;

	if (arr->type != QH_JSON_ARRAY || arr->count > QH_TICKET_FILES_MAX)
		return why_set(why, whylen, QH_ERR_FORMAT,
		    "files is a list of at most %d attachments", QH_TICKET_FILES_MAX);
	for (f = arr->child; f != NULL; f = f->next) {
		d = &c->files[c->nfiles];
		name = qh_json_get_str(f, "name");
		size = qh_json_get(f, "size");
		if (f->type != QH_JSON_OBJECT || f->count != 2 || name == NULL ||
		    !qh_ticket_name_valid(name) || size == NULL ||
		    size->type != QH_JSON_NUMBER || !size->is_int || size->ival < 0 ||
		    (uint64_t)size->ival > QH_TICKET_ATTACHMENT_DEFAULT)
			return why_set(why, whylen, QH_ERR_FORMAT,
			    "an attachment is {\"name\", \"size\"} with a file name and "
			    "at "
			    "most %llu bytes",
			    (unsigned long long)QH_TICKET_ATTACHMENT_DEFAULT);
		for (i = 0; i < c->nfiles; i++)
			if (strcmp(c->files[i].name, name) == 0)
				return why_set(why, whylen, QH_ERR_FORMAT,
				    "two attachments named %.255s", name);
		(void)copy_str(d->name, sizeof(d->name), name, NULL);
		d->size = (uint64_t)size->ival;
		c->total += d->size;
		c->nfiles++;
	}
	if (c->total > QH_TICKET_TOTAL_DEFAULT)
		return why_set(why, whylen, QH_ERR_TOO_LARGE,
		    "the attachments are over %llu bytes together",
		    (unsigned long long)QH_TICKET_TOTAL_DEFAULT);
	return 0;
}

/* One member of the body into c; QH_ERR_FORMAT for one the action has not. */
static int
body_member(const struct qh_json_node *n, unsigned members, struct web_desk_call *c,
    char *why, size_t whylen)
{
	const char *k = n->key != NULL ? n->key : "";

	if (strcmp(k, "id") == 0 && (members & M_ID)) {
		if (n->type != QH_JSON_NUMBER || !n->is_int || n->ival < 1)
			return why_set(why, whylen, QH_ERR_FORMAT, "no ticket number");
		c->req.id = n->ival;
	} else if (strcmp(k, "slot") == 0 && (members & M_SLOT)) {
		if (n->type != QH_JSON_NUMBER || !n->is_int || n->ival < 1 ||
		    n->ival > QH_TICKET_SLOTS_MAX)
			return why_set(why, whylen, QH_ERR_FORMAT,
			    "the proposed appointment is 1 to %d", QH_TICKET_SLOTS_MAX);
		c->req.slot = (int)n->ival;
	} else if (strcmp(k, "login") == 0 && (members & M_LOGIN)) {
		if (n->type != QH_JSON_STRING ||
		    copy_str(c->req.login, sizeof(c->req.login), n->str, NULL) != 0)
			return why_set(why, whylen, QH_ERR_FORMAT,
			    "no technician's login");
	} else if (strcmp(k, "text") == 0 && (members & M_TEXT)) {
		if (n->type != QH_JSON_STRING)
			return why_set(why, whylen, QH_ERR_FORMAT,
			    "the text is no string");
		if (c->req.cmd == QH_DESK_REPLY
			? copy_str(c->reply, sizeof(c->reply), n->str, &c->reply_len) != 0
			: copy_str(c->req.text, sizeof(c->req.text), n->str, NULL) != 0)
			return why_set(why, whylen, QH_ERR_TOO_LARGE,
			    "the text is longer than %d bytes",
			    c->req.cmd == QH_DESK_REPLY ? QH_TICKET_REPLY_MAX
							: QH_DESK_TEXT_MAX);
	} else if (strcmp(k, "files") == 0 && (members & M_FILES) && c->nfiles == 0) {
		return files_member(n, c, why, whylen);
	} else
		return why_set(why, whylen, QH_ERR_FORMAT, "an unknown member \"%.64s\"",
		    k);
	return 0;
}

/* The JSON object at p as cmd's request, with the members allowed. */
static int
parse_json(enum qh_desk_cmd cmd, unsigned members, const uint8_t *p, size_t len,
    struct web_desk_call *c, char *why, size_t whylen)
{
	struct qh_json_doc *doc = NULL;
	const struct qh_json_node *root, *n;
	int r;

	memset(c, 0, sizeof(*c));
	c->req.cmd = cmd;
	if (members == 0)
		return why_set(why, whylen, QH_ERR_FORMAT, "no such action");
	if (len > WEB_DESK_BODY_MAX)
		return why_set(why, whylen, QH_ERR_TOO_LARGE, "the request is too large");
	if ((r = qh_json_parse(p, len, &doc)) != 0)
		return why_set(why, whylen, r == QH_ERR_TOO_LARGE ? r : QH_ERR_FORMAT,
		    "the request is not JSON");
	root = qh_json_root(doc);
	r = 0;
	if (root->type != QH_JSON_OBJECT)
		r = why_set(why, whylen, QH_ERR_FORMAT, "the request is no JSON object");
	for (n = root->child; r == 0 && n != NULL; n = n->next)
		r = body_member(n, members, c, why, whylen);
	qh_json_free(doc);
	if (r != 0)
		return r;
	if (cmd == QH_DESK_REPLY)
		return reply_check(c, why, whylen);
	return qh_desk_req_check(&c->req, why, whylen) == 0 ? 0 : QH_ERR_FORMAT;
}

int
web_desk_parse_body(enum qh_desk_cmd cmd, const uint8_t *p, size_t len,
    struct web_desk_call *c, char *why, size_t whylen)
{
	return parse_json(cmd, members_of(cmd), p, len, c, why, whylen);
}

int
web_desk_parse_reply_head(const uint8_t *p, size_t len, struct web_desk_call *c,
    size_t *head_len, char *why, size_t whylen)
{
	struct qh_buf r;
	uint32_t n;

	memset(c, 0, sizeof(*c));
	qh_buf_init_ro(&r, p, len);
	if (qh_buf_get_u32(&r, &n) != 0)
		return QH_ERR_INCOMPLETE;
	if (n > WEB_DESK_BODY_MAX)
		return why_set(why, whylen, QH_ERR_TOO_LARGE, "the request is too large");
	if (qh_buf_len(&r) < n)
		return QH_ERR_INCOMPLETE;
	*head_len = 4 + (size_t)n;
	return parse_json(QH_DESK_REPLY, members_of(QH_DESK_REPLY) | M_FILES,
	    qh_buf_ptr(&r), n, c, why, whylen);
}

/* Decimal digits, 1 to INT64_MAX, nothing else. */
static int
parse_id(const char *s, int64_t *v)
{
	uint64_t x = 0;
	size_t i, n;

	if (s == NULL || (n = strnlen(s, 20)) == 0 || n > 19)
		return QH_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return QH_ERR_FORMAT;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (s[n] != '\0' || x < 1 || x > INT64_MAX)
		return QH_ERR_FORMAT;
	*v = (int64_t)x;
	return 0;
}

int
web_desk_parse_args(enum qh_desk_cmd cmd, const char *id, const char *open,
    const char *customer, const char *name, struct web_desk_call *c, char *why,
    size_t whylen)
{
	memset(c, 0, sizeof(*c));
	c->req.cmd = cmd;
	switch (cmd) {
	case QH_DESK_LIST:
		if (open != NULL && strcmp(open, "1") == 0)
			c->req.flags = QH_DESK_OPEN_ONLY;
		else if (open != NULL && open[0] != '\0' && strcmp(open, "0") != 0)
			return why_set(why, whylen, QH_ERR_FORMAT, "open is 0 or 1");
		if (customer != NULL &&
		    copy_str(c->req.customer, sizeof(c->req.customer), customer, NULL) !=
			0)
			return why_set(why, whylen, QH_ERR_FORMAT, "not a customer id");
		break;
	case QH_DESK_GET:
		if (name == NULL ||
		    copy_str(c->req.name, sizeof(c->req.name), name, NULL) != 0)
			return why_set(why, whylen, QH_ERR_FORMAT,
			    "no attachment's file name");
		/* FALLTHROUGH */
	case QH_DESK_SHOW:
		if (parse_id(id, &c->req.id) != 0)
			return why_set(why, whylen, QH_ERR_FORMAT, "no ticket number");
		break;
	default:
		return why_set(why, whylen, QH_ERR_FORMAT, "no such listing");
	}
	return qh_desk_req_check(&c->req, why, whylen) == 0 ? 0 : QH_ERR_FORMAT;
}
