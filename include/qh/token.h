/*
 * Join tokens: what `qh-console enroll` prints and `qh-agent join` reads.
 * A token is "qh1." followed by base64url (no padding) of three lines:
 * the console address HOST:PORT, the hex SHA-256 pin of the console's CA,
 * and the secret (32 hex digits). Only SHA-256(secret) is stored.
 */
#ifndef QH_TOKEN_H
#define QH_TOKEN_H

#include <stddef.h>

#define QH_TOKEN_MAX	    512
#define QH_TOKEN_SECRET_LEN 32

struct qh_token {
	char console[300];		      /* HOST:PORT */
	char pin[65];			      /* CA fingerprint, lowercase hex */
	char secret[QH_TOKEN_SECRET_LEN + 1]; /* lowercase hex */
};

/* Writes the token text for t into out (at least QH_TOKEN_MAX bytes). */
int qh_token_encode(const struct qh_token *t, char *out, size_t outlen);

/*
 * Parses token text. Returns 0, or QH_ERR_FORMAT for anything that is not
 * a well-formed token (wrong prefix, bad base64, bad address, pin or
 * secret), deciding on the bounded input alone.
 */
int qh_token_decode(const char *text, struct qh_token *t);

/* Fills t->secret with a new random secret. */
int qh_token_new_secret(struct qh_token *t);

#endif
