/*
 * Unit tests for the ticket metadata codec (common/ticket.c), with the
 * environment checked as one strict JSON object (common/jsonread.c): a ticket
 * encoded by the agent's side decodes to the same fields on the console's
 * side; every bound (subject, steps, names, sizes, totals, proposals) is
 * refused with a sentence; the idempotency key depends on the content but
 * not on the environment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/ticket.h"
#include "qh/wire.h"

static const uint8_t hash_a[32] = { 1, 2, 3 };
static const uint8_t hash_b[32] = { 4, 5, 6 };

/* A complete ticket with steps, an environment, two files and two proposals. */
static void
sample(struct qh_ticket *t)
{
	static const char env[] =
	    "{\"hostname\":\"pc-7\",\"os\":{\"name\":\"Linux\"},"
	    "\"disks\":[1,2.5e3,-0.1,true,false,null,\"\\u00fc\\n\"]}";

	qh_ticket_init(t, NULL);
	assert_int_equal(qh_ticket_set_header(t, "installation",
			     "Drucker einrichten "
			     "\xe2\x80\x93 Büro",
			     300),
	    0);
	assert_int_equal(qh_ticket_add_text(t, "steps", "1. open\n2. print\n", 17), 0);
	assert_int_equal(qh_ticket_add_text(t, "environment", env, strlen(env)), 0);
	assert_int_equal(qh_ticket_add_file(t, "screen shot.png", 100, hash_a), 0);
	assert_int_equal(qh_ticket_add_file(t, "db-backup.sql", 200, hash_b), 0);
	assert_int_equal(qh_ticket_add_slot(t, "2026-12-05T10:00", 60), 0);
	assert_int_equal(qh_ticket_add_slot(t, "2026-12-07T09:30", -300), 0);
	assert_int_equal(qh_ticket_finish(t), 0);
	assert_int_equal(qh_ticket_make_key(t, "a-123"), 0);
}

struct sink {
	struct qh_ticket *into;
	int n;
};

/* Decodes each message the encoder produces into another ticket. */
static int
feed(void *arg, const struct qh_buf *b)
{
	struct sink *s = arg;
	struct qh_msg m;

	assert_int_equal(qh_msg_decode(qh_buf_ptr(b), qh_buf_len(b), &m), 0);
	s->n++;
	return qh_ticket_decode(s->into, &m);
}

/* What the agent encodes, the console decodes to the same ticket. */
static void
test_roundtrip(void **state QH_UNUSED)
{
	struct qh_ticket a, b;
	struct qh_buf req;
	struct qh_msg m;
	struct sink s;
	int i;

	sample(&a);
	qh_buf_init(&req, QH_MSG_MAX_LEN);
	assert_int_equal(qh_ticket_encode_request(&a, &req), 0);
	assert_int_equal(qh_msg_decode(qh_buf_ptr(&req), qh_buf_len(&req), &m), 0);
	qh_ticket_init(&b, NULL);
	assert_int_equal(qh_ticket_decode_request(&b, &m), 0);
	s.into = &b;
	s.n = 0;
	assert_int_equal(qh_ticket_encode_items(&a, feed, &s), 0);
	assert_int_equal(s.n, 2 + 2 + 2);
	assert_int_equal(qh_ticket_finish(&b), 0);
	assert_string_equal(b.kind, "installation");
	assert_string_equal(b.subject, a.subject);
	assert_memory_equal(b.key, a.key, 32);
	assert_int_equal(b.total, 300);
	assert_int_equal(qh_buf_len(&b.steps), qh_buf_len(&a.steps));
	assert_memory_equal(qh_buf_ptr(&b.steps), qh_buf_ptr(&a.steps),
	    qh_buf_len(&a.steps));
	assert_int_equal(qh_buf_len(&b.env), qh_buf_len(&a.env));
	assert_int_equal(b.nfiles, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(b.files[i].name, a.files[i].name);
		assert_int_equal(b.files[i].size, a.files[i].size);
		assert_memory_equal(b.files[i].hash, a.files[i].hash, 32);
	}
	assert_int_equal(b.nslots, 2);
	assert_string_equal(b.slots[1].when, "2026-12-07T09:30");
	assert_int_equal(b.slots[1].offset, -300);
	/* 09:30 at UTC-5 is 14:30Z; 10:00 at UTC+1 is 09:00Z. */
	assert_int_equal(b.slots[1].utc, 1796653800);
	assert_int_equal(b.slots[0].utc, 1796461200);
	/* After the end no more metadata is taken. */
	qh_buf_reset(&req);
	assert_int_equal(qh_msg_begin(&req, QH_MSG_TICKET_SLOT), 0);
	assert_int_equal(qh_msg_put_str(&req, QH_K_WHEN, "2026-12-08T10:00"), 0);
	assert_int_equal(qh_msg_put_u32(&req, QH_K_OFFSET, 60), 0);
	assert_int_equal(qh_msg_decode(qh_buf_ptr(&req), qh_buf_len(&req), &m), 0);
	assert_int_equal(qh_ticket_decode(&b, &m), QH_ERR_PROTOCOL);
	assert_int_equal(b.nslots, 2);
	qh_buf_release(&req);
	qh_ticket_free(&a);
	qh_ticket_free(&b);
}

/* Long steps and environments travel in several messages. */
static void
test_chunks(void **state QH_UNUSED)
{
	struct qh_ticket a, b;
	struct sink s;
	static char steps[QH_TICKET_STEPS_MAX];

	memset(steps, 'x', sizeof(steps));
	qh_ticket_init(&a, NULL);
	assert_int_equal(qh_ticket_set_header(&a, "support", "long", 0), 0);
	assert_int_equal(qh_ticket_add_text(&a, "steps", steps, sizeof(steps)), 0);
	/* One byte more is over the limit. */
	assert_int_equal(qh_ticket_add_text(&a, "steps", "y", 1), QH_ERR_LIMIT);
	assert_non_null(strstr(a.why, "longer than 64 KiB"));
	assert_int_equal(qh_ticket_finish(&a), 0);
	qh_ticket_init(&b, NULL);
	assert_int_equal(qh_ticket_set_header(&b, "support", "long", 0), 0);
	s.into = &b;
	s.n = 0;
	assert_int_equal(qh_ticket_encode_items(&a, feed, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(qh_ticket_finish(&b), 0);
	assert_int_equal(qh_buf_len(&b.steps), sizeof(steps));
	qh_ticket_free(&a);
	qh_ticket_free(&b);
}

/* The header's checks. */
static void
test_header(void **state QH_UNUSED)
{
	struct qh_ticket t;
	char subject[QH_TICKET_SUBJECT_MAX + 2];

	qh_ticket_init(&t, NULL);
	assert_int_equal(qh_ticket_set_header(&t, "repair", "x", 0), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_set_header(&t, "support", "", 0), QH_ERR_FORMAT);
	assert_non_null(strstr(t.why, "empty"));
	assert_int_equal(qh_ticket_set_header(&t, "support", "caf\xe9", 0),
	    QH_ERR_FORMAT);
	assert_non_null(strstr(t.why, "not valid UTF-8"));
	assert_int_equal(qh_ticket_set_header(&t, "support", "two\nlines", 0),
	    QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_set_header(&t, "support", "\x1b[2J", 0),
	    QH_ERR_FORMAT);
	memset(subject, 'a', sizeof(subject));
	subject[QH_TICKET_SUBJECT_MAX] = '\0';
	assert_int_equal(qh_ticket_set_header(&t, "support", subject, 0), 0);
	subject[QH_TICKET_SUBJECT_MAX] = 'a';
	subject[QH_TICKET_SUBJECT_MAX + 1] = '\0';
	assert_int_equal(qh_ticket_set_header(&t, "support", subject, 0), QH_ERR_LIMIT);
	assert_int_equal(qh_ticket_set_header(&t, "support", "ok",
			     QH_TICKET_TOTAL_DEFAULT + 1),
	    QH_ERR_LIMIT);
	assert_non_null(strstr(t.why, "at most 1024 MiB per ticket"));
	qh_ticket_free(&t);
}

/* Attachments: names, sizes, the announced total. */
static void
test_files(void **state QH_UNUSED)
{
	struct qh_ticket_limits lim = { 1 << 20, 3 << 20, 1024 };
	struct qh_ticket t;

	qh_ticket_init(&t, &lim);
	assert_int_equal(qh_ticket_set_header(&t, "support", "files", 3 << 20), 0);
	assert_int_equal(qh_ticket_add_file(&t, "a/b", 1, hash_a), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_add_file(&t, "..", 1, hash_a), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_add_file(&t, ".", 1, hash_a), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_add_file(&t, "", 1, hash_a), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_add_file(&t, "tab\there", 1, hash_a), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_add_file(&t, "big", (1 << 20) + 1, hash_a),
	    QH_ERR_LIMIT);
	assert_non_null(strstr(t.why, "at most 1 MiB per attachment"));
	assert_int_equal(qh_ticket_add_file(&t, "one", 1 << 20, hash_a), 0);
	assert_int_equal(qh_ticket_add_file(&t, "one", 1, hash_a), QH_ERR_FORMAT);
	assert_non_null(strstr(t.why, "two attachments are named one"));
	assert_int_equal(qh_ticket_add_file(&t, "two", 1 << 20, hash_b), 0);
	/* Sizes must add up to the total announced, and not pass it. */
	assert_int_equal(qh_ticket_finish(&t), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_add_file(&t, "three", (1 << 20) + 0, hash_b), 0);
	assert_int_equal(qh_ticket_add_file(&t, "four", 1, hash_b), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_finish(&t), 0);
	qh_ticket_free(&t);
}

/* Proposals: strict local times, offsets within a day. */
static void
test_slots(void **state QH_UNUSED)
{
	struct qh_ticket t;
	struct tm tm;

	qh_ticket_init(&t, NULL);
	assert_int_equal(qh_ticket_parse_when("2028-02-29T23:59", &tm), 0);
	assert_int_equal(qh_ticket_parse_when("2026-02-29T10:00", &tm), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_parse_when("2026-04-31T10:00", &tm), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_parse_when("2026-12-01T24:00", &tm), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_parse_when("2026-12-01 10:00", &tm), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_parse_when("2026-12-01T10:00:00", &tm), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_parse_when("2026-1-01T10:00", &tm), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_parse_when("+026-12-01T10:00", &tm), QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_add_slot(&t, "2026-12-01T10:00", 18 * 60), 0);
	assert_int_equal(qh_ticket_add_slot(&t, "2026-12-01T10:00", 18 * 60 + 1),
	    QH_ERR_FORMAT);
	assert_int_equal(qh_ticket_add_slot(&t, "2026-12-01T10:00", -18 * 60 - 1),
	    QH_ERR_FORMAT);
	while (t.nslots < QH_TICKET_SLOTS_MAX)
		assert_int_equal(qh_ticket_add_slot(&t, "2026-12-01T10:00", 0), 0);
	assert_int_equal(qh_ticket_add_slot(&t, "2026-12-01T10:00", 0), QH_ERR_LIMIT);
	qh_ticket_free(&t);
}

/* The key: content decides, the environment does not. */
static void
test_key(void **state QH_UNUSED)
{
	struct qh_ticket a, b;

	sample(&a);
	sample(&b);
	assert_memory_equal(a.key, b.key, 32);
	qh_buf_reset(&b.env);
	assert_int_equal(qh_ticket_add_text(&b, "environment", "{}", 2), 0);
	assert_int_equal(qh_ticket_make_key(&b, "a-123"), 0);
	assert_memory_equal(a.key, b.key, 32);
	assert_int_equal(qh_ticket_make_key(&b, "a-124"), 0);
	assert_memory_not_equal(a.key, b.key, 32);
	b.files[1].hash[31] ^= 1;
	assert_int_equal(qh_ticket_make_key(&b, "a-123"), 0);
	assert_memory_not_equal(a.key, b.key, 32);
	qh_ticket_free(&a);
	qh_ticket_free(&b);
}

/* Peer messages that do not fit the ticket exchange. */
static void
test_decode_refusals(void **state QH_UNUSED)
{
	struct qh_ticket t;
	struct qh_buf b;
	struct qh_msg m;

	qh_ticket_init(&t, NULL);
	qh_buf_init(&b, 1024);
	/* A REQUEST without a subject. */
	assert_int_equal(qh_msg_begin(&b, QH_MSG_REQUEST), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_CMD, "ticket"), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_KIND, "support"), 0);
	assert_int_equal(qh_msg_decode(qh_buf_ptr(&b), qh_buf_len(&b), &m), 0);
	assert_int_equal(qh_ticket_decode_request(&t, &m), QH_ERR_FORMAT);
	/* A message type that is not ticket metadata. */
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_RESIZE), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_ROWS, 1), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_COLS, 1), 0);
	assert_int_equal(qh_msg_decode(qh_buf_ptr(&b), qh_buf_len(&b), &m), 0);
	assert_int_equal(qh_ticket_decode(&t, &m), QH_ERR_PROTOCOL);
	/* Text of an unknown kind. */
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_TICKET_TEXT), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_KIND, "poem"), 0);
	assert_int_equal(qh_msg_put(&b, QH_K_CHUNK, "x", 1), 0);
	assert_int_equal(qh_msg_decode(qh_buf_ptr(&b), qh_buf_len(&b), &m), 0);
	assert_int_equal(qh_ticket_decode(&t, &m), QH_ERR_FORMAT);
	/* A subject over 200 bytes does not even decode as a message. */
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_REQUEST), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_CMD, "ticket"), 0);
	{
		char s[202];

		memset(s, 's', 201);
		s[201] = '\0';
		assert_int_equal(qh_msg_put_str(&b, QH_K_SUBJECT, s), 0);
	}
	assert_int_not_equal(qh_msg_decode(qh_buf_ptr(&b), qh_buf_len(&b), &m), 0);
	/* Steps that are not UTF-8 are refused at the end. */
	assert_int_equal(qh_ticket_set_header(&t, "support", "x", 0), 0);
	assert_int_equal(qh_ticket_add_text(&t, "steps", "\xff\xfe", 2), 0);
	assert_int_equal(qh_ticket_finish(&t), QH_ERR_FORMAT);
	assert_non_null(strstr(t.why, "UTF-8"));
	qh_buf_release(&b);
	qh_ticket_free(&t);
}

/* The environment must be one JSON object, strictly by RFC 8259. */
static void
test_environment(void **state QH_UNUSED)
{
	static const char *const good[] = {
		"{}",
		" { } ",
		"{\"a\":1}",
		"{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e4\\n\"}",
		"{\"n\":-0.5e+10,\"m\":0,\"t\":true,\"f\":false}",
		"{\"\xc3\xa4\":\"\xe2\x82\xac\"}",
		"{\"a\":[]}",
		"{\"a\":{}}",
		"{\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
	};
	static const char *const bad[] = {
		"",
		" ",
		"{",
		"}",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\":1,}",
		"{,}",
		"[1]",
		"\"s\"",
		"12",
		"{\"a\":01}",
		"{\"a\":1.}",
		"{\"a\":.5}",
		"{\"a\":+1}",
		"{\"a\":1e}",
		"{\"a\":tru}",
		"{\"a\":nul}",
		"{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12G4\"}",
		"{\"a\":\"tab\there\"}",
		"{\"a\":\"\xff\"}",
		"{\"a\":1}x",
		"{\"a\":1} {}",
		"{'a':1}",
		"{a:1}",
		"{\"a\":NaN}",
		"{\"a\":\"unterminated}",
		"{\"a\" 1}",
		"{\"a\":[1 2]}",
	};
	struct qh_ticket t;
	char deep[600];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!qh_ticket_env_valid(good[i], strlen(good[i])))
			fail_msg("refused: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (qh_ticket_env_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted: %s", bad[i]);
	/* A NUL byte is never JSON text. */
	assert_false(qh_ticket_env_valid("{}\0", 3));
	/* Nesting is bounded, without recursion trouble. */
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	deep[0] = '{';
	assert_false(qh_ticket_env_valid(deep, sizeof(deep)));
	/* A ticket whose environment is not an object is refused at its end. */
	qh_ticket_init(&t, NULL);
	assert_int_equal(qh_ticket_set_header(&t, "support", "x", 0), 0);
	assert_int_equal(qh_ticket_add_text(&t, "environment", "[1,2]", 5), 0);
	assert_int_equal(qh_ticket_finish(&t), QH_ERR_FORMAT);
	assert_non_null(strstr(t.why, "not a JSON object"));
	qh_ticket_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_chunks),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
