/*
 * Fuzz target for the words of a report request over TLS
 * (console/daemon/account_words.c): the input unpacks as an argument
 * vector (QH_K_ARG) and goes through account_check. What passes names a
 * known report, never --state, --tech or --out, and every option word is
 * one spelt out in full.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/wire.h"
#include "daemon/account_words.h"

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct account_plan plan;
	char **argv;
	int argc, i;

	if (qh_argv_unpack(data, size, &argv, &argc) != 0)
		return 0;
	if (account_check(argv, argc, &plan) == NULL) {
		CHECK(plan.name != NULL);
		CHECK(plan.nout <= ACCOUNT_WORDS_MAX + 1);
		for (i = 0; i < plan.nout; i++) {
			CHECK(plan.out[i] != NULL);
			CHECK(strcmp(plan.out[i], "--state") != 0);
			CHECK(strcmp(plan.out[i], "--tech") != 0);
			CHECK(strcmp(plan.out[i], "--out") != 0);
			CHECK(strchr(plan.out[i], '=') == NULL || plan.out[i][0] != '-');
		}
	}
	free(argv);
	return 0;
}
