/*
 * Fuzz target for e-mail addresses (qh/mailaddr.h): the input as one
 * address and as a list. What is taken can stand in a header and an SMTP
 * command as it is (no blank, control character, angle bracket, comma or
 * quote; at most 254 bytes; exactly one '@' before a domain), and each
 * address of a list is taken alone too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/mailaddr.h"

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "check failed: %s\n", #x);                       \
			abort();                                                         \
		}                                                                        \
	} while (0)

static void
check_taken(const char *a)
{
	const char *p;

	CHECK(strlen(a) >= 3 && strlen(a) <= QH_MAIL_ADDR_MAX);
	for (p = a; *p != '\0'; p++)
		CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f &&
		    strchr("<>,\"()[]\\;:", *p) == NULL);
	CHECK(strchr(a, '@') != NULL && strchr(a, '@') == strrchr(a, '@'));
	CHECK(qh_mail_addr_domain(a) != NULL && qh_mail_addr_domain(a)[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[2048], out[8][QH_MAIL_ADDR_MAX + 1];
	int n, i;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (qh_mail_addr_valid(text))
		check_taken(text);
	n = qh_mail_addr_list(text, out, 8);
	CHECK(n >= QH_ERR_MAX && n <= 8);
	for (i = 0; i < n; i++) {
		CHECK(qh_mail_addr_valid(out[i]));
		check_taken(out[i]);
	}
	return 0;
}
