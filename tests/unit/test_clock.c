/*
 * Unit tests for common/clock.c: the stored timestamp format round-trips,
 * malformed or impossible dates are refused, and durations read well.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"

static void
test_format_parse(void **state QH_UNUSED)
{
	char buf[32];
	int64_t t = 0;

	qh_clock_format_utc(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	qh_clock_format_utc(1709251199, buf, sizeof(buf));
	assert_string_equal(buf, "2024-02-29T23:59:59Z");
	assert_int_equal(qh_clock_parse_utc(buf, &t), 0);
	assert_int_equal(t, 1709251199);

	t = qh_clock_now();
	qh_clock_format_utc(t, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 20);
	{
		int64_t back = 0;

		assert_int_equal(qh_clock_parse_utc(buf, &back), 0);
		assert_int_equal(back, t);
	}
}

static void
test_parse_rejects(void **state QH_UNUSED)
{
	static const char *const bad[] = {
		"",
		"2024-02-29",
		"2024-02-29T23:59:59",
		"2024-02-29 23:59:59Z",
		"2024-02-29T23:59:59+01:00",
		"2023-02-29T00:00:00Z",
		"2024-13-01T00:00:00Z",
		"2024-00-01T00:00:00Z",
		"2024-04-31T00:00:00Z",
		"2024-01-01T24:00:00Z",
		"2024-01-01T00:60:00Z",
		"2024-01-01T00:00:60Z",
		"2024-01-01T00:00:00Zx",
		"2O24-01-01T00:00:00Z",
		"1969-12-31T23:59:59Z",
	};
	size_t i;
	int64_t t;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (qh_clock_parse_utc(bad[i], &t) != QH_ERR_FORMAT)
			fail_msg("accepted '%s'", bad[i]);
	assert_int_equal(qh_clock_parse_utc(NULL, &t), QH_ERR_FORMAT);
}

static void
test_duration(void **state QH_UNUSED)
{
	char buf[32];

	qh_clock_format_duration(3, buf, sizeof(buf));
	assert_string_equal(buf, "3s");
	qh_clock_format_duration(123, buf, sizeof(buf));
	assert_string_equal(buf, "2m 03s");
	qh_clock_format_duration(3723, buf, sizeof(buf));
	assert_string_equal(buf, "1h 02m 03s");
	qh_clock_format_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	qh_clock_format_duration(-5, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
}

static void
test_monotonic(void **state QH_UNUSED)
{
	uint64_t a, b;

	a = qh_clock_mono_ms();
	b = qh_clock_mono_ms();
	assert_true(b >= a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
