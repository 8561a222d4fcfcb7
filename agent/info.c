/*
 * The workstation facts the support policy asks every customer for, as
 * the platform collects them (agent_info_json: agent/posix/facts.c,
 * agent/win32/facts.c). `qh-agent info` prints them (as lines, or the
 * JSON with --json) without a console; the ACTION{cmd="info"} sends the
 * JSON to the technician, collected in a worker thread because a hung
 * network file system can block the collection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/compat.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "qh/out.h"
#include "agent.h"

#define INFO_MAX (256 * 1024) /* the JSON document */

/* qh-agent info [--json]. */

static int
cmd_info(struct qh_cli *c)
{
	struct qh_buf json, text;
	int r, status = QH_EXIT_OK;

	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, _("bad --log-level"));
	qh_buf_init(&json, INFO_MAX);
	qh_buf_init(&text, INFO_MAX);
	if ((r = agent_info_json(&json)) != 0) {
		status =
		    qh_cli_fail(c, _("cannot collect the facts: %s"), _(qh_strerror(r)));
		goto out;
	}
	if (qh_cli_flag(c, "json")) {
		fwrite(qh_buf_ptr(&json), 1, qh_buf_len(&json), stdout);
		fputc('\n', stdout);
	} else if ((r = qh_envinfo_text_in(qh_lang_get(), qh_buf_ptr(&json),
			qh_buf_len(&json), &text)) != 0) {
		status =
		    qh_cli_fail(c, _("cannot show the facts: %s"), _(qh_strerror(r)));
		goto out;
	} else
		(void)qh_out_write(stdout, (const char *)qh_buf_ptr(&text),
		    qh_buf_len(&text));
	if (fflush(stdout) != 0 || ferror(stdout))
		status = qh_cli_fail(c, _("cannot write the output"));
out:
	qh_buf_release(&json);
	qh_buf_release(&text);
	return status;
}

/* ACTION{cmd="info"}: collected in a worker thread, sent with flow control. */

struct info_job {
	uv_work_t work;
	struct qh_chan *ch; /* NULL once closed or gone */
	char login[QH_ID_MAX + 1];
	struct qh_buf json;
	int result;	   /* of agent_info_json */
	int busy;	   /* the work is queued or running */
	int collected;	   /* and done: sending */
	uv_timer_t closer; /* closed last; its callback frees */
	int closing;
};

static void
job_freed(uv_handle_t *h)
{
	struct info_job *j = h->data;

	qh_buf_release(&j->json);
	free(j);
}

/* Frees j (from a close callback) once the channel is gone and the work is done. */
static void
job_maybe_free(struct info_job *j)
{
	if (j->ch != NULL || j->busy || j->closing)
		return;
	j->closing = 1;
	uv_close((uv_handle_t *)&j->closer, job_freed);
}

/*
 * Sends the JSON as far as the window allows; at its end EXIT{status=0},
 * EOF and CLOSE, so that the console sees the command finished, as after
 * an exec.
 */
static void
job_send(struct info_job *j)
{
	struct qh_buf b;
	ssize_t n;

	while (j->ch != NULL && qh_buf_len(&j->json) > 0) {
		if ((n = qh_chan_write(j->ch, 0, qh_buf_ptr(&j->json),
			 qh_buf_len(&j->json))) < 0) {
			qh_buf_reset(&j->json);
			break;
		}
		if (n == 0)
			return; /* on_writable resumes */
		(void)qh_buf_consume(&j->json, (size_t)n);
	}
	qh_buf_init(&b, 64);
	if (j->ch != NULL && qh_msg_begin(&b, QH_MSG_EXIT) == 0 &&
	    qh_msg_put_u32(&b, QH_K_STATUS, 0) == 0)
		(void)qh_chan_send_msg(j->ch, &b);
	qh_buf_release(&b);
	if (j->ch != NULL)
		(void)qh_chan_eof(j->ch);
	if (j->ch != NULL)
		qh_chan_close(j->ch);
	j->ch = NULL;
	job_maybe_free(j);
}

static void
job_work(uv_work_t *w)
{
	struct info_job *j = w->data;

	j->result = agent_info_json(&j->json);
}

static void
job_done(uv_work_t *w, int status)
{
	struct info_job *j = w->data;

	j->busy = 0;
	if (j->ch == NULL) {
		job_maybe_free(j);
		return;
	}
	if (status != 0 || j->result != 0) {
		qh_warn("info for %s: %s", j->login,
		    status != 0 ? uv_strerror(status) : qh_strerror(j->result));
		qh_buf_reset(&j->json);
		(void)qh_buf_put(&j->json, "{}", 2);
	}
	j->collected = 1;
	job_send(j);
}

static void
job_writable(struct qh_chan *ch)
{
	struct info_job *j = qh_chan_arg(ch);

	if (j->collected)
		job_send(j);
}

static void
job_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED, size_t len)
{
	qh_chan_consume(ch, len);
}

static void
job_close(struct qh_chan *ch)
{
	struct info_job *j = qh_chan_arg(ch);

	j->ch = NULL;
	job_maybe_free(j);
}

static const struct qh_chan_ops job_ops = {
	.on_data = job_data,
	.on_writable = job_writable,
	.on_close = job_close,
};

int
info_start(struct task_list *tasks QH_UNUSED, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct info_job *j;
	char *login = NULL;
	int r;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		qh_chan_refuse(ch, "internal", "the agent is out of memory");
		return 0;
	}
	qh_buf_init(&j->json, INFO_MAX);
	(void)qh_msg_get_str(m, QH_K_LOGIN, &login);
	snprintf(j->login, sizeof(j->login), "%s", login != NULL ? login : "?");
	ui_sanitize(j->login);
	free(login);
	uv_timer_init(loop, &j->closer);
	j->closer.data = j;
	j->work.data = j;
	ui_notice(_("%s reads this PC's facts (system, memory, disks, network)"),
	    j->login);
	j->ch = ch;
	if ((r = qh_chan_accept(ch, QH_MUX_MIN_WINDOW, &job_ops, j)) != 0) {
		qh_debug("accept: %s", qh_strerror(r));
		j->ch = NULL;
		job_maybe_free(j);
		return 0;
	}
	if ((r = uv_queue_work(loop, &j->work, job_work, job_done)) != 0) {
		qh_warn("info: %s", uv_strerror(r));
		(void)qh_buf_put(&j->json, "{}", 2);
		j->collected = 1;
		job_send(j);
		return 0;
	}
	j->busy = 1;
	return 0;
}

const struct qh_cli_cmd cmd_info_entry = {
	.name = "info",
	.usage = "[--json] [--lang de|en]",
	.summary = N_("show this PC's facts your technician may ask for (system, "
		      "memory, disks, network)"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_FLAG("json"), QH_OPT("log-level"), QH_OPT("lang") },
	.exec = cmd_info,
};
