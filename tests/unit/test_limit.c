/*
 * Limits per source address (issue 10, #1): address keys (IPv4 /32, IPv6
 * /64) and the per-address connection counts.
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
test_keys(void **state)
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
test_counts(void **state)
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
		cmocka_unit_test(test_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
