/*
 * How the admin commands write what they built: a buffer reaches stdout
 * only when every append to it succeeded, and a JSON document only when it
 * is whole, so a full buffer gives one line on stderr, never half a
 * listing.
 */
#include <errno.h>
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

struct store_env *
admin_env(const struct qh_cli *c)
{
	return c->ctx;
}
