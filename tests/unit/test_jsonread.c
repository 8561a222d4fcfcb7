/*
 * Unit tests for common/jsonread.c and common/envinfo.c: values of every
 * kind come out as written (escapes and surrogate pairs decoded, integers
 * exact to the ends of int64_t); malformed text, NUL, lone surrogates,
 * control characters, trailing garbage and nesting past the bound are
 * refused; the facts render as labelled lines with control characters
 * made harmless.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/jsonread.h"

static struct qh_json_doc *
parse_ok(const char *s)
{
	struct qh_json_doc *doc = NULL;

	assert_int_equal(qh_json_parse(s, strlen(s), &doc), 0);
	assert_non_null(doc);
	return doc;
}

static void
test_values(void **state QH_UNUSED)
{
	struct qh_json_doc *doc = parse_ok(
	    " {\"s\": \"a\\\"\\u00e9\\ud83d\\ude00\\n\","
	    " \"i\": -42, \"big\": 9223372036854775807, \"small\": -9223372036854775808,"
	    " \"over\": 9223372036854775808, \"f\": 2.5e1, \"t\": true, \"n\": null,"
	    " \"a\": [1, [], {}], \"s\": \"second\"} ");
	const struct qh_json_node *o = qh_json_root(doc), *a;
	int64_t v;

	assert_int_equal(o->type, QH_JSON_OBJECT);
	assert_int_equal(o->count, 10);
	/* The first of two members with one name counts. */
	assert_string_equal(qh_json_get_str(o, "s"), "a\"\xc3\xa9\xf0\x9f\x98\x80\n");
	assert_int_equal(qh_json_get_int(o, "i", &v), 0);
	assert_true(v == -42);
	assert_int_equal(qh_json_get_int(o, "big", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(qh_json_get_int(o, "small", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(qh_json_get_int(o, "over", &v), QH_ERR_FORMAT);
	assert_int_equal(qh_json_get_int(o, "f", &v), QH_ERR_FORMAT);
	assert_true(qh_json_get(o, "f")->num == 25.0);
	assert_int_equal(qh_json_get(o, "t")->type, QH_JSON_TRUE);
	assert_int_equal(qh_json_get(o, "n")->type, QH_JSON_NULL);
	assert_int_equal(qh_json_get_int(o, "missing", &v), QH_ERR_NOT_FOUND);
	assert_null(qh_json_get_str(o, "i"));
	a = qh_json_get(o, "a");
	assert_int_equal(a->count, 3);
	assert_int_equal(a->child->next->type, QH_JSON_ARRAY);
	assert_int_equal(a->child->next->next->type, QH_JSON_OBJECT);
	assert_null(a->child->key);
	qh_json_free(doc);
}

static void
test_refused(void **state QH_UNUSED)
{
	static const char *const bad[] = { "", " ", "{", "[1,]", "{\"a\":1,}",
		"{\"a\" 1}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "tru", "nul",
		"\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u0000\"", "\"\\udc00\"",
		"\"\\ud800\"", "\"\\ud800\\u0041\"", "\"tab\there\"", "[1] 2", "[1]]",
		"{\"a\":1]", "[\"\xff\"]", "[\"\xc0\xaf\"]", "[1e999]", NULL };
	struct qh_json_doc *doc;
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		doc = (struct qh_json_doc *)1;
		assert_int_not_equal(qh_json_parse(bad[i], strlen(bad[i]), &doc), 0);
		assert_null(doc);
	}
	/* A NUL byte in the text itself. */
	assert_int_equal(qh_json_parse("[\"a\0b\"]", 7, &doc), QH_ERR_FORMAT);
}

static void
test_depth(void **state QH_UNUSED)
{
	char text[2 * (QH_JSON_MAX_DEPTH + 1) + 1];
	struct qh_json_doc *doc = NULL;
	int i;

	for (i = 0; i < QH_JSON_MAX_DEPTH; i++) {
		text[i] = '[';
		text[2 * QH_JSON_MAX_DEPTH - 1 - i] = ']';
	}
	assert_int_equal(qh_json_parse(text, 2 * QH_JSON_MAX_DEPTH, &doc), 0);
	qh_json_free(doc);
	for (i = 0; i <= QH_JSON_MAX_DEPTH; i++) {
		text[i] = '[';
		text[2 * QH_JSON_MAX_DEPTH + 1 - i] = ']';
	}
	assert_int_equal(qh_json_parse(text, 2 * QH_JSON_MAX_DEPTH + 2, &doc),
	    QH_ERR_TOO_LARGE);
	assert_null(doc);
}

static void
test_envinfo_text(void **state QH_UNUSED)
{
	const char *facts =
	    "{\"os\":\"Debian\\u001b[2J\",\"kernel\":\"6.1\",\"arch\":"
	    "\"x86_64\",\"hostname\":\"pc-7\",\"user\":\"maria\",\"cpu_model\":\"Xeon\","
	    "\"cpu_cores\":4,\"memory_total_bytes\":8589934592,"
	    "\"memory_available_bytes\":4294967296,\"disks\":[{\"mount\":\"/\","
	    "\"fs\":\"ext4\",\"size_bytes\":107374182400,\"free_bytes\":53687091200}],"
	    "\"uptime_seconds\":90061,\"locale\":\"de_DE.UTF-8\",\"timezone\":"
	    "\"Europe/Berlin\",\"interfaces\":[{\"name\":\"eth0\",\"addresses\":"
	    "[\"10.0.0.2/24\",\"fe80::1/64\"]},{\"name\":\"wg0\",\"addresses\":[]}]}";
	struct qh_buf out;
	char *text;

	qh_buf_init(&out, 65536);
	assert_int_equal(qh_envinfo_text(facts, strlen(facts), &out), 0);
	text = strndup((const char *)qh_buf_ptr(&out), qh_buf_len(&out));
	assert_non_null(strstr(text, "OS:           Debian?[2J\n"));
	assert_non_null(strstr(text, "CPU:          Xeon, 4 cores\n"));
	assert_non_null(strstr(text, "Memory:       8.0 GiB total, 4.0 GiB available\n"));
	assert_non_null(
	    strstr(text, "Disks:        / (ext4): 100.0 GiB, 50.0 GiB free\n"));
	assert_non_null(strstr(text, "Uptime:       1 day, 01:01:01\n"));
	assert_non_null(strstr(text, "Time zone:    Europe/Berlin\n"));
	assert_non_null(strstr(text,
	    "Network:      eth0: 10.0.0.2/24, fe80::1/64\n"
	    "              wg0: no address\n"));
	assert_null(strchr(text, '\x1b'));
	free(text);
	qh_buf_reset(&out);
	assert_int_equal(qh_envinfo_text("[1]", 3, &out), QH_ERR_FORMAT);
	assert_int_equal(qh_envinfo_text("{", 1, &out), QH_ERR_FORMAT);
	qh_buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_envinfo_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
