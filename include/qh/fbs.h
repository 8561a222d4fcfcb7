/*
 * FBS 001.000, the recording format of rfbproxy and vncrec: the 12 bytes
 * "FBS 001.000\n", then blocks of the server-to-client RFB stream, each a
 * big-endian u32 length, that many bytes padded with zeros to a multiple
 * of four, and a big-endian u32 time in milliseconds since the recording
 * began. The stream starts with the server's handshake; qh/rfbdec.h
 * decodes it.
 *
 * The writer appends to a bounded buffer the caller flushes to a file;
 * the reader takes whole blocks from the front of a buffer, "incomplete"
 * (nothing consumed) kept apart from "invalid".
 */
#ifndef QH_FBS_H
#define QH_FBS_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"

#define QH_FBS_MAGIC	 "FBS 001.000\n"
#define QH_FBS_MAGIC_LEN 12
/* Longest block either side accepts; a reader's buffer must hold one. */
#define QH_FBS_BLOCK_MAX (16 * 1024 * 1024)
/* Bytes a block of len data bytes takes in the file. */
#define QH_FBS_BLOCK_SIZE(len) (4 + (((size_t)(len) + 3) & ~(size_t)3) + 4)

/* Appends the magic; 0 or QH_ERR_TOO_LARGE. */
int qh_fbs_put_header(struct qh_buf *out);

/*
 * Appends one block of len bytes stamped ms. Nothing is appended when it
 * does not fit (QH_ERR_TOO_LARGE), or for len 0 or past QH_FBS_BLOCK_MAX
 * (QH_ERR_ARG).
 */
int qh_fbs_put_block(struct qh_buf *out, const void *p, size_t len, uint32_t ms);

/*
 * Reads the magic: 0, QH_ERR_INCOMPLETE (nothing consumed) or
 * QH_ERR_FORMAT (not an FBS 001.000 file).
 */
int qh_fbs_get_header(struct qh_buf *in);

/*
 * Reads one block: *pp points at its len data bytes inside in (valid until
 * in changes), *ms is its time. Returns 0, QH_ERR_INCOMPLETE (nothing
 * consumed), QH_ERR_TOO_LARGE for a length past QH_FBS_BLOCK_MAX (decided
 * from the length alone) or QH_ERR_FORMAT for non-zero padding.
 */
int qh_fbs_get_block(struct qh_buf *in, const uint8_t **pp, size_t *lenp, uint32_t *ms);

#endif
