/*
 * Fuzz target for the accounting pages' queries (console/web/report_words.h):
 * the input is a route byte and the query's values separated by NUL bytes
 * (customer, from, to, month, head), as lws hands them over decoded. What
 * is accepted becomes words that the console's own check of a report
 * request (console/daemon/account_words.c) accepts too, with every value
 * where an option expects it and none of them an option; the words are
 * checked again after the request's packing (qh_argv_pack/unpack).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/wire.h"
#include "daemon/account_words.h"
#include "web/report_words.h"

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
	char v[5][WEB_VALUE_MAX + 1];
	const char *slot[5] = { NULL, NULL, NULL, NULL, NULL };
	struct web_report_query q;
	struct web_report_words w;
	struct account_plan plan;
	struct qh_buf packed;
	size_t at = 1, n;
	char **argv;
	int argc, i, k;

	if (size < 1)
		return 0;
	/* Up to five NUL-separated values, each as long as read_query lets through. */
	for (i = 0; i < 5 && at <= size; i++) {
		const uint8_t *end = memchr(data + at, 0, size - at);

		n = end != NULL ? (size_t)(end - (data + at)) : size - at;
		if (n > WEB_VALUE_MAX)
			return 0;
		memcpy(v[i], data + at, n);
		v[i][n] = '\0';
		if (strlen(v[i]) == n)
			slot[i] = v[i];
		at += n + 1;
	}
	q.customer = slot[0];
	q.from = slot[1];
	q.to = slot[2];
	q.month = slot[3];
	q.head = slot[4];
	if (web_report_words((enum web_report)(data[0] % (WEB_REP_COUNT + 1)), &q, &w) !=
	    NULL)
		return 0;
	CHECK(w.n >= 1 && w.n <= WEB_REPORT_WORDS);
	CHECK(account_check((char *const *)w.w, w.n, &plan) == NULL);
	CHECK(plan.technician == 0);
	for (i = 1; i < w.n; i++) {
		CHECK(w.w[i][0] != '\0');
		/* A value follows its option; it is never one itself. */
		if (w.w[i][0] == '-')
			CHECK(i + 1 >= w.n || w.w[i + 1][0] != '-');
		for (k = 0; k < 5; k++)
			if (w.w[i] == slot[k])
				CHECK(slot[k][0] != '-');
	}
	qh_buf_init(&packed, 4096);
	CHECK(qh_argv_pack(&packed, w.n, (char *const *)w.w) == 0);
	CHECK(
	    qh_argv_unpack(qh_buf_ptr(&packed), qh_buf_len(&packed), &argv, &argc) == 0);
	CHECK(argc == w.n);
	for (i = 0; i < argc; i++)
		CHECK(strcmp(argv[i], w.w[i]) == 0);
	free(argv);
	qh_buf_release(&packed);
	return 0;
}
