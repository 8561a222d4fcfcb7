/*
 * The queue as technicians read it (`qh-console queue`): a table for
 * people or a JSON array, from the views queue_each gives, and those
 * views.
 */
#include <stdio.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/json.h"
#include "queue.h"
#include "queue_int.h"
#include "session.h"
#include "reply.h"

/* One entry as a line of the table. */
static void
text_row(void *arg, const struct queue_view *v)
{
	struct qh_buf *out = arg;
	char pretty[8], dur[32], line[1024];

	qh_clock_format_duration(qh_clock_now() - v->waiting_since, dur, sizeof(dur));
	snprintf(line, sizeof(line), "%-8s %-16s %-20s %-10s %s%s\n",
	    reply_code(v->code, pretty), v->customer, v->host, dur,
	    v->technicians[0] ? v->technicians : "-",
	    v->connected ? "" : " (reconnecting)");
	(void)qh_buf_put(out, line, strlen(line));
}

/* One entry as an object of the array. */
static void
json_row(void *arg, const struct queue_view *v)
{
	struct qh_json *j = arg;
	char since[32], techs[512], *save = NULL, *tok;

	qh_clock_format_utc(v->waiting_since, since, sizeof(since));
	snprintf(techs, sizeof(techs), "%s", v->technicians);
	qh_json_begin_object(j);
	qh_json_kv_str(j, "code", v->code);
	qh_json_kv_str(j, "customer", v->customer);
	qh_json_kv_str(j, "name", v->name);
	qh_json_kv_str(j, "host", v->host);
	qh_json_kv_str(j, "agent", v->agent_id);
	qh_json_kv_str(j, "waiting_since", since);
	qh_json_kv_bool(j, "connected", v->connected);
	if (v->has_balance)
		qh_json_kv_int(j, "balance", v->balance);
	else
		qh_json_kv_null(j, "balance");
	qh_json_key(j, "technicians");
	qh_json_begin_array(j);
	for (tok = strtok_r(techs, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		qh_json_str(j, tok);
	qh_json_end_array(j);
	if (v->session != 0)
		qh_json_kv_int(j, "session", v->session);
	else
		qh_json_kv_null(j, "session");
	qh_json_kv_int(j, "running_units", v->running_units);
	qh_json_end_object(j);
}

void
queue_list_json(struct server *srv, struct qh_buf *out)
{
	struct qh_json j;

	qh_json_init(&j, out);
	qh_json_begin_array(&j);
	queue_each(srv, json_row, &j);
	qh_json_end_array(&j);
	(void)qh_buf_put_u8(out, '\n');
	if (qh_json_finish(&j) != 0) {
		qh_buf_reset(out);
		(void)qh_buf_put(out, "[]\n", 3); /* XXX: the queue outgrew a window */
	}
}

void
queue_list(struct server *srv, struct qh_chan *ch, const struct qh_msg *m)
{
	static const struct qh_chan_ops reply_ops = { 0 };
	struct qh_buf out;
	char head[128];
	uint32_t flags = 0;

	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	qh_chan_accept(ch, 0, &reply_ops, NULL);
	qh_buf_init(&out, QH_MUX_WINDOW);
	if (flags & 2) {
		if (LIST_EMPTY(&srv->queue))
			(void)qh_buf_put(&out, "no agents waiting\n", 18);
		else {
			snprintf(head, sizeof(head), "%-8s %-16s %-20s %-10s %s\n",
			    "CODE", "CUSTOMER", "HOST", "WAITING", "TECHNICIANS");
			(void)qh_buf_put(&out, head, strlen(head));
			queue_each(srv, text_row, &out);
		}
	} else
		queue_list_json(srv, &out);
	reply_text(ch, (const char *)qh_buf_ptr(&out), qh_buf_len(&out));
	qh_buf_release(&out);
}

int
queue_has_customer(struct server *srv, const char *customer)
{
	struct entry *e;

	LIST_FOREACH (e, &srv->queue, link)
		if (!e->closing && strcmp(e->customer, customer) == 0)
			return 1;
	return 0;
}

void
queue_each(struct server *srv, void (*fn)(void *arg, const struct queue_view *v),
    void *arg)
{
	struct ledger_balance bal;
	struct queue_view v;
	struct entry *e;
	char techs[512];

	LIST_FOREACH (e, &srv->queue, link) {
		relay_logins(&e->relays, techs, sizeof(techs));
		v.code = e->code;
		v.customer = e->customer;
		v.name = e->customer_name;
		v.host = e->host;
		v.agent_id = e->agent_id;
		v.waiting_since = e->waiting_since;
		v.connected = e->agent != NULL;
		v.technicians = techs;
		v.session = e->session != NULL ? session_id(e->session) : 0;
		v.running_units =
		    e->session != NULL ? session_running_units(e->session) : 0;
		v.has_balance = ledger_balance(srv->db, e->customer, &bal) == 0;
		v.balance = v.has_balance ? bal.units : 0;
		fn(arg, &v);
	}
}
