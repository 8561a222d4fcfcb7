/*
 * Unit tests for the recording request of the desk codec (qh/desk.h):
 * which file names are a recording's (none that can leave the session's
 * folder), and that a request the encoder writes decodes to the same one
 * while the decoder refuses what the encoder would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/desk.h"
#include "qh/err.h"
#include "qh/wire.h"

static void
test_names(void **state QH_UNUSED)
{
	static const char *const good[] = { "1-attach.cast", "34-ssh.cast",
		"12-desktop.fbs", "12-desktop.client.fbs", "9-a_b-c.cast",
		"1234567890123456789-x.cast" };
	static const char *const bad[] = { "", "attach.cast", "-attach.cast", "1-.cast",
		"1-attach", "1-attach.cast.txt", "1-Attach.cast", "../1-attach.cast",
		"1-attach.cast/..", "1-a/b.cast", "1-attach.client.cast", "1-x.fbs.cast",
		"12345678901234567890-x.cast", "1-attach.cast\n", "1 -attach.cast",
		"1-abcdefghijklmnopqrstuvwxyz0123456.cast" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!qh_desk_recording_name_valid(good[i]))
			fail_msg("refused %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (qh_desk_recording_name_valid(bad[i]))
			fail_msg("took %s", bad[i]);
}

/* Encodes r, decodes it again into *out; returns the decoder's result. */
static int
roundtrip(const struct qh_desk_req *r, struct qh_desk_req *out)
{
	struct qh_buf b;
	struct qh_msg m;
	char why[256];
	int e;

	qh_buf_init(&b, QH_MSG_MAX_LEN);
	assert_int_equal(qh_desk_req_encode(r, &b), 0);
	assert_int_equal(qh_msg_decode(qh_buf_ptr(&b), qh_buf_len(&b), &m), 0);
	e = qh_desk_req_decode(&m, out, why, sizeof(why));
	qh_buf_release(&b);
	return e;
}

static void
test_request(void **state QH_UNUSED)
{
	struct qh_desk_req r, back;
	struct qh_buf b;
	struct qh_msg m;
	char why[256];

	memset(&r, 0, sizeof(r));
	r.cmd = QH_DESK_RECORDING;
	r.id = 42;
	snprintf(r.name, sizeof(r.name), "%s", "7-attach.cast");
	assert_string_equal(qh_desk_cmd_name(r.cmd), "recording");
	assert_int_equal(qh_desk_cmd_parse("recording"), QH_DESK_RECORDING);
	assert_int_equal(roundtrip(&r, &back), 0);
	assert_int_equal(back.cmd, QH_DESK_RECORDING);
	assert_int_equal(back.id, 42);
	assert_string_equal(back.name, "7-attach.cast");

	/* The encoder refuses what the decoder would. */
	qh_buf_init(&b, QH_MSG_MAX_LEN);
	r.id = 0;
	assert_int_equal(qh_desk_req_encode(&r, &b), QH_ERR_ARG);
	r.id = 42;
	snprintf(r.name, sizeof(r.name), "%s", "../ledger.db");
	assert_int_equal(qh_desk_req_encode(&r, &b), QH_ERR_ARG);

	/* A peer's request without the session, or with a path, is refused. */
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_REQUEST), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_CMD, "recording"), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_NAME, "7-attach.cast"), 0);
	assert_int_equal(qh_msg_decode(qh_buf_ptr(&b), qh_buf_len(&b), &m), 0);
	assert_int_equal(qh_desk_req_decode(&m, &back, why, sizeof(why)), QH_ERR_FORMAT);
	assert_string_equal(why, "no session number");
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_REQUEST), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_CMD, "recording"), 0);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_ID, 42), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_NAME, "7-attach/../../x.cast"), 0);
	assert_int_equal(qh_msg_decode(qh_buf_ptr(&b), qh_buf_len(&b), &m), 0);
	assert_int_equal(qh_desk_req_decode(&m, &back, why, sizeof(why)), QH_ERR_FORMAT);
	assert_string_equal(why, "not a recording's file name");
	qh_buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
