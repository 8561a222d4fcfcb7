/*
 * Unit tests for common/addr.c: HOST:PORT and [V6]:PORT splitting with
 * its bounds, address literals, and the names that may name the console.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "qh/addr.h"
#include "qh/compat.h"
#include "qh/err.h"

static void
test_split_hostport(void **state QH_UNUSED)
{
	char host[64];
	int port = 0;

	assert_int_equal(qh_split_hostport("example.com:7443", host, sizeof(host), &port),
	    0);
	assert_string_equal(host, "example.com");
	assert_int_equal(port, 7443);
	assert_int_equal(qh_split_hostport("1.2.3.4:5", host, sizeof(host), &port), 0);
	assert_string_equal(host, "1.2.3.4");
	assert_int_equal(port, 5);
	assert_int_equal(qh_split_hostport("[::1]:5", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(qh_split_hostport("0.0.0.0:65535", host, sizeof(host), &port),
	    0);
	assert_int_equal(port, 65535);

	assert_true(qh_split_hostport("bogus", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("host:0", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("host:65536", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("host:99999999999", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("host:", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport(":80", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("host:8a", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("host:-1", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("::1:80", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("[::1]80", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("[nope]:80", host, sizeof(host), &port) < 0);
	assert_true(qh_split_hostport("a b:80", host, sizeof(host), &port) < 0);
	assert_int_equal(qh_split_hostport("averyveryverylonghostname:80", host, 8,
			     &port),
	    QH_ERR_TOO_LARGE);
}

static void
test_family(void **state QH_UNUSED)
{
	assert_int_equal(qh_addr_family("127.0.0.1"), AF_INET);
	assert_int_equal(qh_addr_family("::1"), AF_INET6);
	assert_int_equal(qh_addr_family("fe80::1:2"), AF_INET6);
	assert_int_equal(qh_addr_family("localhost"), 0);
	assert_int_equal(qh_addr_family("1.2.3"), 0);
	assert_int_equal(qh_addr_family("[::1]"), 0);
	assert_int_equal(qh_addr_family(""), 0);
}

static void
test_host_valid(void **state QH_UNUSED)
{
	assert_true(qh_pki_host_valid("console.example.com"));
	assert_true(qh_pki_host_valid("localhost"));
	assert_true(qh_pki_host_valid("10.0.0.1"));
	assert_true(qh_pki_host_valid("::1"));
	assert_true(qh_pki_host_valid("fe80::1:2"));
	assert_false(qh_pki_host_valid(""));
	assert_false(qh_pki_host_valid("-bad.example"));
	assert_false(qh_pki_host_valid("bad-.example"));
	assert_false(qh_pki_host_valid("a..b"));
	assert_false(qh_pki_host_valid("a.b."));
	assert_false(qh_pki_host_valid("a_b"));
	assert_false(qh_pki_host_valid("a b"));
	assert_false(qh_pki_host_valid("a,DNS:evil"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_hostport),
		cmocka_unit_test(test_family),
		cmocka_unit_test(test_host_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
