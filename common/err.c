/*
 * The text for each error code, and the mapping from libuv's errors.
 */
#include <uv.h>

#include "qh/err.h"

static const char *const messages[] = {
	[0] = "success",
	[-QH_ERR_INTERNAL] = "internal error",
	[-QH_ERR_NOMEM] = "out of memory",
	[-QH_ERR_INCOMPLETE] = "message incomplete",
	[-QH_ERR_FORMAT] = "invalid format",
	[-QH_ERR_TOO_LARGE] = "too large",
	[-QH_ERR_ARG] = "invalid argument",
	[-QH_ERR_SYSTEM] = "system error",
	[-QH_ERR_TLS] = "TLS error",
	[-QH_ERR_PROTOCOL] = "protocol error",
	[-QH_ERR_LIMIT] = "limit reached",
	[-QH_ERR_NOT_FOUND] = "not found",
	[-QH_ERR_EXISTS] = "already exists",
	[-QH_ERR_PERM] = "not permitted",
	[-QH_ERR_DB] = "database error",
	[-QH_ERR_CONFIG] = "configuration error",
	[-QH_ERR_AUTH] = "authentication failed",
	[-QH_ERR_CLOSED] = "connection closed",
	[-QH_ERR_AGAIN] = "try again",
	[-QH_ERR_TIMEOUT] = "timed out",
	[-QH_ERR_REFUSED] = "refused",
	[-QH_ERR_CRYPTO] = "cryptographic operation failed",
	[-QH_ERR_BUSY] = "resource busy",
};

const char *
qh_strerror(int r)
{
	if (r > 0 || r <= QH_ERR_MAX || messages[-r] == NULL)
		return "unknown error";
	return messages[-r];
}

int
qh_err_from_uv(int uverr)
{
	switch (uverr) {
	case 0:
		return QH_OK;
	case UV_ENOMEM:
		return QH_ERR_NOMEM;
	case UV_EOF:
	case UV_ECONNRESET:
	case UV_EPIPE:
	case UV_ENOTCONN:
		return QH_ERR_CLOSED;
	case UV_ETIMEDOUT:
		return QH_ERR_TIMEOUT;
	case UV_ECONNREFUSED:
		return QH_ERR_REFUSED;
	case UV_EACCES:
	case UV_EPERM:
		return QH_ERR_PERM;
	case UV_EADDRINUSE:
	case UV_EEXIST:
		return QH_ERR_EXISTS;
	case UV_ENOENT:
		return QH_ERR_NOT_FOUND;
	case UV_EAGAIN:
		return QH_ERR_AGAIN;
	case UV_EINVAL:
		return QH_ERR_ARG;
	default:
		return QH_ERR_SYSTEM;
	}
}
