/*
 * qh-console outbox [--failed] [--json]: the messages queued for customers
 * and staff, newest first, with their state (queued, sent, failed,
 * skipped), their attempts and the mail server's last answer. --failed
 * shows those whose last attempt failed: waiting for another try, or given
 * up. The daemon sends them (daemon/deliver.c); this only reads.
 */
#include <stdio.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/json.h"
#include "admin.h"
#include "store/store.h"

/* Who a message goes to, for the table: its addresses, or the channel. */
static void
to_text(const struct outbox_row *m, char *out, size_t len)
{
	size_t i;

	if (m->sent_to != NULL)
		snprintf(out, len, "%s", m->sent_to);
	else if (strcmp(m->audience, "customer") == 0 && m->recipients != NULL)
		snprintf(out, len, "%s", m->recipients);
	else if (strcmp(m->audience, "staff") == 0)
		snprintf(out, len, "staff");
	else
		snprintf(out, len, "notify_command");
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] == '\n')
			out[i] = ',';
}

/* Splits the addresses (one per line) into a JSON array. */
static void
json_lines(struct qh_json *j, const char *key, const char *lines, const char *sep)
{
	const char *p = lines;
	size_t n;

	qh_json_key(j, key);
	if (lines == NULL) {
		qh_json_null(j);
		return;
	}
	qh_json_begin_array(j);
	while (*p != '\0') {
		n = strcspn(p, sep);
		if (n > 0)
			qh_json_strn(j, p, n);
		p += n;
		p += strspn(p, sep);
	}
	qh_json_end_array(j);
}

static int
outbox_row(void *arg, const struct outbox_row *m)
{
	struct qh_json *j = arg;
	char to[1024], answer[1024];

	if (j == NULL) {
		to_text(m, to, sizeof(to));
		printf("%-6lld %-20s %-16s %-8s %3lld  %-20s %s\n", (long long)m->id,
		    m->created_at, m->kind, m->status, (long long)m->attempts, to,
		    m->answer != NULL
			? qh_display_str(m->answer, answer, sizeof(answer), 0)
			: "");
		return 0;
	}
	qh_json_begin_object(j);
	qh_json_kv_int(j, "id", m->id);
	qh_json_kv_str(j, "event", m->event);
	qh_json_kv_str(j, "kind", m->kind);
	qh_json_kv_str(j, "channel", m->channel);
	qh_json_kv_str(j, "audience", m->audience);
	qh_json_kv_str(j, "customer", m->customer);
	qh_json_kv_str(j, "lang", m->lang);
	json_lines(j, "recipients", m->recipients, "\n");
	qh_json_kv_str(j, "status", m->status);
	qh_json_kv_int(j, "attempts", m->attempts);
	qh_json_kv_str(j, "created_at", m->created_at);
	qh_json_kv_str(j, "next_attempt_at",
	    strcmp(m->status, "queued") == 0 ? m->next_at : NULL);
	qh_json_kv_str(j, "last_attempt_at", m->last_attempt_at);
	qh_json_kv_str(j, "answer", m->answer);
	qh_json_kv_str(j, "message_id", m->message_id);
	json_lines(j, "sent_to", m->sent_to, ", ");
	qh_json_kv_str(j, "sent_at", m->sent_at);
	qh_json_end_object(j);
	return 0;
}

static int
outbox_list(struct qh_cli *c, struct qh_json *j)
{
	return db_outbox_list(admin_env(c)->db, qh_cli_flag(c, "failed"), outbox_row, j);
}

static int
cmd_outbox(struct qh_cli *c)
{
	return admin_list(c, outbox_list, "%-6s %-20s %-16s %-8s %3s  %-20s %s\n", "ID",
	    "CREATED", "KIND", "STATUS", "TRY", "TO", "ANSWER");
}

const struct qh_cli_cmd cmd_outbox_entry = {
	.name = "outbox",
	.usage = "[--failed] [--json]",
	.summary = "list the mails to customers and staff: queued, sent, failing",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_FLAG("failed"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_outbox,
};
