/*
 * Fuzz target for agent program tags: qh_exetag_read on the input as a
 * file's end (and qh_exetag_read_console, a vendor-built agent's tag), and
 * qh_exetag_apply on it as a PE file. What reads has a non-empty token (a
 * console and a pin); what a tag is applied or appended to reads back that
 * tag.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/exetag.h"

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
	struct qh_buf tag, out;
	char token[QH_EXETAG_MAX], vendor[QH_EXETAG_MAX], console[300], pin[65];
	int is_signed;

	if (qh_exetag_read(data, size, token, sizeof(token), vendor, sizeof(vendor)) == 0)
		CHECK(token[0] != '\0');
	if (qh_exetag_read_console(data, size, console, sizeof(console), pin, sizeof(pin),
		vendor, sizeof(vendor)) == 0)
		CHECK(console[0] != '\0' && pin[0] != '\0');
	qh_buf_init(&tag, 8192);
	qh_buf_init(&out, 4 * 1024 * 1024);
	CHECK(qh_exetag_build("qh1.fuzz", "Vendor", &tag) == 0);
	if (qh_exetag_apply(data, size, &tag, &out, &is_signed) == 0) {
		CHECK(qh_exetag_read(qh_buf_ptr(&out), qh_buf_len(&out), token,
			  sizeof(token), vendor, sizeof(vendor)) == 0);
		CHECK(strcmp(token, "qh1.fuzz") == 0 && strcmp(vendor, "Vendor") == 0);
	}
	qh_buf_reset(&tag);
	qh_buf_reset(&out);
	CHECK(qh_exetag_build_console("h:1", "ab", NULL, &tag) == 0);
	CHECK(qh_exetag_append(data, size, &tag, &out) == 0);
	CHECK(qh_exetag_read_console(qh_buf_ptr(&out), qh_buf_len(&out), console,
		  sizeof(console), pin, sizeof(pin), vendor, sizeof(vendor)) == 0);
	CHECK(strcmp(console, "h:1") == 0 && strcmp(pin, "ab") == 0 && vendor[0] == '\0');
	qh_buf_release(&tag);
	qh_buf_release(&out);
	return 0;
}
