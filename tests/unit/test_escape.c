/*
 * Unit tests for the technician's escape filter (console/tech/escape.c), shared by
 * attach and ssh: "~." at the start of a line detaches, "~~" sends one "~",
 * a "~" anywhere else or before another byte goes through, a "~" held at
 * the end of one read is decided by the next, and the output never grows
 * by more than one byte per call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "tech/client.h"

/* Runs s through the filter; returns its verdict, out holds what is sent. */
static int
run(struct tech_escape *e, const char *s, struct qh_buf *out)
{
	return tech_escape_filter(e, (const uint8_t *)s, strlen(s), out);
}

/* The bytes in out as a C string (tests keep them short). */
static const char *
text(struct qh_buf *out)
{
	static char buf[256];
	size_t n = qh_buf_len(out);

	assert_true(n < sizeof(buf));
	if (n > 0)
		memcpy(buf, qh_buf_ptr(out), n);
	buf[n] = '\0';
	return buf;
}

static void
test_detach_at_line_start(void **state QH_UNUSED)
{
	struct tech_escape e;
	struct qh_buf out;

	qh_buf_init(&out, 1024);
	tech_escape_init(&e);
	assert_int_equal(run(&e, "~.", &out), 1);
	assert_string_equal(text(&out), "");

	qh_buf_reset(&out);
	tech_escape_init(&e);
	assert_int_equal(run(&e, "ls\r~.rest", &out), 1);
	assert_string_equal(text(&out), "ls\r");
	qh_buf_release(&out);
}

static void
test_tilde_elsewhere_passes(void **state QH_UNUSED)
{
	struct tech_escape e;
	struct qh_buf out;

	qh_buf_init(&out, 1024);
	tech_escape_init(&e);
	assert_int_equal(run(&e, "cd ~.\r", &out), 0);
	assert_string_equal(text(&out), "cd ~.\r");

	qh_buf_reset(&out);
	assert_int_equal(run(&e, "~~x\n~y", &out), 0);
	assert_string_equal(text(&out), "~x\n~y");
	qh_buf_release(&out);
}

static void
test_held_tilde_across_reads(void **state QH_UNUSED)
{
	struct tech_escape e;
	struct qh_buf out;

	qh_buf_init(&out, 1024);
	tech_escape_init(&e);
	assert_int_equal(run(&e, "~", &out), 0);
	assert_string_equal(text(&out), "");
	assert_int_equal(run(&e, ".", &out), 1);

	qh_buf_reset(&out);
	tech_escape_init(&e);
	assert_int_equal(run(&e, "~", &out), 0);
	assert_int_equal(run(&e, "a", &out), 0);
	assert_string_equal(text(&out), "~a");

	/* At the end of input a held "~" is sent. */
	qh_buf_reset(&out);
	tech_escape_init(&e);
	assert_int_equal(run(&e, "~", &out), 0);
	assert_int_equal(tech_escape_filter(&e, NULL, 0, &out), 0);
	assert_string_equal(text(&out), "~");
	qh_buf_release(&out);
}

static void
test_output_bound(void **state QH_UNUSED)
{
	struct tech_escape e;
	struct qh_buf out;

	/* The contract: at most len + 1 bytes per call. */
	qh_buf_init(&out, 1024);
	tech_escape_init(&e);
	assert_int_equal(run(&e, "~", &out), 0);
	qh_buf_reset(&out);
	assert_int_equal(run(&e, "~~~~", &out), 0);
	assert_true(qh_buf_len(&out) <= 5);
	assert_string_equal(text(&out), "~~~~"); /* "~~" is one, then three */
	qh_buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detach_at_line_start),
		cmocka_unit_test(test_tilde_elsewhere_passes),
		cmocka_unit_test(test_held_tilde_across_reads),
		cmocka_unit_test(test_output_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
