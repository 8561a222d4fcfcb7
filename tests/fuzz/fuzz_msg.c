/*
 * Fuzz target for the control-message decoder. A message that decodes is
 * read through every getter for every key, its argument vector (if any) is
 * unpacked, and it is built again with qh_msg_begin/qh_msg_put: the
 * encoding is canonical, so the rebuilt bytes must equal the input and
 * decode to the same fields; qh_msg_encode must agree.
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

/* Reads key through every getter and checks they agree with each other. */
static void
exercise_key(const struct qh_msg *m, unsigned key)
{
	const uint8_t *p = NULL;
	size_t len = 0;
	uint32_t v32;
	uint64_t v64;
	char *s;
	int has, r;

	has = qh_msg_has(m, (uint8_t)key);
	r = qh_msg_get(m, (uint8_t)key, &p, &len);
	CHECK(has ? r == 0 : r == QH_ERR_NOT_FOUND);

	r = qh_msg_get_u32(m, (uint8_t)key, &v32);
	if (!has)
		CHECK(r == QH_ERR_NOT_FOUND);
	else if (len == 4)
		CHECK(r == 0 &&
		    v32 ==
			((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			    (uint32_t)p[2] << 8 | p[3]));
	else
		CHECK(r == QH_ERR_FORMAT);

	r = qh_msg_get_u64(m, (uint8_t)key, &v64);
	if (!has)
		CHECK(r == QH_ERR_NOT_FOUND);
	else if (len == 8)
		CHECK(r == 0 && (v64 >> 56) == p[0] && (uint8_t)v64 == p[7]);
	else
		CHECK(r == QH_ERR_FORMAT);

	r = qh_msg_get_str(m, (uint8_t)key, &s);
	if (!has) {
		CHECK(r == QH_ERR_NOT_FOUND && s == NULL);
		return;
	}
	CHECK(r == 0 && s != NULL);
	CHECK(s[len] == '\0' && memcmp(s, p, len) == 0);
	/* Text values are valid UTF-8 without NUL, so the copy is whole. */
	if (qh_utf8_valid(p, len))
		CHECK(strlen(s) == len);
	free(s);
}

/* Unpacks an argument vector and checks that packing it gives it back. */
static void
exercise_argv(const uint8_t *p, size_t len)
{
	struct qh_buf b;
	char **argv;
	int argc, i, r;

	r = qh_argv_unpack(p, len, &argv, &argc);
	if (r != 0) {
		CHECK(r == QH_ERR_FORMAT || r == QH_ERR_TOO_LARGE);
		CHECK(argv == NULL && argc == 0);
		return;
	}
	CHECK(argc >= 0 && argc <= QH_ARGV_MAX && argv[argc] == NULL);
	for (i = 0; i < argc; i++)
		CHECK(argv[i] != NULL);
	qh_buf_init(&b, len + 1);
	CHECK(qh_argv_pack(&b, argc, argv) == 0);
	CHECK(qh_buf_len(&b) == len);
	CHECK(len == 0 || memcmp(qh_buf_ptr(&b), p, len) == 0);
	qh_buf_release(&b);
	free(argv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qh_msg m, m2;
	struct qh_buf out;
	const uint8_t *p;
	size_t len;
	unsigned i, key;
	int r;

	r = qh_msg_decode(data, size, &m);
	if (r != 0) {
		CHECK(
		    r == QH_ERR_FORMAT || r == QH_ERR_PROTOCOL || r == QH_ERR_TOO_LARGE);
		return 0;
	}
	CHECK(m.type > 0 && m.type < QH_MSG_TYPE_MAX);
	CHECK(m.nfields <= QH_MSG_MAX_FIELDS);
	CHECK(strcmp(qh_msg_name(m.type), "unknown") != 0);
	for (i = 0; i < m.nfields; i++) {
		CHECK(m.f[i].key > 0 && m.f[i].key < QH_K_MAX);
		CHECK(m.f[i].val > data && m.f[i].len <= size &&
		    (size_t)(m.f[i].val - data) <= size - m.f[i].len);
	}

	/* Every key, present or not, and a few that cannot be. */
	for (key = 0; key <= QH_K_MAX; key++)
		exercise_key(&m, key);
	exercise_key(&m, 255);
	if (qh_msg_get(&m, QH_K_ARG, &p, &len) == 0)
		exercise_argv(p, len);

	/* Build it again: the same bytes, the same fields. */
	qh_buf_init(&out, QH_MSG_MAX_LEN);
	CHECK(qh_msg_begin(&out, m.type) == 0);
	for (i = 0; i < m.nfields; i++)
		CHECK(qh_msg_put(&out, m.f[i].key, m.f[i].val, m.f[i].len) == 0);
	CHECK(qh_buf_len(&out) == size);
	CHECK(memcmp(qh_buf_ptr(&out), data, size) == 0);
	CHECK(qh_msg_decode(qh_buf_ptr(&out), qh_buf_len(&out), &m2) == 0);
	CHECK(m2.type == m.type && m2.nfields == m.nfields);
	for (i = 0; i < m.nfields; i++) {
		CHECK(m2.f[i].key == m.f[i].key);
		CHECK(m2.f[i].len == m.f[i].len);
		CHECK(memcmp(m2.f[i].val, m.f[i].val, m.f[i].len) == 0);
	}

	/* qh_msg_encode, which relays use, must give the same bytes. */
	qh_buf_reset(&out);
	CHECK(qh_msg_encode(&m, &out) == 0);
	CHECK(qh_buf_len(&out) == size);
	CHECK(memcmp(qh_buf_ptr(&out), data, size) == 0);
	qh_buf_release(&out);
	return 0;
}
