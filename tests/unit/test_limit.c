/*
 * Limits per source address (issue 10, #1 and #5): address keys (IPv4 /32,
 * IPv6 /64), the failed-join delays (never as long as the agent's 30 s
 * timeout), the failed-join table bounded at 1 MiB however many sources
 * rotate through it, and the per-address connection counts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "qh/compat.h"
#include "daemon/limit.h"

static uint64_t
key4(const char *ip)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return limit_key_sockaddr((struct sockaddr *)&sin);
}

static uint64_t
key6(const char *ip)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return limit_key_sockaddr((struct sockaddr *)&sin6);
}

static void
test_keys(void **state QH_UNUSED)
{
	/* Text as qh_mux_peer_addr gives it, and sockets, agree. */
	assert_true(limit_key_text("10.1.2.3:443") == key4("10.1.2.3"));
	assert_true(limit_key_text("10.1.2.3:443") != key4("10.1.2.4"));
	assert_true(limit_key_text("2001:db8::1:443") == key6("2001:db8::1"));
	assert_true(limit_key_text("[2001:db8::1]:443") == key6("2001:db8::1"));
	/* One /64 is one key; the next /64 another. */
	assert_true(key6("2001:db8:0:0:1::1") == key6("2001:db8::ffff:ffff:ffff:ffff"));
	assert_true(key6("2001:db8:0:1::1") != key6("2001:db8::1"));
	/* A v4-mapped address is its IPv4 address, and no IPv6 /64. */
	assert_true(key6("::ffff:10.1.2.3") == key4("10.1.2.3"));
	assert_true(key4("0.0.0.1") != key6("::1"));
}

static void
test_delays_stay_under_the_agent_timeout(void **state QH_UNUSED)
{
	static const uint64_t want[] = { 0, 0, 0, 1000, 2000, 4000, 8000, 10000, 10000 };
	uint64_t k = key4("192.0.2.7");
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(limit_fail_delay_ms(k), want[i]);
		limit_fail(k);
	}
	for (i = 0; i < 1000; i++)
		limit_fail(k);
	assert_int_equal(limit_fail_delay_ms(k), LIMIT_FAIL_MAX_MS);
	assert_true(LIMIT_FAIL_MAX_MS <= 30000 / 2); /* the agent waits 30 s */
	assert_int_equal(limit_fail_delay_ms(key4("192.0.2.8")), 0);
}

static void
test_table_is_bounded_and_keeps_its_sources(void **state QH_UNUSED)
{
	uint64_t a = key4("198.51.100.1"), k;
	uint32_t i;
	int n;

	for (n = 0; n < 3; n++)
		limit_fail(a);
	assert_int_equal(limit_fail_delay_ms(a), 1000);
	/* 200,000 sources rotate through the table, three failures each. */
	for (i = 0; i < 200000; i++) {
		k = key6("2001:db8::") + ((uint64_t)i << 16);
		for (n = 0; n < 3; n++)
			limit_fail(k);
	}
	assert_true(limit_fail_table_bytes() <= 1024 * 1024);
	/* The first source was not pushed out by them. */
	assert_int_equal(limit_fail_delay_ms(a), 1000);
	/* New sources find the table full: they are slowed down together. */
	for (i = 0, n = 0; i < 100; i++)
		n += limit_fail_delay_ms(key6("2001:db9::") + ((uint64_t)i << 16)) > 0;
	assert_true(n >= 90);
}

static void
test_counts(void **state QH_UNUSED)
{
	struct limit_counts *c = limit_counts_new(64);
	unsigned ref[64];
	size_t i;
	int round;

	assert_non_null(c);
	memset(ref, 0, sizeof(ref));
	srand(7);
	for (round = 0; round < 20000; round++) {
		i = (size_t)rand() % 64;
		if (ref[i] > 0 && rand() % 2) {
			limit_count_del(c, (uint64_t)i * 0x10000);
			ref[i]--;
		} else {
			assert_int_equal(limit_count_add(c, (uint64_t)i * 0x10000), 0);
			ref[i]++;
		}
		i = (size_t)rand() % 64;
		assert_int_equal(limit_count(c, (uint64_t)i * 0x10000), ref[i]);
	}
	for (i = 0; i < 64; i++)
		while (ref[i] > 0) {
			limit_count_del(c, (uint64_t)i * 0x10000);
			ref[i]--;
		}
	/* At most max keys at once; another key is refused, more of one is not. */
	for (i = 0; i < 64; i++)
		assert_int_equal(limit_count_add(c, i + 1), 0);
	assert_int_equal(limit_count_add(c, 1000), -1);
	assert_int_equal(limit_count_add(c, 5), 0);
	assert_int_equal(limit_count(c, 5), 2);
	limit_count_del(c, 9);
	assert_int_equal(limit_count_add(c, 1000), 0);
	assert_int_equal(limit_count(c, 9), 0);
	limit_counts_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_delays_stay_under_the_agent_timeout),
		cmocka_unit_test(test_table_is_bounded_and_keeps_its_sources),
		cmocka_unit_test(test_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
