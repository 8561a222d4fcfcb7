/*
 * qh-console recording get SESSION NAME OUT: a session's recording (a
 * terminal cast, or a desktop recording's .fbs or its viewer side, as
 * `qh-console sessions` lists them) fetched from the console over TLS
 * with an accountant's bundle, written to a new file OUT, never over an
 * existing one, and only once its size and SHA-256 are the ones the
 * console announced (REQUEST{cmd="recording"}, received as the desk's
 * downloads are: qh/fetch.h). On the console host the files are under
 * STATE/recordings/SESSION/.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/cli.h"
#include "qh/desk.h"
#include "qh/err.h"
#include "tech.h"

static int
cmd_recording_get(struct qh_cli *c)
{
	const char *out = c->argv[2];
	struct qh_desk_req req;
	struct qh_desk_got got;
	struct qh_desk d;
	char *end;
	unsigned long long id;
	int r;

	memset(&req, 0, sizeof(req));
	req.cmd = QH_DESK_RECORDING;
	id = strtoull(c->argv[0], &end, 10);
	if (*c->argv[0] == '\0' || *end != '\0' || id < 1 || id > INT64_MAX)
		return qh_cli_usage(c, "SESSION is a session's number");
	req.id = (int64_t)id;
	if (!qh_desk_recording_name_valid(c->argv[1]))
		return qh_cli_usage(c,
		    "NAME is a recording's file name as 'sessions' lists it");
	snprintf(req.name, sizeof(req.name), "%s", c->argv[1]);
	if (*out == '\0')
		return qh_cli_usage(c, "OUT names the file to write");
	if (tech_desk_open(c, &d) != 0)
		return QH_EXIT_FAIL;
	if ((r = d.get(&d, &req, out, &got)) != 0 && d.why[0] != '\0')
		r = qh_cli_fail(c, "%s", d.why);
	tech_desk_close(&d);
	if (r != 0)
		return QH_EXIT_FAIL;
	printf("%s: %" PRIu64 " bytes, sha256 %s\n", out, got.size, got.sha256);
	return fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
}

const struct qh_cli_cmd cmd_recording_get_entry = {
	.name = "recording get",
	.usage = "SESSION NAME OUT [--tech FILE]",
	.summary = "copy a session's recording from the console to a new file OUT, "
		   "verified (accounting)",
	.min_args = 3,
	.max_args = 3,
	.opts = { QH_OPT("tech") },
	.needs = QH_CLI_TECH,
	.exec = cmd_recording_get,
};
