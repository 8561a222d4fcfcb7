/*
 * One error space for all of quarterhour: functions return 0 on success or
 * a negative QH_ERR_* code. Errors from libuv, OpenSSL and SQLite are mapped
 * to these at the boundary where they occur.
 */
#ifndef QH_ERR_H
#define QH_ERR_H

#define QH_OK		  0
#define QH_ERR_INTERNAL	  -1  /* broken invariant */
#define QH_ERR_NOMEM	  -2  /* allocation failed */
#define QH_ERR_INCOMPLETE -3  /* reader ran past the end of data */
#define QH_ERR_FORMAT	  -4  /* malformed input */
#define QH_ERR_TOO_LARGE  -5  /* a bound would be exceeded */
#define QH_ERR_ARG	  -6  /* bad argument from the caller */
#define QH_ERR_SYSTEM	  -7  /* system call failed; see errno */
#define QH_ERR_TLS	  -8  /* TLS failure; OpenSSL's queue was logged */
#define QH_ERR_PROTOCOL	  -9  /* peer broke the protocol */
#define QH_ERR_LIMIT	  -10 /* a configured limit was reached */
#define QH_ERR_NOT_FOUND  -11 /* no such object */
#define QH_ERR_EXISTS	  -12 /* object exists already */
#define QH_ERR_PERM	  -13 /* not permitted */
#define QH_ERR_DB	  -14 /* database failure */
#define QH_ERR_CONFIG	  -15 /* bad configuration */
#define QH_ERR_AUTH	  -16 /* authentication failed */
#define QH_ERR_CLOSED	  -17 /* connection or channel is closed */
#define QH_ERR_AGAIN	  -18 /* try again later (no window, queue full) */
#define QH_ERR_TIMEOUT	  -19 /* timed out */
#define QH_ERR_REFUSED	  -20 /* refused by policy or by the peer */
#define QH_ERR_CRYPTO	  -21 /* key, certificate or hash operation failed */
#define QH_ERR_BUSY	  -22 /* resource held by another process */
#define QH_ERR_MAX	  -23 /* first unused code */

/* Returns a static description of r (never NULL). */
const char *qh_strerror(int r);

/* Maps a negative libuv error to the nearest QH_ERR_* code. */
int qh_err_from_uv(int uverr);

#endif
