/*
 * Unit tests for common/wire.c: the frame decoder tells "incomplete" (0)
 * from "invalid" (<0) and decides invalid from the 9-byte header alone;
 * control messages round-trip every kind of field, and the one decoder
 * refuses unknown types and keys, duplicates, missing required keys,
 * integers of the wrong width, bad UTF-8 and values over their bound;
 * packed argument vectors round-trip and refuse embedded NULs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/wire.h"

/* Writes a 9-byte frame header by hand, whatever its values. */
static void
raw_header(uint8_t h[QH_WIRE_HDR_LEN], uint8_t type, uint32_t chan, uint32_t len)
{
	h[0] = type;
	h[1] = (uint8_t)(chan >> 24);
	h[2] = (uint8_t)(chan >> 16);
	h[3] = (uint8_t)(chan >> 8);
	h[4] = (uint8_t)chan;
	h[5] = (uint8_t)(len >> 24);
	h[6] = (uint8_t)(len >> 16);
	h[7] = (uint8_t)(len >> 8);
	h[8] = (uint8_t)len;
}

/* Decodes the n bytes at p through a read-only view. */
static int
decode_bytes(const uint8_t *p, size_t n, struct qh_frame *f)
{
	struct qh_buf b;

	qh_buf_init_ro(&b, p, n);
	return qh_wire_decode(&b, f);
}

/*
 * Every proper prefix of a valid frame is incomplete; the whole frame
 * decodes with its fields and a payload pointer into the input.
 */
static void
test_frame_prefixes(void **state QH_UNUSED)
{
	static const char payload[] = "some payload bytes";
	const size_t plen = sizeof(payload) - 1;
	struct qh_frame f;
	struct qh_buf b;
	const uint8_t *p;
	size_t n, total;

	qh_buf_init(&b, 1024);
	assert_int_equal(qh_wire_put_frame(&b, QH_FRAME_DATA, 0x01020304, payload, plen),
	    0);
	total = qh_buf_len(&b);
	assert_int_equal(total, QH_WIRE_HDR_LEN + plen);
	p = qh_buf_ptr(&b);
	assert_int_equal(p[0], QH_FRAME_DATA);
	assert_memory_equal(p + 1, "\x01\x02\x03\x04\x00\x00\x00\x12", 8);

	for (n = 0; n < total; n++) {
		memset(&f, 0xee, sizeof(f));
		assert_int_equal(decode_bytes(p, n, &f), 0);
	}
	memset(&f, 0, sizeof(f));
	assert_int_equal(decode_bytes(p, total, &f), 1);
	assert_int_equal(f.type, QH_FRAME_DATA);
	assert_int_equal(f.chan, 0x01020304);
	assert_int_equal(f.len, plen);
	assert_ptr_equal(f.payload, p + QH_WIRE_HDR_LEN);
	assert_memory_equal(f.payload, payload, plen);

	/* Decoding does not consume, and works on the growable buffer too. */
	assert_int_equal(qh_wire_decode(&b, &f), 1);
	assert_int_equal(qh_buf_len(&b), total);
	qh_buf_release(&b);
}

/* Two frames back to back, one of them empty, decoded as the mux does. */
static void
test_frame_sequence(void **state QH_UNUSED)
{
	struct qh_frame f;
	struct qh_buf b;

	qh_buf_init(&b, 1024);
	assert_int_equal(qh_wire_put_frame(&b, QH_FRAME_EOF, 7, NULL, 0), 0);
	assert_int_equal(qh_wire_put_header(&b, QH_FRAME_PING, 0, 8), 0);
	assert_int_equal(qh_buf_put_u64(&b, 0x1122334455667788ULL), 0);
	assert_int_equal(qh_buf_put_u8(&b, QH_FRAME_PONG), 0);

	assert_int_equal(qh_wire_decode(&b, &f), 1);
	assert_int_equal(f.type, QH_FRAME_EOF);
	assert_int_equal(f.chan, 7);
	assert_int_equal(f.len, 0);
	assert_int_equal(qh_buf_consume(&b, QH_WIRE_HDR_LEN + f.len), 0);

	assert_int_equal(qh_wire_decode(&b, &f), 1);
	assert_int_equal(f.type, QH_FRAME_PING);
	assert_int_equal(f.chan, 0);
	assert_int_equal(f.len, 8);
	assert_memory_equal(f.payload, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	assert_int_equal(qh_buf_consume(&b, QH_WIRE_HDR_LEN + f.len), 0);

	/* One byte of the next header. */
	assert_int_equal(qh_wire_decode(&b, &f), 0);
	assert_int_equal(qh_buf_len(&b), 1);
	qh_buf_release(&b);
}

/* Length over the maximum is refused from the header alone. */
static void
test_frame_too_large(void **state QH_UNUSED)
{
	uint8_t h[QH_WIRE_HDR_LEN];
	struct qh_frame f;
	struct qh_buf b;

	raw_header(h, QH_FRAME_DATA, 1, QH_WIRE_MAX_PAYLOAD + 1);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), QH_ERR_TOO_LARGE);
	/* Still incomplete with one byte of the header missing. */
	assert_int_equal(decode_bytes(h, sizeof(h) - 1, &f), 0);
	raw_header(h, QH_FRAME_CONTROL, 0, UINT32_MAX);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), QH_ERR_TOO_LARGE);
	/* Exactly the maximum is allowed: incomplete until it is all there. */
	raw_header(h, QH_FRAME_DATA, 1, QH_WIRE_MAX_PAYLOAD);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), 0);

	/* The encoders refuse to write such frames. */
	qh_buf_init(&b, 2 * QH_WIRE_MAX_PAYLOAD);
	assert_int_equal(qh_wire_put_header(&b, QH_FRAME_DATA, 1,
			     QH_WIRE_MAX_PAYLOAD + 1),
	    QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), 0);
	assert_int_equal(qh_wire_put_header(&b, QH_FRAME_DATA, 1, QH_WIRE_MAX_PAYLOAD),
	    0);
	qh_buf_release(&b);

	/* A frame that does not fit the output appends nothing. */
	qh_buf_init(&b, QH_WIRE_HDR_LEN + 3);
	assert_int_equal(qh_wire_put_frame(&b, QH_FRAME_DATA, 1, "abcd", 4),
	    QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), 0);
	assert_int_equal(qh_wire_put_frame(&b, QH_FRAME_DATA, 1, "abc", 3), 0);
	qh_buf_release(&b);
}

/* Unknown types and out-of-range channels are protocol errors. */
static void
test_frame_bad_type_and_channel(void **state QH_UNUSED)
{
	uint8_t h[QH_WIRE_HDR_LEN];
	struct qh_frame f;
	unsigned t;

	raw_header(h, 0, 1, 0);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), QH_ERR_PROTOCOL);
	raw_header(h, 200, 1, 0);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), QH_ERR_PROTOCOL);
	raw_header(h, QH_FRAME_TYPE_MAX, 1, 0);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), QH_ERR_PROTOCOL);
	/* Decided from the header, whatever length it claims. */
	raw_header(h, 200, 1, 1000);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), QH_ERR_PROTOCOL);

	raw_header(h, QH_FRAME_DATA, 0x80000000U, 0);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), QH_ERR_PROTOCOL);
	raw_header(h, QH_FRAME_DATA, UINT32_MAX, 100);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), QH_ERR_PROTOCOL);
	raw_header(h, QH_FRAME_DATA, QH_WIRE_MAX_CHANNEL, 0);
	assert_int_equal(decode_bytes(h, sizeof(h), &f), 1);
	assert_int_equal(f.chan, QH_WIRE_MAX_CHANNEL);

	/* Every known type decodes and has a name. */
	for (t = QH_FRAME_CONTROL; t < QH_FRAME_TYPE_MAX; t++) {
		raw_header(h, (uint8_t)t, 3, 0);
		assert_int_equal(decode_bytes(h, sizeof(h), &f), 1);
		assert_int_equal(f.type, t);
		assert_string_not_equal(qh_wire_frame_name((uint8_t)t), "unknown");
	}
	assert_string_equal(qh_wire_frame_name(0), "unknown");
	assert_string_equal(qh_wire_frame_name(200), "unknown");
	assert_string_equal(qh_wire_frame_name(QH_FRAME_DATA), "data");
}

/* Appends one raw field: key, u32 length, bytes. */
static void
raw_field(struct qh_buf *b, uint8_t key, const void *p, size_t len)
{
	assert_int_equal(qh_buf_put_u8(b, key), 0);
	assert_int_equal(qh_buf_put_string(b, p, len), 0);
}

/* Decodes b's contents as a message. */
static int
decode_msg(const struct qh_buf *b, struct qh_msg *m)
{
	return qh_msg_decode(qh_buf_ptr(b), qh_buf_len(b), m);
}

/* Text (multi-byte too), blob, u8, u32 and u64 fields come back as sent. */
static void
test_msg_roundtrip(void **state QH_UNUSED)
{
	static const uint8_t hash[32] = { 0, 1, 2, 0, 0xff, 0x80, 0xc0 };
	static const uint8_t blob[] = { 0, 0, 0, 1, 0 };
	const uint8_t *p;
	struct qh_msg m;
	struct qh_buf b;
	uint32_t v32;
	uint64_t v64;
	size_t len;
	char *s;

	qh_buf_init(&b, QH_MSG_MAX_LEN);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_REQUEST), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_CMD, "exec"), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_NOTE,
			     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	    0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_TERM, ""), 0);
	assert_int_equal(qh_msg_put(&b, QH_K_HASH, hash, sizeof(hash)), 0);
	assert_int_equal(qh_msg_put(&b, QH_K_ARG, blob, sizeof(blob)), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_ROWS, 0xdeadbeef), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_COLS, 0), 0);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_SIZE, 0x0102030405060708ULL), 0);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_ID, UINT64_MAX), 0);
	/* The encoding: type, then key, u32 length, value. */
	assert_memory_equal(qh_buf_ptr(&b),
	    "\x09\x0e\x00\x00\x00\x04"
	    "exec",
	    10);

	assert_int_equal(decode_msg(&b, &m), 0);
	assert_int_equal(m.type, QH_MSG_REQUEST);
	assert_int_equal(m.nfields, 9);
	assert_int_equal(m.f[0].key, QH_K_CMD);
	assert_ptr_equal(m.f[0].val, qh_buf_ptr(&b) + 6);

	assert_int_equal(qh_msg_get_str(&m, QH_K_CMD, &s), 0);
	assert_string_equal(s, "exec");
	free(s);
	assert_int_equal(qh_msg_get_str(&m, QH_K_NOTE, &s), 0);
	assert_string_equal(s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	free(s);
	assert_int_equal(qh_msg_get_str(&m, QH_K_TERM, &s), 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(qh_msg_get(&m, QH_K_HASH, &p, &len), 0);
	assert_int_equal(len, sizeof(hash));
	assert_memory_equal(p, hash, sizeof(hash));
	assert_int_equal(qh_msg_get(&m, QH_K_ARG, &p, &len), 0);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(p, blob, sizeof(blob));
	assert_int_equal(qh_msg_get_u32(&m, QH_K_ROWS, &v32), 0);
	assert_int_equal(v32, 0xdeadbeef);
	assert_int_equal(qh_msg_get_u32(&m, QH_K_COLS, &v32), 0);
	assert_int_equal(v32, 0);
	assert_int_equal(qh_msg_get_u64(&m, QH_K_SIZE, &v64), 0);
	assert_true(v64 == 0x0102030405060708ULL);
	assert_int_equal(qh_msg_get_u64(&m, QH_K_ID, &v64), 0);
	assert_true(v64 == UINT64_MAX);

	/* Absent fields, and getters of the wrong width. */
	assert_int_equal(qh_msg_has(&m, QH_K_MODE), 0);
	assert_int_equal(qh_msg_has(&m, QH_K_ROWS), 1);
	assert_int_equal(qh_msg_get(&m, QH_K_MODE, &p, &len), QH_ERR_NOT_FOUND);
	assert_int_equal(qh_msg_get_u32(&m, QH_K_MODE, &v32), QH_ERR_NOT_FOUND);
	assert_int_equal(qh_msg_get_u64(&m, QH_K_ROWS, &v64), QH_ERR_FORMAT);
	assert_int_equal(qh_msg_get_u32(&m, QH_K_SIZE, &v32), QH_ERR_FORMAT);
	s = (char *)1;
	assert_int_equal(qh_msg_get_str(&m, QH_K_PATH, &s), QH_ERR_NOT_FOUND);
	assert_null(s);

	/* A u8 field. */
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_CONSENT_REPLY), 0);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_ID, 42), 0);
	assert_int_equal(qh_msg_put(&b, QH_K_ALLOW, "\x01", 1), 0);
	assert_int_equal(decode_msg(&b, &m), 0);
	assert_int_equal(m.type, QH_MSG_CONSENT_REPLY);
	assert_int_equal(qh_msg_get(&m, QH_K_ALLOW, &p, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(p[0], 1);
	assert_int_equal(qh_msg_get_u64(&m, QH_K_ID, &v64), 0);
	assert_true(v64 == 42);

	/* A type with no required keys may be empty. */
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_EXIT), 0);
	assert_int_equal(decode_msg(&b, &m), 0);
	assert_int_equal(m.type, QH_MSG_EXIT);
	assert_int_equal(m.nfields, 0);
	assert_string_equal(qh_msg_name(QH_MSG_EXIT), "exit");
	assert_string_equal(qh_msg_name(0), "unknown");
	assert_string_equal(qh_msg_name(QH_MSG_TYPE_MAX), "unknown");
	qh_buf_release(&b);
}

/* Unknown message types, and keys unknown or not allowed for the type. */
static void
test_msg_unknown(void **state QH_UNUSED)
{
	static const uint8_t types[] = { 0, QH_MSG_TYPE_MAX, 200, 255 };
	static const uint8_t keys[] = { 0, QH_K_TEXT, QH_K_MAX, 64, 255 };
	struct qh_msg m;
	struct qh_buf b;
	size_t i;

	qh_buf_init(&b, 1024);
	for (i = 0; i < sizeof(types); i++) {
		qh_buf_reset(&b);
		assert_int_equal(qh_buf_put_u8(&b, types[i]), 0);
		assert_int_equal(decode_msg(&b, &m), QH_ERR_PROTOCOL);
		raw_field(&b, QH_K_TEXT, "x", 1);
		assert_int_equal(decode_msg(&b, &m), QH_ERR_PROTOCOL);
	}
	/* RESIZE allows only ROWS and COLS. */
	for (i = 0; i < sizeof(keys); i++) {
		qh_buf_reset(&b);
		assert_int_equal(qh_msg_begin(&b, QH_MSG_RESIZE), 0);
		assert_int_equal(qh_msg_put_u32(&b, QH_K_ROWS, 24), 0);
		assert_int_equal(qh_msg_put_u32(&b, QH_K_COLS, 80), 0);
		raw_field(&b, keys[i], "x", 1);
		assert_int_equal(decode_msg(&b, &m), QH_ERR_PROTOCOL);
	}
	/* No bytes at all is malformed, not a type. */
	assert_int_equal(qh_msg_decode("", 0, &m), QH_ERR_FORMAT);
	assert_int_equal(qh_msg_decode(NULL, 0, &m), QH_ERR_FORMAT);
	qh_buf_release(&b);
}

/* A key twice is malformed, even with the same value. */
static void
test_msg_duplicate_key(void **state QH_UNUSED)
{
	struct qh_msg m;
	struct qh_buf b;

	qh_buf_init(&b, 1024);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_NOTICE), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_TEXT, "hello"), 0);
	assert_int_equal(decode_msg(&b, &m), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_TEXT, "hello"), 0);
	assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);

	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_RESIZE), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_ROWS, 24), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_COLS, 80), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_ROWS, 25), 0);
	assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);
	qh_buf_release(&b);
}

/* Each required key, left out, makes the message malformed. */
static void
test_msg_missing_required(void **state QH_UNUSED)
{
	struct qh_msg m;
	struct qh_buf b;

	qh_buf_init(&b, 1024);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_ERROR), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_CODE, "denied"), 0);
	assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);
	assert_int_equal(qh_msg_put_str(&b, QH_K_TEXT, "no"), 0);
	assert_int_equal(decode_msg(&b, &m), 0);

	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_ERROR), 0);
	assert_int_equal(qh_msg_put_str(&b, QH_K_TEXT, "no"), 0);
	assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);

	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_RESIZE), 0);
	assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_COLS, 80), 0);
	assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);

	/* Optional keys do not stand in for required ones. */
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_REQUEST), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_ROWS, 24), 0);
	assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);
	qh_buf_release(&b);
}

/* Integers must have exactly their width: too short or too long is malformed. */
static void
test_msg_integer_width(void **state QH_UNUSED)
{
	static const uint8_t zeros[16];
	static const struct {
		uint8_t type, key;
		size_t width;
	} ints[] = {
		{ QH_MSG_CONSENT_REPLY, QH_K_ALLOW, 1 },
		{ QH_MSG_RESIZE, QH_K_ROWS, 4 },
		{ QH_MSG_EXIT, QH_K_STATUS, 4 },
		{ QH_MSG_EXIT, QH_K_SIZE, 8 },
		{ QH_MSG_REPLY, QH_K_SESSION, 8 },
	};
	struct qh_msg m;
	struct qh_buf b;
	size_t i, len;
	int r;

	qh_buf_init(&b, 1024);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		for (len = 0; len <= 9; len++) {
			qh_buf_reset(&b);
			assert_int_equal(qh_msg_begin(&b, ints[i].type), 0);
			raw_field(&b, ints[i].key, zeros, len);
			/* Whatever else the type requires. */
			if (ints[i].type == QH_MSG_CONSENT_REPLY)
				assert_int_equal(qh_msg_put_u64(&b, QH_K_ID, 1), 0);
			if (ints[i].type == QH_MSG_RESIZE)
				assert_int_equal(qh_msg_put_u32(&b, QH_K_COLS, 1), 0);
			r = decode_msg(&b, &m);
			if (len == ints[i].width)
				assert_int_equal(r, 0);
			else
				assert_int_equal(r, QH_ERR_FORMAT);
		}
	}
	qh_buf_release(&b);
}

/*
 * The integer getters read through the bounded reader: a decoded message
 * gives its values back, and a message built by hand (the struct is
 * public) with a field of another width is refused without a byte read
 * (each value sits in an allocation of exactly its length, so a read past
 * it is caught). The consent reply's ALLOW is read with qh_msg_get_u8.
 */
static void
test_msg_get_integers(void **state QH_UNUSED)
{
	struct qh_msg m;
	struct qh_buf b;
	uint8_t u8 = 0, *val;
	uint32_t u32 = 0;
	uint64_t u64 = 0;
	size_t len;

	qh_buf_init(&b, 1024);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_CONSENT_REPLY), 0);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_ID, 0x0102030405060708ULL), 0);
	assert_int_equal(qh_msg_put(&b, QH_K_ALLOW, "\x01", 1), 0);
	assert_int_equal(decode_msg(&b, &m), 0);
	assert_int_equal(qh_msg_get_u8(&m, QH_K_ALLOW, &u8), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(qh_msg_get_u64(&m, QH_K_ID, &u64), 0);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(qh_msg_get_u32(&m, QH_K_STATUS, &u32), QH_ERR_NOT_FOUND);
	/* Asked at the wrong width: refused. */
	assert_int_equal(qh_msg_get_u32(&m, QH_K_ID, &u32), QH_ERR_FORMAT);
	assert_int_equal(qh_msg_get_u8(&m, QH_K_ID, &u8), QH_ERR_FORMAT);
	qh_buf_release(&b);

	for (len = 0; len <= 9; len++) {
		memset(&m, 0, sizeof(m));
		m.type = QH_MSG_CONSENT_REPLY;
		val = malloc(len > 0 ? len : 1);
		assert_non_null(val);
		memset(val, 0xab, len);
		m.nfields = 3;
		m.f[0].key = QH_K_ALLOW, m.f[0].val = val, m.f[0].len = (uint32_t)len;
		m.f[1].key = QH_K_STATUS, m.f[1].val = val, m.f[1].len = (uint32_t)len;
		m.f[2].key = QH_K_ID, m.f[2].val = val, m.f[2].len = (uint32_t)len;
		assert_int_equal(qh_msg_get_u8(&m, QH_K_ALLOW, &u8),
		    len == 1 ? 0 : QH_ERR_FORMAT);
		assert_int_equal(qh_msg_get_u32(&m, QH_K_STATUS, &u32),
		    len == 4 ? 0 : QH_ERR_FORMAT);
		assert_int_equal(qh_msg_get_u64(&m, QH_K_ID, &u64),
		    len == 8 ? 0 : QH_ERR_FORMAT);
		free(val);
	}
}

/* A text value that is not valid UTF-8, or holds a NUL, is malformed. */
static void
test_msg_bad_utf8(void **state QH_UNUSED)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{ "\xc0\xaf", 2 },	       /* overlong '/' */
		{ "\xc1\xbf", 2 },	       /* overlong U+007F */
		{ "\xe0\x80\xaf", 3 },	       /* overlong, three bytes */
		{ "\xf0\x80\x80\xaf", 4 },     /* overlong, four bytes */
		{ "\xc0\x80", 2 },	       /* overlong NUL */
		{ "\xed\xa0\x80", 3 },	       /* surrogate U+D800 */
		{ "\xed\xbf\xbf", 3 },	       /* surrogate U+DFFF */
		{ "\xe2\x82", 2 },	       /* truncated euro sign */
		{ "ok\xf0\x9f\x98", 5 },       /* truncated at the end */
		{ "\xc3", 1 },		       /* lead byte alone */
		{ "\x80", 1 },		       /* continuation alone */
		{ "\xc3\x28", 2 },	       /* bad continuation */
		{ "\xf4\x90\x80\x80", 4 },     /* past U+10FFFF */
		{ "\xf8\x88\x80\x80\x80", 5 }, /* five-byte form */
		{ "\xff", 1 },
		{ "a\0b", 3 }, /* NUL */
		{ "\0", 1 },
	};
	struct qh_msg m;
	struct qh_buf b;
	size_t i;

	qh_buf_init(&b, 1024);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(qh_utf8_valid((const uint8_t *)bad[i].s, bad[i].len), 0);
		qh_buf_reset(&b);
		assert_int_equal(qh_msg_begin(&b, QH_MSG_NOTICE), 0);
		raw_field(&b, QH_K_TEXT, bad[i].s, bad[i].len);
		assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);
		/* The same bytes are fine in a blob. */
		qh_buf_reset(&b);
		assert_int_equal(qh_msg_begin(&b, QH_MSG_EXIT), 0);
		raw_field(&b, QH_K_HASH, bad[i].s, bad[i].len);
		assert_int_equal(decode_msg(&b, &m), 0);
	}
	qh_buf_release(&b);
}

/* Valid UTF-8, including every boundary of every sequence length. */
static void
test_utf8_valid(void **state QH_UNUSED)
{
	static const char *const good[] = {
		"",
		"plain ascii",
		"\x7f",		    /* U+007F */
		"\xc2\x80",	    /* U+0080 */
		"\xdf\xbf",	    /* U+07FF */
		"\xe0\xa0\x80",	    /* U+0800 */
		"\xed\x9f\xbf",	    /* U+D7FF */
		"\xee\x80\x80",	    /* U+E000 */
		"\xef\xbf\xbf",	    /* U+FFFF */
		"\xf0\x90\x80\x80", /* U+10000 */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF */
		"gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9d\x84\x9e "
		"\xe6\x97\xa5\xe6\x9c\xac",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(qh_utf8_valid((const uint8_t *)good[i], strlen(good[i])),
		    1);
	/* A valid prefix of a longer buffer: only len bytes are looked at. */
	assert_int_equal(qh_utf8_valid((const uint8_t *)"ab\xff", 2), 1);
	assert_int_equal(qh_utf8_valid(NULL, 0), 1);
}

/*
 * Values at their key's bound decode; one byte more is too large, decided
 * from the length prefix before the value is there.
 */
static void
test_msg_value_too_large(void **state QH_UNUSED)
{
	static const struct {
		uint8_t type, key;
		size_t max;
	} vals[] = {
		{ QH_MSG_NOTICE, QH_K_KIND, 32 },
		{ QH_MSG_NOTICE, QH_K_TEXT, 4096 },
		{ QH_MSG_EXIT, QH_K_HASH, 32 },
		{ QH_MSG_REQUEST, QH_K_ARG, 32768 },
		{ QH_MSG_REPLY, QH_K_JSON, 60000 },
	};
	struct qh_msg m;
	struct qh_buf b;
	uint8_t *big;
	size_t i, n;
	int r;

	big = malloc(QH_MSG_MAX_LEN + 1);
	assert_non_null(big);
	memset(big, 'a', QH_MSG_MAX_LEN + 1);
	qh_buf_init(&b, 2 * QH_MSG_MAX_LEN);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (n = vals[i].max; n <= vals[i].max + 1; n++) {
			qh_buf_reset(&b);
			assert_int_equal(qh_msg_begin(&b, vals[i].type), 0);
			if (vals[i].type == QH_MSG_REQUEST)
				assert_int_equal(qh_msg_put_str(&b, QH_K_CMD, "x"), 0);
			if (vals[i].type == QH_MSG_NOTICE && vals[i].key != QH_K_TEXT)
				assert_int_equal(qh_msg_put_str(&b, QH_K_TEXT, "x"), 0);
			assert_int_equal(qh_msg_put(&b, vals[i].key, big, n), 0);
			r = decode_msg(&b, &m);
			assert_int_equal(r, n == vals[i].max ? 0 : QH_ERR_TOO_LARGE);
			/* Cut off after the length prefix. */
			r = qh_msg_decode(qh_buf_ptr(&b), qh_buf_len(&b) - n, &m);
			assert_int_equal(r,
			    n == vals[i].max ? QH_ERR_FORMAT : QH_ERR_TOO_LARGE);
		}
	}
	/* The message as a whole is bounded too. */
	big[0] = QH_MSG_EXIT;
	assert_int_equal(qh_msg_decode(big, QH_MSG_MAX_LEN + 1, &m), QH_ERR_TOO_LARGE);
	qh_buf_release(&b);
	free(big);
}

/*
 * No type allows more than QH_MSG_MAX_FIELDS keys, so a message with more
 * fields than that must repeat a key, and is refused; the largest message
 * with distinct keys (REQUEST, 16 of them) decodes.
 */
static void
test_msg_too_many_fields(void **state QH_UNUSED)
{
	static const uint8_t text_keys[] = { QH_K_CMD, QH_K_CODE, QH_K_TERM, QH_K_KIND,
		QH_K_NOTE, QH_K_TARGET, QH_K_PATH, QH_K_CUSTOMER };
	static const uint8_t u32_keys[] = { QH_K_ROWS, QH_K_COLS, QH_K_FLAGS, QH_K_MODE };
	struct qh_msg m;
	struct qh_buf b;
	size_t i;

	qh_buf_init(&b, QH_MSG_MAX_LEN);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_REQUEST), 0);
	for (i = 0; i < sizeof(text_keys); i++)
		assert_int_equal(qh_msg_put_str(&b, text_keys[i], "t"), 0);
	for (i = 0; i < sizeof(u32_keys); i++)
		assert_int_equal(qh_msg_put_u32(&b, u32_keys[i], 1), 0);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_SIZE, 1), 0);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_ID, 1), 0);
	assert_int_equal(qh_msg_put(&b, QH_K_ARG, "", 0), 0);
	assert_int_equal(qh_msg_put(&b, QH_K_HASH, "h", 1), 0);
	assert_int_equal(decode_msg(&b, &m), 0);
	assert_int_equal(m.nfields, 16);

	/* Up to QH_MSG_MAX_FIELDS + 1 fields, repeating keys. */
	for (i = 16; i <= QH_MSG_MAX_FIELDS; i++)
		assert_int_equal(qh_msg_put_str(&b, text_keys[i % sizeof(text_keys)],
				     "t"),
		    0);
	assert_int_equal(decode_msg(&b, &m), QH_ERR_FORMAT);
	assert_true(m.nfields <= QH_MSG_MAX_FIELDS);
	qh_buf_release(&b);
}

/* Truncated fields are malformed wherever the cut falls. */
static void
test_msg_truncated(void **state QH_UNUSED)
{
	struct qh_msg m;
	struct qh_buf b;
	size_t n, total;

	qh_buf_init(&b, 1024);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_RESIZE), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_ROWS, 24), 0);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_COLS, 80), 0);
	total = qh_buf_len(&b);
	assert_int_equal(decode_msg(&b, &m), 0);
	for (n = 0; n < total; n++)
		assert_int_equal(qh_msg_decode(qh_buf_ptr(&b), n, &m), QH_ERR_FORMAT);
	qh_buf_release(&b);
}

/*
 * The builders append nothing when a field does not fit, and nothing after
 * that: the message is spoiled (qh_buf_error) and is never sent.
 */
static void
test_msg_put_bounded(void **state QH_UNUSED)
{
	struct qh_buf b;
	size_t room;

	qh_buf_init(&b, 16);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_NOTICE), 0);
	room = qh_buf_room(&b);
	assert_int_equal(room, 15);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_ID, 1), 0);
	assert_int_equal(qh_buf_len(&b), 14);
	assert_int_equal(qh_msg_put_u32(&b, QH_K_ROWS, 1), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_msg_put_str(&b, QH_K_TEXT, ""), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), 14);
	assert_int_equal(qh_buf_error(&b), QH_ERR_TOO_LARGE);
	qh_buf_reset(&b);
	assert_int_equal(qh_msg_begin(&b, QH_MSG_NOTICE), 0);
	assert_int_equal(qh_msg_put(&b, QH_K_TEXT, "0123456789a", 11), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_msg_put_u64(&b, QH_K_ID, 1), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), 1);
	qh_buf_release(&b);
}

/* Packs argv, unpacks it, and checks the result is the same vector. */
static void
argv_roundtrip(int argc, char *const argv[])
{
	struct qh_buf b;
	char **out;
	int n, i;

	qh_buf_init(&b, 65536);
	assert_int_equal(qh_argv_pack(&b, argc, argv), 0);
	assert_int_equal(qh_argv_unpack(qh_buf_ptr(&b), qh_buf_len(&b), &out, &n), 0);
	assert_int_equal(n, argc);
	for (i = 0; i < argc; i++)
		assert_string_equal(out[i], argv[i]);
	assert_null(out[argc]);
	free(out);
	qh_buf_release(&b);
}

/* Argument vectors: ordinary, with empty strings, empty, and at the limit. */
static void
test_argv_roundtrip(void **state QH_UNUSED)
{
	char *const cmd[] = { "ls", "-l", "/tmp/a b", "caf\xc3\xa9" };
	char *const empties[] = { "", "x", "", "" };
	char *const one_empty[] = { "" };
	char **many, **out;
	struct qh_buf b;
	int i, n;

	argv_roundtrip(4, cmd);
	argv_roundtrip(4, empties);
	argv_roundtrip(1, one_empty);
	argv_roundtrip(0, NULL);

	/* Zero arguments pack to nothing and unpack to { NULL }. */
	qh_buf_init(&b, 1024);
	assert_int_equal(qh_argv_pack(&b, 0, NULL), 0);
	assert_int_equal(qh_buf_len(&b), 0);
	assert_int_equal(qh_argv_unpack((const uint8_t *)"", 0, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_non_null(out);
	assert_null(out[0]);
	free(out);

	/* The wire form is a sequence of strings. */
	assert_int_equal(qh_argv_pack(&b, 1, one_empty), 0);
	assert_int_equal(qh_argv_pack(&b, 2, cmd), 0);
	assert_int_equal(qh_buf_len(&b), 4 + 4 + 2 + 4 + 2);
	assert_memory_equal(qh_buf_ptr(&b),
	    "\0\0\0\0"
	    "\0\0\0\x02"
	    "ls"
	    "\0\0\0\x02"
	    "-l",
	    16);
	qh_buf_release(&b);

	/* QH_ARGV_MAX entries are allowed, one more is not. */
	many = calloc(QH_ARGV_MAX + 1, sizeof(*many));
	assert_non_null(many);
	for (i = 0; i <= QH_ARGV_MAX; i++)
		many[i] = "";
	argv_roundtrip(QH_ARGV_MAX, many);
	qh_buf_init(&b, 65536);
	assert_int_equal(qh_argv_pack(&b, QH_ARGV_MAX + 1, many), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_argv_pack(&b, -1, many), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), 0);
	assert_int_equal(qh_argv_pack(&b, QH_ARGV_MAX, many), 0);
	assert_int_equal(qh_buf_put_u32(&b, 0), 0);
	assert_int_equal(qh_argv_unpack(qh_buf_ptr(&b), qh_buf_len(&b), &out, &n),
	    QH_ERR_TOO_LARGE);
	assert_null(out);
	assert_int_equal(n, 0);
	qh_buf_release(&b);
	free(many);

	/* A pack that does not fit appends nothing. */
	qh_buf_init(&b, 12);
	assert_int_equal(qh_argv_pack(&b, 3, cmd), QH_ERR_TOO_LARGE);
	assert_int_equal(qh_buf_len(&b), 0);
	qh_buf_release(&b);
}

/* Embedded NULs and truncated strings are refused, and nothing is returned. */
static void
test_argv_bad(void **state QH_UNUSED)
{
	static const struct {
		const char *p;
		size_t len;
	} bad[] = {
		{ "\0\0\0\x03"
		  "a\0b",
		    7 },
		{ "\0\0\0\x01"
		  "a"
		  "\0\0\0\x01"
		  "\0",
		    10 },
		{ "\0\0\0\x01"
		  "\0",
		    5 },
		{ "\0\0\0\x05"
		  "abc",
		    7 },
		{ "\0\0\0", 3 },
		{ "\0\0\0\0"
		  "\0\0",
		    6 },
		{ "\xff\xff\xff\xff"
		  "abc",
		    7 },
	};
	char **out;
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = (char **)1;
		n = 99;
		assert_int_equal(qh_argv_unpack((const uint8_t *)bad[i].p, bad[i].len,
				     &out, &n),
		    QH_ERR_FORMAT);
		assert_null(out);
		assert_int_equal(n, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_prefixes),
		cmocka_unit_test(test_frame_sequence),
		cmocka_unit_test(test_frame_too_large),
		cmocka_unit_test(test_frame_bad_type_and_channel),
		cmocka_unit_test(test_msg_roundtrip),
		cmocka_unit_test(test_msg_unknown),
		cmocka_unit_test(test_msg_duplicate_key),
		cmocka_unit_test(test_msg_missing_required),
		cmocka_unit_test(test_msg_integer_width),
		cmocka_unit_test(test_msg_get_integers),
		cmocka_unit_test(test_msg_bad_utf8),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_msg_value_too_large),
		cmocka_unit_test(test_msg_too_many_fields),
		cmocka_unit_test(test_msg_truncated),
		cmocka_unit_test(test_msg_put_bounded),
		cmocka_unit_test(test_argv_roundtrip),
		cmocka_unit_test(test_argv_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
