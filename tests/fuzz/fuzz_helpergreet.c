/*
 * Fuzz target for the desktop helper's greeting (agent/helpergreet.h): the
 * input is what the helper's pipe gives, taken once whole and once in
 * uneven pieces (the lengths come from the input's own bytes), as the
 * pipe's reads may cut it. Both must end in the same state, with the RFB
 * stream starting at the same byte and the same reason; a reason is never
 * longer than HELPER_WHY_MAX and shows clean on one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/display.h"
#include "helpergreet.h"

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* Feeds data in pieces of 1 to 8 bytes; returns where the stream starts, or size. */
static size_t
take_in_pieces(struct helper_greet *g, const uint8_t *data, size_t size)
{
	size_t off = 0, piece, took;

	while (off < size) {
		piece = (size_t)(data[off] % 8) + 1;
		if (piece > size - off)
			piece = size - off;
		took = helper_greet_take(g, data + off, piece);
		CHECK(took <= piece);
		if (g->state == HELPER_GREET_READY)
			return off + took;
		CHECK(took == piece);
		off += piece;
	}
	return size;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct helper_greet whole, pieces;
	const char *a, *b;
	size_t start_whole, start_pieces;

	memset(&whole, 0, sizeof(whole));
	memset(&pieces, 0, sizeof(pieces));
	start_whole = helper_greet_take(&whole, data, size);
	start_pieces = take_in_pieces(&pieces, data, size);
	CHECK(whole.state == pieces.state);
	CHECK(whole.why_len <= HELPER_WHY_MAX && whole.why_len == pieces.why_len);
	if (size == 0) {
		CHECK(whole.state == HELPER_GREET_WAIT && start_whole == 0);
		return 0;
	}
	if (whole.state == HELPER_GREET_READY) {
		CHECK(data[0] == 'R' && start_whole == 1 && start_pieces == 1);
		/* Later reads are all stream. */
		CHECK(helper_greet_take(&whole, data, size) == 0);
	} else
		CHECK(start_whole == size && start_pieces == size);
	a = helper_greet_why(&whole);
	b = helper_greet_why(&pieces);
	CHECK((a == NULL) == (b == NULL));
	if (a != NULL) {
		CHECK(whole.state == HELPER_GREET_REFUSED && data[0] == 'E');
		CHECK(strcmp(a, b) == 0);
		CHECK(strlen(a) <= HELPER_WHY_MAX && qh_display_clean(a, strlen(a)));
		/* Asked again, the same. */
		CHECK(helper_greet_why(&whole) == a && strcmp(a, b) == 0);
	}
	return 0;
}
