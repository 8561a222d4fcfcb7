/*
 * Receiving a ticket's attachment into a file of the user's: `ticket get`
 * on the console host (from the store), over TLS (from the console) and on
 * the customer's PC. The bytes go into a temporary file beside the
 * destination (qh/tmpfile.h) while their SHA-256 is computed; only when
 * the size and the hash are the ones on record does the file appear at
 * its name, and never over a file that is there. On every other path
 * nothing is left behind.
 */
#ifndef QH_FETCH_H
#define QH_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "qh/tmpfile.h"

struct qh_fetch {
	struct qh_tmpfile tf;
	EVP_MD_CTX *md;
	uint64_t size;	 /* the bytes on record */
	uint64_t got;	 /* the bytes written so far */
	char sha256[65]; /* the hex SHA-256 on record */
};

/*
 * Starts receiving size bytes whose SHA-256 is sha256 (lowercase hex)
 * into a new file at out. Returns 0; QH_ERR_EXISTS when something is at
 * out; QH_ERR_SYSTEM (errno set: ENOENT for a missing directory, EACCES)
 * or QH_ERR_NOMEM, with nothing made.
 */
int qh_fetch_open(struct qh_fetch *f, const char *out, uint64_t size, const char *sha256);

/*
 * Writes len bytes. Returns 0; QH_ERR_TOO_LARGE past the size on record;
 * QH_ERR_SYSTEM (errno) when the write failed. Abort after a failure.
 */
int qh_fetch_write(struct qh_fetch *f, const void *p, size_t len);

/*
 * Checks what arrived (its hex SHA-256 into got, 65 bytes) and puts the
 * file at out, synced. Returns 0; QH_ERR_INCOMPLETE (fewer bytes than on
 * record), QH_ERR_FORMAT (another hash), QH_ERR_EXISTS (a file appeared at
 * out meanwhile) or QH_ERR_SYSTEM (errno), with nothing left behind.
 */
int qh_fetch_finish(struct qh_fetch *f, char got[65]);

/* Removes what was written and frees f; a no-op after finish. */
void qh_fetch_abort(struct qh_fetch *f);

#endif
