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

/*
 * Short join codes (`enroll ID --short`), for agents that know the console
 * already (`join --short CODE --console HOST:PORT --pin SHA256`, or an
 * agent from `agent-package`): QH_SHORT_LEN characters of
 * QH_SHORT_ALPHABET, which leaves out what is misread on the phone (0/O,
 * 1/I/L). The first QH_SHORT_LOOKUP characters name the code's row in the
 * console's store, which bounds the wrong attempts per code; the code is
 * stored only as its SHA-256.
 */
#define QH_SHORT_LEN	  10
#define QH_SHORT_LOOKUP	  3
#define QH_SHORT_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

/* Writes a new random code (QH_SHORT_LEN characters and a NUL) into out. */
int qh_short_new(char *out, size_t outlen);

/*
 * Reads a code as a person types it: letters in either case, spaces and
 * '-' between them ignored. Writes the code (QH_SHORT_LEN characters and a
 * NUL) into out; QH_ERR_FORMAT for anything else, decided on at most
 * QH_TOKEN_MAX bytes of text.
 */
int qh_short_parse(const char *text, char *out, size_t outlen);

/* Reads a CA pin: 64 hex digits, either case, into out as lowercase. */
int qh_pin_parse(const char *text, char *out, size_t outlen);

#endif
