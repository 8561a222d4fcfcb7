/*
 * How the admin commands write what they built: a buffer reaches stdout
 * only when every append to it succeeded, and a JSON document only when it
 * is whole, so a full buffer gives one line on stderr, never half a
 * listing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/json.h"
#include "admin.h"

int
console_flush(struct qh_buf *out)
{
	size_t n = qh_buf_len(out);
	int r;

	if ((r = qh_buf_error(out)) != 0)
		return r;
	if (n > 0 && fwrite(qh_buf_ptr(out), 1, n, stdout) != n)
		return QH_ERR_SYSTEM;
	qh_buf_reset(out);
	return 0;
}

int
console_json_print(struct qh_cli *c, struct qh_json *j, struct qh_buf *out,
    const char *what)
{
	int r;

	if ((r = qh_json_finish(j)) == 0)
		r = qh_buf_put_u8(out, '\n');
	if (r == QH_ERR_TOO_LARGE)
		return qh_cli_fail(c, "%s is too large for --json", what);
	if (r != 0)
		return qh_cli_fail(c, "cannot write %s as JSON: %s", what,
		    qh_strerror(r));
	if (console_flush(out) != 0 || fflush(stdout) != 0)
		return qh_cli_fail(c, "stdout: %s", strerror(errno));
	return QH_EXIT_OK;
}

int
admin_list(struct qh_cli *c, int (*list)(struct qh_cli *c, struct qh_json *j),
    const char *header_fmt, ...)
{
	int json = qh_cli_flag(c, "json"), r, status = QH_EXIT_OK;
	struct qh_buf out;
	struct qh_json j;
	va_list ap;

	qh_buf_init(&out, 64 * 1024 * 1024);
	qh_json_init(&j, &out);
	if (json)
		qh_json_begin_array(&j);
	else {
		va_start(ap, header_fmt);
		vprintf(header_fmt, ap);
		va_end(ap);
	}
	if ((r = list(c, json ? &j : NULL)) != 0)
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
	else if (json) {
		qh_json_end_array(&j);
		status = console_json_print(c, &j, &out, "the listing");
	}
	qh_buf_release(&out);
	return status;
}

struct store_env *
admin_env(const struct qh_cli *c)
{
	return c->ctx;
}
