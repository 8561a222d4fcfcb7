/*
 * FBS 001.000 recordings: the magic and the blocks, written into and read
 * from bounded buffers. See qh/fbs.h for the layout.
 */
#include <string.h>

#include "qh/err.h"
#include "qh/fbs.h"

static const uint8_t zeros[4];

int
qh_fbs_put_header(struct qh_buf *out)
{
	return qh_buf_put(out, QH_FBS_MAGIC, QH_FBS_MAGIC_LEN);
}

int
qh_fbs_put_block(struct qh_buf *out, const void *p, size_t len, uint32_t ms)
{
	size_t pad = (4 - len % 4) % 4;

	if (len == 0 || len > QH_FBS_BLOCK_MAX)
		return QH_ERR_ARG;
	if (qh_buf_room(out) < QH_FBS_BLOCK_SIZE(len))
		return QH_ERR_TOO_LARGE;
	(void)qh_buf_put_u32(out, (uint32_t)len);
	(void)qh_buf_put(out, p, len);
	(void)qh_buf_put(out, zeros, pad);
	return qh_buf_put_u32(out, ms);
}

int
qh_fbs_get_header(struct qh_buf *in)
{
	uint8_t m[QH_FBS_MAGIC_LEN];
	struct qh_buf peek = *in;

	if (qh_buf_get(&peek, m, sizeof(m)) != 0)
		return QH_ERR_INCOMPLETE;
	if (memcmp(m, QH_FBS_MAGIC, QH_FBS_MAGIC_LEN) != 0)
		return QH_ERR_FORMAT;
	return qh_buf_consume(in, QH_FBS_MAGIC_LEN);
}

int
qh_fbs_get_block(struct qh_buf *in, const uint8_t **pp, size_t *lenp, uint32_t *ms)
{
	struct qh_buf peek = *in;
	uint8_t pad[4];
	uint32_t len;
	size_t npad;

	if (qh_buf_peek_u32(in, 0, &len) != 0)
		return QH_ERR_INCOMPLETE;
	if (len > QH_FBS_BLOCK_MAX)
		return QH_ERR_TOO_LARGE;
	if (qh_buf_len(in) < QH_FBS_BLOCK_SIZE(len))
		return QH_ERR_INCOMPLETE;
	npad = (4 - len % 4) % 4;
	(void)qh_buf_consume(&peek, 4);
	*pp = qh_buf_ptr(&peek);
	*lenp = len;
	(void)qh_buf_consume(&peek, len);
	(void)qh_buf_get(&peek, pad, npad);
	if (memcmp(pad, zeros, npad) != 0)
		return QH_ERR_FORMAT;
	(void)qh_buf_get_u32(&peek, ms);
	return qh_buf_consume(in, QH_FBS_BLOCK_SIZE(len));
}
