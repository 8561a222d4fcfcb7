/*
 * Fuzz target for join tokens: qh_token_decode on the input as text. What
 * decodes has a valid address, a 64-digit pin and a 32-digit secret, and
 * encoding it again gives a token that decodes to the same fields. The
 * same text as a short code (qh_short_parse, which the console runs on a
 * JOIN's token) and as a pin: what parses is in its alphabet and parses
 * again to itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/token.h"

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "check failed: %s\n", #x);                       \
			abort();                                                         \
		}                                                                        \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qh_token t, u;
	char text[QH_TOKEN_MAX + 64], again[QH_TOKEN_MAX], code[QH_SHORT_LEN + 1],
	    code2[QH_SHORT_LEN + 1], pin[65], pin2[65];

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (qh_short_parse(text, code, sizeof(code)) == 0) {
		CHECK(strlen(code) == QH_SHORT_LEN &&
		    strspn(code, QH_SHORT_ALPHABET) == QH_SHORT_LEN);
		CHECK(qh_short_parse(code, code2, sizeof(code2)) == 0 &&
		    strcmp(code, code2) == 0);
	}
	if (qh_pin_parse(text, pin, sizeof(pin)) == 0) {
		CHECK(
		    qh_pin_parse(pin, pin2, sizeof(pin2)) == 0 && strcmp(pin, pin2) == 0);
	}
	if (qh_token_decode(text, &t) != 0)
		return 0;
	CHECK(strlen(t.pin) == 64 && strlen(t.secret) == QH_TOKEN_SECRET_LEN);
	CHECK(qh_token_encode(&t, again, sizeof(again)) == 0);
	CHECK(qh_token_decode(again, &u) == 0);
	CHECK(strcmp(t.console, u.console) == 0 && strcmp(t.pin, u.pin) == 0 &&
	    strcmp(t.secret, u.secret) == 0);
	return 0;
}
