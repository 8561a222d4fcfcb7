/* The page's WebSocket messages (wsmsg.h), read through the bounded reader. */
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/wire.h"
#include "wsmsg.h"

int
web_msg_parse(const uint8_t *p, size_t len, struct web_msg *m)
{
	struct qh_buf r;
	uint8_t type;
	uint16_t rows, cols;

	memset(m, 0, sizeof(*m));
	if (len > WEB_MSG_MAX)
		return QH_ERR_TOO_LARGE;
	qh_buf_init_ro(&r, p, len);
	if (qh_buf_get_u8(&r, &type) != 0)
		return QH_ERR_FORMAT;
	switch (type) {
	case WEB_MSG_INPUT:
		m->type = WEB_MSG_INPUT;
		m->data = p + 1;
		m->len = len - 1;
		return 0;
	case WEB_MSG_RESIZE:
		if (qh_buf_get_u16(&r, &rows) != 0 || qh_buf_get_u16(&r, &cols) != 0 ||
		    qh_buf_len(&r) != 0)
			return QH_ERR_FORMAT;
		if (rows < 1 || rows > WEB_SIZE_MAX || cols < 1 || cols > WEB_SIZE_MAX)
			return QH_ERR_FORMAT;
		m->type = WEB_MSG_RESIZE;
		m->rows = rows;
		m->cols = cols;
		return 0;
	case WEB_MSG_END:
		if (len - 1 > WEB_NOTE_MAX)
			return QH_ERR_TOO_LARGE;
		if (!qh_utf8_valid(p + 1, len - 1))
			return QH_ERR_FORMAT;
		m->type = WEB_MSG_END;
		m->data = p + 1;
		m->len = len - 1;
		return 0;
	case WEB_MSG_PUSH:
		if (qh_buf_get_u64(&r, &m->size) != 0 ||
		    qh_buf_get_u32(&r, &m->mode) != 0 ||
		    qh_buf_get_u8(&r, &m->flags) != 0)
			return QH_ERR_FORMAT;
		if (m->mode > 07777 || (m->flags & ~1U) != 0 || qh_buf_len(&r) == 0)
			return QH_ERR_FORMAT;
		if (qh_buf_len(&r) > WEB_PATH_MAX)
			return QH_ERR_TOO_LARGE;
		m->data = qh_buf_ptr(&r);
		m->len = qh_buf_len(&r);
		if (memchr(m->data, '\0', m->len) != NULL ||
		    !qh_utf8_valid(m->data, m->len))
			return QH_ERR_FORMAT;
		m->type = WEB_MSG_PUSH;
		return 0;
	case WEB_MSG_INFO:
		if (len != 1)
			return QH_ERR_FORMAT;
		m->type = WEB_MSG_INFO;
		return 0;
	default:
		return QH_ERR_FORMAT;
	}
}
