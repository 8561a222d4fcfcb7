/*
 * Fuzz target for the web console's WebSocket messages (console/web/wsmsg.h):
 * whatever a page sends is either refused or read into fields that stay
 * inside the input and keep their bounds; a message that parses is built
 * again from its fields and must give the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/wire.h"
#include "web/wsmsg.h"

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t len)
{
	static uint8_t again[WEB_MSG_MAX];
	struct web_msg m;
	size_t n = 0;

	if (web_msg_parse(p, len, &m) != 0)
		return 0;
	CHECK(len >= 1 && len <= WEB_MSG_MAX);
	again[n++] = (uint8_t)m.type;
	switch (m.type) {
	case WEB_MSG_INPUT:
	case WEB_MSG_END:
		CHECK(m.data == p + 1 && m.len == len - 1);
		if (m.type == WEB_MSG_END)
			CHECK(m.len <= WEB_NOTE_MAX && qh_utf8_valid(m.data, m.len));
		memcpy(again + n, m.data, m.len);
		n += m.len;
		break;
	case WEB_MSG_RESIZE:
		CHECK(m.rows >= 1 && m.rows <= WEB_SIZE_MAX);
		CHECK(m.cols >= 1 && m.cols <= WEB_SIZE_MAX);
		again[n++] = (uint8_t)(m.rows >> 8);
		again[n++] = (uint8_t)m.rows;
		again[n++] = (uint8_t)(m.cols >> 8);
		again[n++] = (uint8_t)m.cols;
		break;
	case WEB_MSG_PUSH:
		CHECK(m.mode <= 07777 && m.flags <= 1);
		CHECK(m.len >= 1 && m.len <= WEB_PATH_MAX && m.data == p + 14);
		CHECK(memchr(m.data, 0, m.len) == NULL && qh_utf8_valid(m.data, m.len));
		for (int i = 7; i >= 0; i--)
			again[n++] = (uint8_t)(m.size >> (8 * i));
		for (int i = 3; i >= 0; i--)
			again[n++] = (uint8_t)(m.mode >> (8 * i));
		again[n++] = m.flags;
		memcpy(again + n, m.data, m.len);
		n += m.len;
		break;
	case WEB_MSG_INFO:
		break;
	default:
		CHECK(0);
	}
	CHECK(n == len && memcmp(again, p, len) == 0);
	return 0;
}
