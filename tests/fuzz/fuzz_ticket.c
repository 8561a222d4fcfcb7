/*
 * Fuzz target for what the console decodes of a ticket upload: the
 * REQUEST and the TICKET_TEXT / TICKET_FILE / TICKET_SLOT messages after
 * it (common/ticket.c), including the environment's check as a JSON
 * object (common/jsonread.c, which has its own target too), and of a
 * ticket desk's REQUEST (common/desk.c): one it accepts is encoded again
 * and must decode to the same request.
 *
 * Input: one byte of options, then records of a u16 length and that many
 * bytes; the first record is the REQUEST, the others channel messages, as
 * they would arrive. A ticket that is accepted as complete is encoded
 * again with the agent's encoders and decoded into a second ticket, which
 * must come out the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/desk.h"
#include "qh/err.h"
#include "qh/ticket.h"
#include "qh/wire.h"

/* Checked in every build, NDEBUG or not. */
#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

static int
feed(void *arg, const struct qh_buf *b)
{
	struct qh_msg m;

	CHECK(qh_msg_decode(qh_buf_ptr(b), qh_buf_len(b), &m) == 0);
	return qh_ticket_decode(arg, &m);
}

/* Encodes t again and checks that it decodes to the same ticket. */
static void
roundtrip(const struct qh_ticket *t)
{
	struct qh_ticket u;
	struct qh_buf req;
	struct qh_msg m;
	int i;

	qh_buf_init(&req, QH_MSG_MAX_LEN);
	CHECK(qh_ticket_encode_request(t, &req) == 0);
	CHECK(qh_msg_decode(qh_buf_ptr(&req), qh_buf_len(&req), &m) == 0);
	qh_ticket_init(&u, &t->lim);
	CHECK(qh_ticket_decode_request(&u, &m) == 0);
	CHECK(qh_ticket_encode_items(t, feed, &u) == 0);
	CHECK(qh_ticket_finish(&u) == 0);
	CHECK(strcmp(u.kind, t->kind) == 0 && strcmp(u.subject, t->subject) == 0);
	CHECK(memcmp(u.key, t->key, 32) == 0 && u.total == t->total);
	CHECK(qh_buf_len(&u.steps) == qh_buf_len(&t->steps));
	CHECK(qh_buf_len(&u.steps) == 0 ||
	    memcmp(qh_buf_ptr(&u.steps), qh_buf_ptr(&t->steps), qh_buf_len(&u.steps)) ==
		0);
	CHECK(qh_buf_len(&u.env) == qh_buf_len(&t->env));
	CHECK(u.nfiles == t->nfiles && u.nslots == t->nslots);
	for (i = 0; i < t->nfiles; i++)
		CHECK(strcmp(u.files[i].name, t->files[i].name) == 0 &&
		    u.files[i].size == t->files[i].size &&
		    memcmp(u.files[i].hash, t->files[i].hash, 32) == 0);
	for (i = 0; i < t->nslots; i++)
		CHECK(strcmp(u.slots[i].when, t->slots[i].when) == 0 &&
		    u.slots[i].offset == t->slots[i].offset &&
		    u.slots[i].utc == t->slots[i].utc);
	qh_buf_release(&req);
	qh_ticket_free(&u);
}

/* The first message as a desk request: accepted ones survive a round trip. */
static void
desk(const struct qh_msg *m)
{
	struct qh_desk_req a, b;
	struct qh_buf out;
	struct qh_msg again;
	char why[256];
	int r;

	why[0] = '\0';
	r = qh_desk_req_decode(m, &a, why, sizeof(why));
	CHECK(r == 0 || r == QH_ERR_FORMAT || r == QH_ERR_PROTOCOL);
	CHECK(r == 0 || why[0] != '\0');
	if (r != 0)
		return;
	CHECK(qh_desk_req_check(&a, NULL, 0) == 0);
	qh_buf_init(&out, QH_MSG_MAX_LEN);
	CHECK(qh_desk_req_encode(&a, &out) == 0);
	CHECK(qh_msg_decode(qh_buf_ptr(&out), qh_buf_len(&out), &again) == 0);
	CHECK(qh_desk_req_decode(&again, &b, NULL, 0) == 0);
	CHECK(a.cmd == b.cmd && a.id == b.id && a.flags == b.flags && a.slot == b.slot);
	CHECK(strcmp(a.customer, b.customer) == 0 && strcmp(a.login, b.login) == 0 &&
	    strcmp(a.name, b.name) == 0 && strcmp(a.text, b.text) == 0);
	qh_buf_release(&out);
}

/* Invariants of a ticket the decoder accepted as complete. */
static void
check_complete(const struct qh_ticket *t)
{
	uint64_t sum = 0;
	int i, j;

	if (t->reply_to != 0) {
		/* A reply: its text, files, and no appointments. */
		CHECK(t->reply_to > 0 && strcmp(t->kind, "reply") == 0);
		CHECK(qh_buf_len(&t->steps) > 0 && t->nslots == 0);
	} else {
		CHECK(strcmp(t->kind, "support") == 0 ||
		    strcmp(t->kind, "installation") == 0);
		CHECK(
		    t->subject[0] != '\0' && strlen(t->subject) <= QH_TICKET_SUBJECT_MAX);
	}
	CHECK(qh_buf_len(&t->steps) <= t->lim.steps_max);
	CHECK(qh_buf_len(&t->env) == 0 ||
	    qh_ticket_env_valid(qh_buf_ptr(&t->env), qh_buf_len(&t->env)));
	for (i = 0; i < t->nfiles; i++) {
		CHECK(qh_ticket_name_valid(t->files[i].name));
		CHECK(t->files[i].size <= t->lim.attachment_max);
		sum += t->files[i].size;
		for (j = 0; j < i; j++)
			CHECK(strcmp(t->files[i].name, t->files[j].name) != 0);
	}
	CHECK(sum == t->total && sum <= t->lim.total_max);
	for (i = 0; i < t->nslots; i++)
		CHECK(t->slots[i].offset >= -QH_TICKET_OFFSET_MAX &&
		    t->slots[i].offset <= QH_TICKET_OFFSET_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qh_ticket_limits lim;
	struct qh_ticket t;
	struct qh_msg m;
	size_t off = 1, n;
	int first = 1, r = 0;

	if (size < 1)
		return 0;
	/* Small limits half the time, so that every bound is reached. */
	if (data[0] & 1) {
		lim.attachment_max = 1000;
		lim.total_max = 3000;
		lim.steps_max = 100;
		qh_ticket_init(&t, &lim);
	} else
		qh_ticket_init(&t, NULL);
	while (size - off >= 2) {
		n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			break;
		if (qh_msg_decode(data + off, n, &m) == 0) {
			if (first)
				desk(&m);
			r = first ? qh_ticket_decode_request(&t, &m)
				  : qh_ticket_decode(&t, &m);
			CHECK(r == 0 || r == QH_ERR_FORMAT || r == QH_ERR_LIMIT ||
			    r == QH_ERR_PROTOCOL);
			CHECK(r == 0 || t.why[0] != '\0');
			if (r != 0)
				goto out; /* the console refuses and closes */
			first = 0;
		}
		off += n;
	}
	if (!first && qh_ticket_finish(&t) == 0) {
		check_complete(&t);
		roundtrip(&t);
	}
out:
	qh_ticket_free(&t);
	return 0;
}
