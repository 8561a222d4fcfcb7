/*
 * Fuzz target for the frame decoder, driven the way the mux drives it: the
 * input is a byte stream, decoded frame by frame (decode, consume header
 * and payload, repeat) until it is incomplete or invalid. The payload of
 * every CONTROL, OPEN (after its u32 window) and MSG frame goes through the
 * message decoder too. The stream is decoded twice, once from a read-only
 * view of the whole input and once fed in uneven pieces through a growable
 * buffer that must compact, and both must see the same frames and end the
 * same way.
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

/* At most this many frames are compared between the two passes. */
#define MAX_FRAMES 4096

struct seen {
	uint8_t type;
	uint32_t chan;
	size_t len;
	size_t off; /* payload's offset in the stream */
};

/* Decodes the control message in a payload and checks what it claims. */
static void
check_msg(const uint8_t *p, size_t len)
{
	struct qh_msg m;
	unsigned i;
	int r;

	r = qh_msg_decode(p, len, &m);
	if (r != 0) {
		CHECK(
		    r == QH_ERR_FORMAT || r == QH_ERR_PROTOCOL || r == QH_ERR_TOO_LARGE);
		return;
	}
	CHECK(m.type > 0 && m.type < QH_MSG_TYPE_MAX);
	CHECK(m.nfields <= QH_MSG_MAX_FIELDS);
	for (i = 0; i < m.nfields; i++) {
		CHECK(m.f[i].key > 0 && m.f[i].key < QH_K_MAX);
		CHECK(m.f[i].val >= p && m.f[i].len <= len &&
		    (size_t)(m.f[i].val - p) <= len - m.f[i].len);
	}
}

/* Checks one decoded frame against the buffer it came from. */
static void
check_frame(const struct qh_buf *in, const struct qh_frame *f)
{
	CHECK(f->type > 0 && f->type < QH_FRAME_TYPE_MAX);
	CHECK(f->chan <= QH_WIRE_MAX_CHANNEL);
	CHECK(f->len <= QH_WIRE_MAX_PAYLOAD);
	CHECK(f->payload == qh_buf_ptr(in) + QH_WIRE_HDR_LEN);
	CHECK(QH_WIRE_HDR_LEN + f->len <= qh_buf_len(in));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t pieces[] = { 1, 3, 9, 64, 1000, 7, 65536, 2 };
	static struct seen seen[MAX_FRAMES];
	struct qh_buf in, grow;
	struct qh_frame f;
	size_t nseen = 0, i = 0, fed = 0, off = 0, n, piece = 0;
	int r1, r2;

	/* First pass: the whole input at once. */
	qh_buf_init_ro(&in, data, size);
	for (;;) {
		r1 = qh_wire_decode(&in, &f);
		if (r1 != 1)
			break;
		check_frame(&in, &f);
		CHECK(f.payload >= data && f.payload + f.len <= data + size);
		switch (f.type) {
		case QH_FRAME_CONTROL:
		case QH_FRAME_MSG:
			check_msg(f.payload, f.len);
			break;
		case QH_FRAME_OPEN:
			if (f.len >= 4)
				check_msg(f.payload + 4, f.len - 4);
			break;
		}
		if (nseen < MAX_FRAMES) {
			seen[nseen].type = f.type;
			seen[nseen].chan = f.chan;
			seen[nseen].len = f.len;
			seen[nseen].off = (size_t)(f.payload - data);
			nseen++;
		}
		CHECK(qh_buf_consume(&in, QH_WIRE_HDR_LEN + f.len) == 0);
	}
	CHECK(r1 == 0 || r1 == QH_ERR_PROTOCOL || r1 == QH_ERR_TOO_LARGE);
	/* Incomplete means fewer bytes are left than the frame needs. */
	if (r1 == 0)
		CHECK(qh_buf_len(&in) < QH_WIRE_HDR_LEN + QH_WIRE_MAX_PAYLOAD);

	/*
	 * Second pass: the same bytes in pieces through a buffer that holds
	 * exactly one largest frame, as a receive buffer would.
	 */
	qh_buf_init(&grow, QH_WIRE_HDR_LEN + QH_WIRE_MAX_PAYLOAD);
	for (;;) {
		r2 = qh_wire_decode(&grow, &f);
		if (r2 < 0)
			break;
		if (r2 == 0) {
			if (fed == size)
				break;
			/* Room must remain for any frame still incomplete. */
			CHECK(qh_buf_room(&grow) > 0);
			n = pieces[piece++ % (sizeof(pieces) / sizeof(pieces[0]))];
			if (n > size - fed)
				n = size - fed;
			if (n > qh_buf_room(&grow))
				n = qh_buf_room(&grow);
			CHECK(qh_buf_put(&grow, data + fed, n) == 0);
			fed += n;
			continue;
		}
		check_frame(&grow, &f);
		if (i < nseen) {
			CHECK(f.type == seen[i].type);
			CHECK(f.chan == seen[i].chan);
			CHECK(f.len == seen[i].len);
			CHECK(memcmp(f.payload, data + seen[i].off, f.len) == 0);
		}
		CHECK(off + QH_WIRE_HDR_LEN + f.len <= size);
		off += QH_WIRE_HDR_LEN + f.len;
		i++;
		CHECK(qh_buf_consume(&grow, QH_WIRE_HDR_LEN + f.len) == 0);
	}
	CHECK(r2 == r1);
	CHECK(i == nseen || nseen == MAX_FRAMES);
	qh_buf_release(&grow);
	return 0;
}
