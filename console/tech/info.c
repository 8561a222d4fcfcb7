/*
 * qh-console info: the facts of the customer's workstation that the
 * support policy asks for (system, CPU, memory, disks, network), as the
 * agent reports them: readable lines, or its JSON object with --json. Both
 * come from the customer's PC: the lines pass the display filter, and the
 * JSON is printed as it came only if it is JSON that the filter would show
 * unchanged (an agent's own builder escapes every control).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/display.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "qh/mux.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

#define INFO_JSON_MAX (1024 * 1024) /* the agent's document */

struct info_state {
	struct qh_buf json;
	int overflow; /* the agent sent more than INFO_JSON_MAX */
};

/* Collects the document; it is printed once the connection is closed. */
static void
info_on_data(struct tech *t, int ext, const uint8_t *p, size_t len)
{
	struct info_state *x = tech_arg(t);

	if (!ext && qh_buf_put(&x->json, p, len) != 0)
		x->overflow = 1;
	tech_consume(t, len);
}

static int
info_on_end(struct tech *t)
{
	struct info_state *x = tech_arg(t);

	if (x->overflow) {
		tech_say(t, "the agent's answer is larger than %d bytes", INFO_JSON_MAX);
		return QH_EXIT_FAIL;
	}
	if (qh_buf_len(&x->json) == 0) {
		tech_say(t, "the agent sent no facts");
		return QH_EXIT_FAIL;
	}
	return QH_EXIT_OK;
}

/* 1 when the len bytes at p are JSON that a terminal can show as they are. */
static int
json_showable(const uint8_t *p, size_t len)
{
	struct qh_json_doc *doc = NULL;
	struct qh_buf shown;
	int ok;

	if (qh_json_parse(p, len, &doc) != 0)
		return 0;
	qh_json_free(doc);
	qh_buf_init(&shown, len);
	ok = qh_display_put(&shown, p, len, QH_DISPLAY_LINES) == 0 &&
	    qh_buf_len(&shown) == len && memcmp(qh_buf_ptr(&shown), p, len) == 0;
	qh_buf_release(&shown);
	return ok;
}

static const struct tech_ops info_ops = {
	.on_data = info_on_data,
	.on_end = info_on_end,
};

static int
cmd_info(struct qh_cli *c)
{
	struct info_state x;
	char code[TECH_CODE_LEN + 1];
	struct tech *t = NULL;
	struct qh_buf req, text;
	uint32_t flags = qh_cli_flag(c, "allow-overdraft") ? TECH_FLAG_OVERDRAFT : 0;
	int status, r;

	if (tech_parse_code(c->argv[0], code) != 0)
		return qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
	x.overflow = 0;
	qh_buf_init(&x.json, INFO_JSON_MAX);
	qh_buf_init(&text, INFO_JSON_MAX);
	qh_buf_init(&req, 1024);
	if ((status = tech_new(c, &info_ops, &x, &t)) != 0)
		goto out;
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "info") != 0 ||
	    qh_msg_put_str(&req, QH_K_CODE, code) != 0 ||
	    qh_msg_put_u32(&req, QH_K_FLAGS, flags) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	status = tech_run(t, &req);
	/* Printed after the loop, when stdout is an ordinary blocking stream again. */
	tech_free(t);
	t = NULL;
	if (status != QH_EXIT_OK)
		goto out;
	if (qh_cli_flag(c, "json")) {
		if (!json_showable(qh_buf_ptr(&x.json), qh_buf_len(&x.json))) {
			status = qh_cli_fail(c,
			    "the agent's facts are not JSON a terminal can show as "
			    "they are (control characters or no JSON); run without "
			    "--json to see them");
			goto out;
		}
		fwrite(qh_buf_ptr(&x.json), 1, qh_buf_len(&x.json), stdout);
		fputc('\n', stdout);
	} else if ((r = qh_envinfo_text(qh_buf_ptr(&x.json), qh_buf_len(&x.json),
			&text)) != 0) {
		status = qh_cli_fail(c, "the agent's facts are not readable: %s",
		    qh_strerror(r));
		goto out;
	} else
		fwrite(qh_buf_ptr(&text), 1, qh_buf_len(&text), stdout);
	if (fflush(stdout) != 0 || ferror(stdout))
		status = qh_cli_fail(c, "cannot write the output");
out:
	tech_free(t);
	qh_buf_release(&req);
	qh_buf_release(&text);
	qh_buf_release(&x.json);
	return status;
}

const struct qh_cli_cmd cmd_info_entry = {
	.name = "info",
	.usage = "CODE [--json] [--allow-overdraft] [--tech FILE]",
	.summary = "show the customer's workstation: system, CPU, memory, disks, network",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("tech"), QH_FLAG("json"), QH_FLAG("allow-overdraft") },
	.needs = QH_CLI_TECH,
	.exec = cmd_info,
};
