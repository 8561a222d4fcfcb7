/*
 * Fuzz target for packed argument vectors: qh_argv_unpack on the input.
 * What unpacks is a NULL-terminated vector of at most QH_ARGV_MAX strings
 * in one allocation, and packing it again gives back the input exactly;
 * what does not unpack returns nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/wire.h"

/* Checked in every build, NDEBUG or not. */
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
	struct qh_buf b;
	size_t total = 0;
	char **argv;
	int argc, i, r;

	r = qh_argv_unpack(data, size, &argv, &argc);
	if (r != 0) {
		CHECK(r == QH_ERR_FORMAT || r == QH_ERR_TOO_LARGE);
		CHECK(argv == NULL && argc == 0);
		return 0;
	}
	CHECK(argv != NULL);
	CHECK(argc >= 0 && argc <= QH_ARGV_MAX);
	CHECK(argv[argc] == NULL);
	for (i = 0; i < argc; i++) {
		CHECK(argv[i] != NULL);
		total += 4 + strlen(argv[i]);
	}
	CHECK(total == size);

	qh_buf_init(&b, size + 1);
	CHECK(qh_argv_pack(&b, argc, argv) == 0);
	CHECK(qh_buf_len(&b) == size);
	CHECK(size == 0 || memcmp(qh_buf_ptr(&b), data, size) == 0);
	qh_buf_release(&b);
	free(argv);
	return 0;
}
