/*
 * Unit tests for e-mail addresses (qh/mailaddr.h): what is taken and what
 * is refused (anything that could leave an address in a header or an SMTP
 * command: blanks, line breaks, angle brackets, commas, quotes), the
 * lengths, and splitting a list with duplicates dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/mailaddr.h"

static void
test_valid(void **state QH_UNUSED)
{
	static const char *const good[] = { "it@acme.example", "a.b+c@x.de",
		"o'brien@mail.example.co.uk", "x@localhost", "1@2.3",
		"support-desk@vendor-1.example" };
	static const char *const bad[] = { "", "@", "a@", "@b", "a b@c.de", "a@b c.de",
		"a@b.de\r\nBcc: x@y.de", "<a@b.de>", "a,b@c.de", "\"a\"@b.de",
		"a..b@c.de", ".a@b.de", "a.@b.de", "a@b..de", "a@-b.de", "a@b-.de",
		"a@[127.0.0.1]", "a@b.de.", "a@@b.de", "a@b_c.de", "ä@b.de" };
	char local[80], label[80], addr[400];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(qh_mail_addr_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (qh_mail_addr_valid(bad[i]))
			fail_msg("took %s", bad[i]);
	assert_false(qh_mail_addr_valid(NULL));

	/* 64 bytes of local part and 63 of a label are fine, one more is not. */
	memset(local, 'l', 64);
	local[64] = '\0';
	memset(label, 'd', 63);
	label[63] = '\0';
	snprintf(addr, sizeof(addr), "%s@%s.de", local, label);
	assert_true(qh_mail_addr_valid(addr));
	snprintf(addr, sizeof(addr), "%sl@%s.de", local, label);
	assert_false(qh_mail_addr_valid(addr));
	snprintf(addr, sizeof(addr), "%s@%sd.de", local, label);
	assert_false(qh_mail_addr_valid(addr));
	/* 254 bytes in all at most. */
	snprintf(addr, sizeof(addr), "%s@%s.%s.%s.de", local, label, label, label);
	assert_false(qh_mail_addr_valid(addr));
	assert_string_equal(qh_mail_addr_domain("it@acme.example"), "acme.example");
	assert_null(qh_mail_addr_domain("nope"));
}

static void
test_list(void **state QH_UNUSED)
{
	char out[4][QH_MAIL_ADDR_MAX + 1];

	assert_int_equal(qh_mail_addr_list("", out, 4), 0);
	assert_int_equal(qh_mail_addr_list(" ,\t, ", out, 4), 0);
	assert_int_equal(qh_mail_addr_list("a@b.de, c@d.de,e@f.de", out, 4), 3);
	assert_string_equal(out[0], "a@b.de");
	assert_string_equal(out[2], "e@f.de");
	/* The same address twice (any case) counts once. */
	assert_int_equal(qh_mail_addr_list("a@b.de A@B.DE a@b.de", out, 4), 1);
	assert_int_equal(qh_mail_addr_list("a@b.de, nope", out, 4), QH_ERR_FORMAT);
	assert_int_equal(qh_mail_addr_list("a@b.de b@b.de c@b.de d@b.de e@b.de", out, 4),
	    QH_ERR_LIMIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
