/*
 * Unit tests for the JSON builder (common/json.c) and the bounded buffer's
 * kept error (common/buf.c): commas and colons placed by the builder,
 * nesting mistakes reported, bytes that are not UTF-8 written as U+FFFD,
 * and a full buffer giving an error instead of half a document.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/jsonread.h"

static void
assert_text(struct qh_buf *b, const char *want)
{
	assert_int_equal(qh_buf_len(b), strlen(want));
	assert_memory_equal(qh_buf_ptr(b), want, strlen(want));
}

static void
test_document(void **state QH_UNUSED)
{
	struct qh_buf b;
	struct qh_json j;

	qh_buf_init(&b, 4096);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "id", "acme");
	qh_json_kv_int(&j, "units", -4);
	qh_json_key(&j, "list");
	qh_json_begin_array(&j);
	qh_json_int(&j, 1);
	qh_json_begin_object(&j);
	qh_json_end_object(&j);
	qh_json_begin_array(&j);
	qh_json_end_array(&j);
	qh_json_str(&j, NULL);
	qh_json_bool(&j, 1);
	qh_json_end_array(&j);
	qh_json_kv_bool(&j, "low", 0);
	qh_json_kv_null(&j, "session");
	qh_json_end_object(&j);
	assert_int_equal(qh_json_finish(&j), 0);
	assert_text(&b,
	    "{\"id\":\"acme\",\"units\":-4,\"list\":[1,{},[],null,true],"
	    "\"low\":false,\"session\":null}");
	qh_buf_release(&b);
}

static void
test_strings(void **state QH_UNUSED)
{
	struct qh_buf b;
	struct qh_json j;
	struct qh_json_doc *doc = NULL;

	qh_buf_init(&b, 4096);
	qh_json_init(&j, &b);
	qh_json_begin_array(&j);
	qh_json_str(&j, "q\"b\\n\n\t\x01\x7f\xc2\x9b\xc2\x85");
	qh_json_str(&j, "B\xc3\xbcro-PC \xe2\x82\xac \xf0\x9f\x98\x80");
	/* A lead byte without its continuation, then valid text ("ls" survives). */
	qh_json_str(&j, "\xe2ls");
	/* Overlong, surrogate, past U+10FFFF, a lone continuation byte. */
	qh_json_str(&j, "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\x80");
	qh_json_end_array(&j);
	assert_int_equal(qh_json_finish(&j), 0);
	assert_text(&b,
	    "[\"q\\\"b\\\\n\\n\\t\\u0001\\u007f\\u009b\\u0085\","
	    "\"B\xc3\xbcro-PC \xe2\x82\xac \xf0\x9f\x98\x80\","
	    "\"\xef\xbf\xbdls\","
	    "\"\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\"]");
	/* Whatever went in, the project's own reader takes the output. */
	assert_int_equal(qh_json_parse((const char *)qh_buf_ptr(&b), qh_buf_len(&b),
			     &doc),
	    0);
	assert_non_null(qh_json_root(doc));
	qh_json_free(doc);
	qh_buf_release(&b);
}

static void
test_nesting_errors(void **state QH_UNUSED)
{
	struct qh_buf b;
	struct qh_json j;

	qh_buf_init(&b, 4096);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_int(&j, 1); /* a value without a key */
	assert_int_equal(qh_json_finish(&j), QH_ERR_INTERNAL);

	qh_buf_reset(&b);
	qh_json_init(&j, &b);
	qh_json_begin_array(&j);
	qh_json_key(&j, "k"); /* a key in an array */
	assert_int_equal(qh_json_error(&j), QH_ERR_INTERNAL);

	qh_buf_reset(&b);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_end_array(&j); /* the wrong closer */
	assert_int_equal(qh_json_finish(&j), QH_ERR_INTERNAL);

	qh_buf_reset(&b);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_key(&j, "open");
	assert_int_equal(qh_json_finish(&j), QH_ERR_INTERNAL); /* never closed */
	qh_buf_release(&b);
}

static void
test_full_buffer(void **state QH_UNUSED)
{
	struct qh_buf b;
	struct qh_json j;
	int i;

	qh_buf_init(&b, 64);
	qh_json_init(&j, &b);
	qh_json_begin_array(&j);
	for (i = 0; i < 100; i++)
		qh_json_str(&j, "twenty bytes of text");
	qh_json_end_array(&j);
	assert_int_equal(qh_json_finish(&j), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_error(&b), QH_ERR_TOO_LARGE);
	qh_buf_release(&b);
}

/* After one failed put, later puts append nothing, however small. */
static void
test_buf_keeps_error(void **state QH_UNUSED)
{
	struct qh_buf b;
	size_t len;

	qh_buf_init(&b, 8);
	assert_int_equal(qh_buf_put(&b, "abcdef", 6), 0);
	assert_int_equal(qh_buf_put(&b, "ghijkl", 6), QH_ERR_TOO_LARGE);
	len = qh_buf_len(&b);
	assert_int_equal(qh_buf_put_u8(&b, 'x'), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_put_string(&b, "", 0), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), len);
	assert_int_equal(qh_buf_error(&b), QH_ERR_TOO_LARGE);
	qh_buf_reset(&b);
	assert_int_equal(qh_buf_error(&b), 0);
	assert_int_equal(qh_buf_put_u8(&b, 'x'), 0);
	qh_buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_nesting_errors),
		cmocka_unit_test(test_full_buffer),
		cmocka_unit_test(test_buf_keeps_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
