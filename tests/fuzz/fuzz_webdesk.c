/*
 * Fuzz target for the tickets pages' requests (console/web/deskreq.h): the
 * first byte picks a POST action, a reply's binary head or a GET listing,
 * the rest is its JSON body, the head, or its URL arguments (id, open,
 * customer, name, split at NUL). What reads is a request the console's
 * codec takes: qh_desk_req_encode succeeds, or for a reply its text is
 * 1..QH_TICKET_REPLY_MAX bytes of UTF-8 and its attachments names and
 * sizes that qh_ticket_set_reply, qh_ticket_add_text and
 * qh_ticket_add_file accept.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/desk.h"
#include "qh/ticket.h"
#include "qh/wire.h"
#include "web/deskreq.h"

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

static const char *const actions[] = { "need", "assign", "confirm", "close", "reply",
	"nope" };
static const enum qh_desk_cmd gets[] = { QH_DESK_LIST, QH_DESK_SHOW, QH_DESK_GET,
	QH_DESK_NEED };

static void
check_read(const struct web_desk_call *c)
{
	static const uint8_t hash[32];
	struct qh_ticket t;
	struct qh_buf b;
	int i;

	if (c->req.cmd != QH_DESK_REPLY) {
		qh_buf_init(&b, QH_MSG_MAX_LEN);
		CHECK(qh_desk_req_encode(&c->req, &b) == 0);
		qh_buf_release(&b);
		return;
	}
	CHECK(c->req.id >= 1 && c->reply_len >= 1 && c->reply_len <= QH_TICKET_REPLY_MAX);
	CHECK(strlen(c->reply) == c->reply_len);
	CHECK(c->nfiles >= 0 && c->nfiles <= QH_TICKET_FILES_MAX);
	CHECK(c->total <= QH_TICKET_TOTAL_DEFAULT);
	qh_ticket_init(&t, NULL);
	CHECK(qh_ticket_set_reply(&t, c->req.id, c->total) == 0);
	CHECK(qh_ticket_add_text(&t, "text", c->reply, c->reply_len) == 0);
	for (i = 0; i < c->nfiles; i++)
		CHECK(qh_ticket_add_file(&t, c->files[i].name, c->files[i].size, hash) ==
		    0);
	CHECK(qh_ticket_finish(&t) == 0);
	qh_ticket_free(&t);
}

/* The next NUL-terminated field of the input, or NULL when it ran out. */
static const char *
field(char **p, char *end)
{
	char *s = *p, *z;

	if (s >= end)
		return NULL;
	z = memchr(s, '\0', (size_t)(end - s));
	*p = z != NULL ? z + 1 : end;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t len)
{
	static struct web_desk_call c;
	const char *id, *open, *customer, *name;
	char why[256], *copy, *q;
	size_t head;
	uint8_t sel;
	int r;

	if (len < 1)
		return 0;
	sel = p[0];
	if ((sel & 0xc0) == 0x40) {
		r = web_desk_parse_reply_head(p + 1, len - 1, &c, &head, why,
		    sizeof(why));
		if (r == 0) {
			CHECK(head >= 4 && head <= len - 1);
			check_read(&c);
		}
		return 0;
	}
	if ((sel & 0x80) == 0) {
		enum qh_desk_cmd cmd = web_desk_action(actions[sel % 6]);

		CHECK((cmd == QH_DESK_NONE) == (sel % 6 == 5));
		if (web_desk_parse_body(cmd, p + 1, len - 1, &c, why, sizeof(why)) == 0)
			check_read(&c);
		return 0;
	}
	/* URL arguments: lws hands them over NUL-terminated. */
	if ((copy = malloc(len + 1)) == NULL)
		return 0;
	memcpy(copy, p + 1, len - 1);
	copy[len - 1] = '\0';
	q = copy;
	id = field(&q, copy + len - 1);
	open = field(&q, copy + len - 1);
	customer = field(&q, copy + len - 1);
	name = field(&q, copy + len - 1);
	if (web_desk_parse_args(gets[sel % 4], id, open, customer, name, &c, why,
		sizeof(why)) == 0) {
		CHECK(gets[sel % 4] != QH_DESK_NEED);
		check_read(&c);
	}
	free(copy);
	return 0;
}
