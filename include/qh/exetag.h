/*
 * A tag at the end of an agent program: what `qh-console enroll ID --exe
 * FILE` writes into a copy of qh-agent.exe (the join token, the vendor's
 * name) so that the customer only downloads and starts it, and what the
 * agent reads from its own file at its first start.
 *
 * The tag is the file's last bytes, a multiple of 8 long:
 *
 *	PAYLOAD     "token=...\nvendor=...\n" (UTF-8), at most QH_EXETAG_MAX
 *	padding     NUL bytes up to a multiple of 8
 *	u32 LE      the payload's length
 *	u32 LE      0 (reserved)
 *	"QHTAG001"  8 bytes
 *
 * A vendor-built agent (`qh-console agent-package`) carries, instead of a
 * token, the console it belongs to: "console=HOST:PORT\npin=SHA256\n"
 * (and the vendor); each PC then joins with a short code (qh/token.h).
 *
 * An unsigned exe gets it appended, and so does any other program (Linux). A signed one
 *has its Authenticode signature in the certificate table at the end of the file, which
 *the signature does not cover: there the tag extends the last certificate's entry past
 *its PKCS#7 blob (the padding Windows ignores), the table's size in the PE header grows
 *with it and the PE checksum is computed again, so the signature stays valid. Either way
 *the tag ends the file.
 */
#ifndef QH_EXETAG_H
#define QH_EXETAG_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"

#define QH_EXETAG_MAX	  4096 /* payload bytes */
#define QH_EXETAG_TRAILER 16

/*
 * Builds the tag for token and vendor (NULL or "" for none) into out.
 * Returns 0, QH_ERR_ARG (a value with a newline or NUL, an empty token) or
 * QH_ERR_TOO_LARGE.
 */
int qh_exetag_build(const char *token, const char *vendor, struct qh_buf *out);

/*
 * Builds the tag of a vendor-built agent: the console's address, its CA
 * pin (hex SHA-256) and the vendor (NULL or "" for none). Returns as
 * qh_exetag_build.
 */
int qh_exetag_build_console(const char *console, const char *pin, const char *vendor,
    struct qh_buf *out);

/*
 * Reads a tag from the last len bytes of a file (all of it, or at least
 * its last QH_EXETAG_MAX + 24 bytes). Returns 0 with the values copied
 * (vendor "" when absent), QH_ERR_NOT_FOUND when the file has no tag, or
 * QH_ERR_FORMAT for a damaged one.
 */
int qh_exetag_read(const uint8_t *tail, size_t len, char *token, size_t tokenlen,
    char *vendor, size_t vendorlen);

/*
 * Reads a vendor-built agent's tag as qh_exetag_read does: 0 with the
 * console, the pin and the vendor ("" when absent) copied,
 * QH_ERR_NOT_FOUND when the file has no tag or one without a console, or
 * QH_ERR_FORMAT for a damaged one. (qh_exetag_read answers
 * QH_ERR_NOT_FOUND for such a tag: it carries no token.)
 */
int qh_exetag_read_console(const uint8_t *tail, size_t len, char *console,
    size_t consolelen, char *pin, size_t pinlen, char *vendor, size_t vendorlen);

/*
 * Writes into out a copy of the len bytes of a program that is not a PE
 * file (an ELF program: what follows its sections is not loaded) with tag
 * appended in place of any tag it had. Returns 0 or QH_ERR_TOO_LARGE.
 */
int qh_exetag_append(const uint8_t *file, size_t len, const struct qh_buf *tag,
    struct qh_buf *out);

/*
 * Writes into out a copy of the PE file exe (len bytes) carrying tag (from
 * qh_exetag_build) in place of any tag it had. *is_signed tells which way
 * it went. Returns 0, QH_ERR_FORMAT (not a PE file, or a signed one whose
 * certificate table is not at the end) or QH_ERR_TOO_LARGE.
 */
int qh_exetag_apply(const uint8_t *exe, size_t len, const struct qh_buf *tag,
    struct qh_buf *out, int *is_signed);

#endif
