/*
 * The text for each error code, and the mapping from libuv's errors. The
 * texts are marked for translation: the agent shows _(qh_strerror(r)).
 */
#include <uv.h>

#include "qh/err.h"
#include "qh/text.h"

static const char *const messages[] = {
	[0] = N_("success"),
	[-QH_ERR_INTERNAL] = N_("internal error"),
	[-QH_ERR_NOMEM] = N_("out of memory"),
	[-QH_ERR_INCOMPLETE] = N_("message incomplete"),
	[-QH_ERR_FORMAT] = N_("invalid format"),
	[-QH_ERR_TOO_LARGE] = N_("too large"),
	[-QH_ERR_ARG] = N_("invalid argument"),
	[-QH_ERR_SYSTEM] = N_("system error"),
	[-QH_ERR_TLS] = N_("TLS error"),
	[-QH_ERR_PROTOCOL] = N_("protocol error"),
	[-QH_ERR_LIMIT] = N_("limit reached"),
	[-QH_ERR_NOT_FOUND] = N_("not found"),
	[-QH_ERR_EXISTS] = N_("already exists"),
	[-QH_ERR_PERM] = N_("not permitted"),
	[-QH_ERR_DB] = N_("database error"),
	[-QH_ERR_CONFIG] = N_("configuration error"),
	[-QH_ERR_AUTH] = N_("authentication failed"),
	[-QH_ERR_CLOSED] = N_("connection closed"),
	[-QH_ERR_AGAIN] = N_("try again"),
	[-QH_ERR_TIMEOUT] = N_("timed out"),
	[-QH_ERR_REFUSED] = N_("refused"),
	[-QH_ERR_CRYPTO] = N_("cryptographic operation failed"),
	[-QH_ERR_BUSY] = N_("resource busy"),
};

const char *
qh_strerror(int r)
{
	if (r > 0 || r <= QH_ERR_MAX || messages[-r] == NULL)
		return N_("unknown error");
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
