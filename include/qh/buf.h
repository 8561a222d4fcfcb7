/*
 * The bounded buffer every parser goes through, after OpenSSH's sshbuf.
 *
 * A buffer holds bytes between a read offset and an end. Getters consume
 * from the front or fail with QH_ERR_INCOMPLETE and consume nothing; putters
 * append at the end or fail with QH_ERR_TOO_LARGE when the buffer's maximum
 * would be exceeded. Integers are big-endian; a "string" is a u32 length
 * followed by that many bytes.
 *
 * Putters keep their first error, as curl's dynbuf does: after a put failed,
 * every later put fails with the same error and appends nothing, so a
 * builder can append a whole message, check qh_buf_error() once, and never
 * send half of one. The error goes with the data: qh_buf_reset(), or a
 * qh_buf_consume() that empties the buffer, clears it. qh_buf_reserve() is a
 * plain attempt and is not sticky.
 *
 * The struct is visible only so that buffers can live on the stack or inside
 * other structs without an allocation; callers never touch its fields.
 */
#ifndef QH_BUF_H
#define QH_BUF_H

#include <stddef.h>
#include <stdint.h>

struct qh_buf {
	uint8_t *d;   /* private: storage */
	size_t off;   /* private: read offset */
	size_t end;   /* private: end of data */
	size_t alloc; /* private: bytes allocated at d */
	size_t max;   /* private: most bytes the buffer may hold */
	int readonly; /* private: d is borrowed, never written */
	int err;      /* private: the first failed put, or 0 */
};

/* Initialises an empty, growable buffer that never holds more than max bytes. */
void qh_buf_init(struct qh_buf *b, size_t max);

/* Initialises a read-only view of len bytes at p; p must outlive the view. */
void qh_buf_init_ro(struct qh_buf *b, const void *p, size_t len);

/* Frees the storage (not a borrowed one); the buffer is empty afterwards. */
void qh_buf_release(struct qh_buf *b);

/* Bytes available to read. */
size_t qh_buf_len(const struct qh_buf *b);

/* Pointer to the first readable byte; valid until the next put or consume. */
const uint8_t *qh_buf_ptr(const struct qh_buf *b);

/* Bytes that may still be appended before the maximum is reached. */
size_t qh_buf_room(const struct qh_buf *b);

/* Bytes of storage the buffer holds now (0 for a borrowed one). */
size_t qh_buf_capacity(const struct qh_buf *b);

/* Frees the storage of an empty buffer, so an idle owner holds none. */
void qh_buf_trim(struct qh_buf *b);

/* Drops all data and a kept put error; keeps the storage. */
void qh_buf_reset(struct qh_buf *b);

/* The error of the first put that failed since init or reset, or 0. */
int qh_buf_error(const struct qh_buf *b);

/*
 * Records err as the buffer's put error unless one is kept already (for
 * builders on top of qh_buf that refuse a value themselves). Returns the
 * kept error.
 */
int qh_buf_fail(struct qh_buf *b, int err);

/*
 * Drops n bytes from the front; QH_ERR_INCOMPLETE if fewer are there. When
 * that empties the buffer, a kept put error is cleared too.
 */
int qh_buf_consume(struct qh_buf *b, size_t n);

/*
 * Makes room for n bytes at the end and returns a pointer to them in *dp;
 * the bytes count as data at once (use qh_buf_unreserve to give back the
 * unused tail). Returns QH_ERR_TOO_LARGE past the maximum.
 */
int qh_buf_reserve(struct qh_buf *b, size_t n, uint8_t **dp);

/* Gives back the last n bytes appended (after a reserve that filled less). */
void qh_buf_unreserve(struct qh_buf *b, size_t n);

int qh_buf_put(struct qh_buf *b, const void *p, size_t len);
int qh_buf_put_u8(struct qh_buf *b, uint8_t v);
int qh_buf_put_u16(struct qh_buf *b, uint16_t v);
int qh_buf_put_u32(struct qh_buf *b, uint32_t v);
int qh_buf_put_u64(struct qh_buf *b, uint64_t v);
/* Appends a u32 length and len bytes. */
int qh_buf_put_string(struct qh_buf *b, const void *p, size_t len);
/* Appends a NUL-terminated C string as a string (without the NUL). */
int qh_buf_put_cstring(struct qh_buf *b, const char *s);

int qh_buf_get(struct qh_buf *b, void *p, size_t len);
int qh_buf_get_u8(struct qh_buf *b, uint8_t *v);
int qh_buf_get_u16(struct qh_buf *b, uint16_t *v);
int qh_buf_get_u32(struct qh_buf *b, uint32_t *v);
int qh_buf_get_u64(struct qh_buf *b, uint64_t *v);

/*
 * Reads a string without copying: *pp points into the buffer and stays valid
 * until the buffer changes. Strings longer than maxlen give QH_ERR_TOO_LARGE
 * and consume nothing.
 */
int qh_buf_get_string_direct(struct qh_buf *b, const uint8_t **pp, size_t *lenp,
    size_t maxlen);

/*
 * Reads a string into a new NUL-terminated allocation owned by the caller.
 * Embedded NUL bytes give QH_ERR_FORMAT; longer than maxlen, QH_ERR_TOO_LARGE.
 */
int qh_buf_get_cstring(struct qh_buf *b, char **sp, size_t maxlen);

/* Reads a big-endian u32 at offset off from the read position without consuming. */
int qh_buf_peek_u32(const struct qh_buf *b, size_t off, uint32_t *v);
int qh_buf_peek_u8(const struct qh_buf *b, size_t off, uint8_t *v);

#endif
