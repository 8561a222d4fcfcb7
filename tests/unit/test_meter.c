/*
 * R2: billable time is the union of the intervals in which at least one
 * technician command runs and the agent is connected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "qh/compat.h"
#include "daemon/meter.h"

#define S(x) ((uint64_t)(x)*1000)

static void
test_one_command(void **state QH_UNUSED)
{
	struct meter m;

	meter_init(&m, 1, S(0));
	assert_int_equal(meter_ms(&m, S(50)), 0); /* waiting is free */
	meter_attach(&m, S(100));
	assert_int_equal(meter_ms(&m, S(400)), S(300));
	meter_detach(&m, S(700));
	assert_int_equal(meter_ms(&m, S(9999)), S(600));
}

static void
test_two_technicians_bill_their_union(void **state QH_UNUSED)
{
	struct meter m;

	meter_init(&m, 1, S(0));
	meter_attach(&m, S(0));	  /* alice 0..300 */
	meter_attach(&m, S(120)); /* bob 120..420 */
	meter_detach(&m, S(300));
	meter_detach(&m, S(420));
	assert_int_equal(meter_ms(&m, S(1000)), S(420));
}

static void
test_nested_and_gaps_between_commands(void **state QH_UNUSED)
{
	struct meter m;

	meter_init(&m, 1, S(0));
	meter_attach(&m, S(0));
	meter_attach(&m, S(10));
	meter_detach(&m, S(20));
	meter_detach(&m, S(100)); /* 0..100 */
	meter_attach(&m, S(500));
	meter_detach(&m, S(530)); /* 500..530; the gap 100..500 is free */
	assert_int_equal(meter_ms(&m, S(600)), S(130));
}

static void
test_agent_gap_is_not_billed(void **state QH_UNUSED)
{
	struct meter m;

	meter_init(&m, 1, S(0));
	meter_attach(&m, S(0));
	meter_agent(&m, 0, S(100));
	assert_int_equal(meter_ms(&m, S(150)), S(100));
	meter_agent(&m, 1, S(160));
	meter_detach(&m, S(600));
	assert_int_equal(meter_ms(&m, S(700)), S(540));
}

static void
test_attached_while_agent_away(void **state QH_UNUSED)
{
	struct meter m;

	meter_init(&m, 0, S(0));
	meter_attach(&m, S(10)); /* no agent: nothing runs, nothing bills */
	assert_int_equal(meter_ms(&m, S(50)), 0);
	meter_agent(&m, 1, S(50));
	meter_stop(&m, S(80));
	assert_int_equal(meter_ms(&m, S(200)), S(30));
	meter_detach(&m, S(300)); /* a late detach changes nothing */
	assert_int_equal(meter_ms(&m, S(400)), S(30));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_command),
		cmocka_unit_test(test_two_technicians_bill_their_union),
		cmocka_unit_test(test_nested_and_gaps_between_commands),
		cmocka_unit_test(test_agent_gap_is_not_billed),
		cmocka_unit_test(test_attached_while_agent_away),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
