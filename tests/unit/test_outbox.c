/*
 * Unit tests for the store's outbox: each event writes its messages in its
 * own transaction (a purchase its receipt, a debit that crosses the
 * threshold one row for the customer, one for staff and one for
 * notify_command, a session its report unless it debited nothing, a
 * ticket's confirmation its appointment), once per event however often it
 * is queued; a customer without addresses gets no row; the customer's
 * contacts (add, set, show); and the delivery side: the next due message,
 * attempts, waking, pruning, the listing and staff's warnings about due
 * tickets. Each test builds a real database in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	sqlite3 *db;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static const char *const mails[] = { "it@acme.example", "boss@acme.example" };
	struct customer_new c;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/qh-test-outbox.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(db_create(f->dir, &f->db), 0);
	db_set_currency(f->db, "EUR");
	memset(&c, 0, sizeof(c));
	c.id = "acme";
	c.name = "ACME GmbH";
	c.plan = "premium";
	c.warn_units = 4;
	c.lang = "en";
	c.emails = mails;
	c.nemails = 2;
	assert_int_equal(db_customer_add(f->db, &c), 0);
	c.id = "quiet";
	c.name = "Quiet AG";
	c.lang = NULL;
	c.emails = NULL;
	c.nemails = 0;
	assert_int_equal(db_customer_add(f->db, &c), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "ledger.db", "ledger.db-wal",
		"ledger.db-shm", "ledger.key" };
	char path[128];
	size_t i;

	db_close(f->db);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err != NULL ? err : "?");
}

static int64_t
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One text from a query into out; fails the test without a row. */
static void
query_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, len, "%s",
	    sqlite3_column_text(st, 0) != NULL ? (const char *)sqlite3_column_text(st, 0)
					       : "");
	sqlite3_finalize(st);
}

static int64_t
buy(struct fixture *f, const char *customer, int64_t units, const char *ref)
{
	struct purchase p;
	int64_t entry = 0;

	memset(&p, 0, sizeof(p));
	p.customer = customer;
	p.reference = ref;
	p.actor = "test";
	p.currency = "EUR";
	p.units = units;
	p.unit_price_cents = 2750;
	assert_int_equal(db_purchase(f->db, &p, &entry), 0);
	return entry;
}

/* A closed session of customer with secs billable seconds, attached by alice. */
static int64_t
session(struct fixture *f, const char *customer, int64_t secs, const char *note)
{
	struct db_session s;
	struct ledger_entry debit;
	char sql[256];
	int64_t id = 0;

	snprintf(sql, sizeof(sql),
	    "INSERT OR IGNORE INTO agents (id, customer_id, enrolled_at) VALUES "
	    "('pc-%s', '%s', '2026-01-01T00:00:00Z')",
	    customer, customer);
	exec_ok(f->db, sql);
	exec_ok(f->db,
	    "INSERT OR IGNORE INTO technicians (login, name, role, created_at) "
	    "VALUES ('alice', 'Alice Tech', 'technician', "
	    "'2026-01-01T00:00:00Z')");
	memset(&s, 0, sizeof(s));
	s.customer = customer;
	snprintf(sql, sizeof(sql), "pc-%s", customer);
	s.agent_id = sql;
	s.code = "123456";
	s.kind = "support";
	s.opened = qh_clock_now();
	assert_int_equal(db_session_open(f->db, &s, &id), 0);
	assert_true(db_event_add(f->db, id, "attach", "alice", "exec", NULL, 1) > 0);
	assert_int_equal(db_session_close(f->db, id, "technician", note, secs, 0, &debit),
	    0);
	return id;
}

static void
test_contacts(void **state)
{
	struct fixture *f = *state;
	static const char *const one[] = { "new@acme.example" };
	struct customer_change ch;
	char text[256];

	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM customer_emails WHERE customer_id = "
			     "'acme'"),
	    2);
	query_text(f->db, "SELECT lang FROM customers WHERE id = 'quiet'", text,
	    sizeof(text));
	assert_string_equal(text, "de"); /* the default */

	/* A repeated --email replaces the list; other fields stay. */
	customer_change_init(&ch);
	ch.set_emails = 1;
	ch.emails = one;
	ch.nemails = 1;
	ch.lang = "de";
	assert_int_equal(db_customer_set(f->db, "acme", &ch), 0);
	query_text(f->db,
	    "SELECT group_concat(address) || '/' || (SELECT lang || name || warn_units "
	    "FROM customers WHERE id = 'acme') FROM customer_emails WHERE customer_id "
	    "= 'acme'",
	    text, sizeof(text));
	assert_string_equal(text, "new@acme.example/deACME GmbH4");
	assert_int_equal(db_customer_set(f->db, "nobody", &ch), QH_ERR_NOT_FOUND);
}

static void
test_receipt(void **state)
{
	struct fixture *f = *state;
	char data[4096];
	int64_t entry = buy(f, "acme", 40, "inv-1");

	/* The receipt goes with the purchase, to the customer only. */
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox"), 1);
	query_text(f->db,
	    "SELECT event || ' ' || kind || ' ' || audience || ' ' || lang || ' ' || "
	    "replace(recipients, char(10), ',') FROM outbox",
	    data, sizeof(data));
	assert_string_equal(data,
	    "entry:1:customer purchase customer en it@acme.example,boss@acme.example");
	query_text(f->db,
	    "SELECT json_extract(data, '$.units') || ' ' || json_extract(data, "
	    "'$.unit_price_cents') || ' ' || json_extract(data, '$.balance_after') FROM "
	    "outbox",
	    data, sizeof(data));
	assert_string_equal(data, "40 2750 40");
	assert_int_equal(entry, 1);

	/* A retry of the same reference books nothing and queues nothing. */
	{
		struct purchase p;
		int64_t again = 0;

		memset(&p, 0, sizeof(p));
		p.customer = "acme";
		p.reference = "inv-1";
		p.actor = "test";
		p.currency = "EUR";
		p.units = 40;
		p.unit_price_cents = 2750;
		assert_int_equal(db_purchase(f->db, &p, &again), 1);
	}
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox"), 1);

	/* No address, no customer row. */
	buy(f, "quiet", 8, "inv-2");
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox"), 1);
}

static void
test_crossing_and_report(void **state)
{
	struct fixture *f = *state;
	char data[4096];
	struct qh_json_doc *doc = NULL;
	const struct qh_json_node *root, *techs;
	int64_t s1, s2;

	buy(f, "acme", 6, "inv-1");
	exec_ok(f->db, "DELETE FROM outbox");
	/* 6 -> 2 units crosses the threshold (4): three rows and the report. */
	s1 = session(f, "acme", 3600, "printer driver updated");
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM outbox WHERE kind = 'balance_low'"),
	    3);
	query_text(f->db,
	    "SELECT group_concat(audience || ':' || channel, ' ') FROM (SELECT * FROM "
	    "outbox WHERE kind = 'balance_low' ORDER BY id)",
	    data, sizeof(data));
	assert_string_equal(data, "customer:mail staff:mail command:command");
	query_text(f->db,
	    "SELECT data FROM outbox WHERE kind = 'session_report' AND audience = "
	    "'customer'",
	    data, sizeof(data));
	assert_int_equal(qh_json_parse(data, strlen(data), &doc), 0);
	root = qh_json_root(doc);
	{
		int64_t v = 0;

		assert_int_equal(qh_json_get_int(root, "units", &v), 0);
		assert_int_equal(v, 4);
		assert_int_equal(qh_json_get_int(root, "balance_after", &v), 0);
		assert_int_equal(v, 2);
		assert_int_equal(qh_json_get_int(root, "session", &v), 0);
		assert_int_equal(v, s1);
	}
	assert_string_equal(qh_json_get_str(root, "note"), "printer driver updated");
	techs = qh_json_get(root, "technicians");
	assert_non_null(techs);
	assert_int_equal(techs->type, QH_JSON_ARRAY);
	assert_int_equal(techs->count, 1);
	assert_string_equal(qh_json_get_str(techs->child, "name"), "Alice Tech");
	qh_json_free(doc);

	/* Below the threshold already: no second low-balance message; zero is one. */
	s2 = session(f, "acme", 1800, NULL);
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM outbox WHERE kind = 'balance_low'"),
	    3);
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM outbox WHERE kind = 'balance_zero'"),
	    3);
	assert_true(s2 > s1);

	/* A session that debited nothing has no report. */
	session(f, "acme", 0, NULL);
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM outbox WHERE kind = 'session_report'"),
	    2);
}

static void
test_once_per_event(void **state)
{
	struct fixture *f = *state;
	struct outbox_new m;

	memset(&m, 0, sizeof(m));
	m.event = "ticket:9:reply:3";
	m.kind = "ticket_answered";
	m.customer = "acme";
	m.data = "{\"ticket\":9,\"text\":\"Try again.\"}";
	m.to = OUTBOX_TO_CUSTOMER | OUTBOX_TO_STAFF;
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(outbox_add(f->db, &m), 0);
	assert_int_equal(outbox_add(f->db, &m), 0);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox"), 2);
	/* The Message-ID's token is unique per row. */
	assert_int_equal(query_int(f->db, "SELECT count(DISTINCT token) FROM outbox"), 2);
	m.kind = "no_such_kind";
	m.event = "x:1";
	assert_int_equal(db_begin(f->db), 0);
	assert_true(outbox_add(f->db, &m) < 0); /* the CHECK of kind */
	db_rollback(f->db);
}

/* Takes the row db_outbox_next gives: its id. */
static int
take_id(void *arg, const struct outbox_row *m)
{
	*(int64_t *)arg = m->id;
	return 0;
}

static int
count_row(void *arg, const struct outbox_row *m QH_UNUSED)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_delivery(void **state)
{
	struct fixture *f = *state;
	struct outbox_attempt a;
	int64_t now = qh_clock_now(), id = 0, when = 0, second = 0;
	int n = 0, woken = 0, pruned = 0;

	buy(f, "acme", 10, "inv-1");
	buy(f, "acme", 10, "inv-2");
	assert_int_equal(db_outbox_next(f->db, "command", now, take_id, &id), 0);
	assert_int_equal(db_outbox_next(f->db, "mail", now, take_id, &id), 1);
	assert_int_equal(id, 1);

	/* A failure waits; the other one is next. */
	memset(&a, 0, sizeof(a));
	a.status = "queued";
	a.counted = 1;
	a.answer = "Failed to connect to 127.0.0.1 port 2525";
	a.next_at = now + 30;
	assert_int_equal(db_outbox_attempt(f->db, id, &a), 0);
	assert_int_equal(db_outbox_next(f->db, "mail", now, take_id, &second), 1);
	assert_int_equal(second, 2);
	a.status = "sent";
	a.answer = "250 OK";
	a.message_id = "<qh.2.x@vendor.example>";
	a.sent_to = "it@acme.example, boss@acme.example";
	assert_int_equal(db_outbox_attempt(f->db, second, &a), 0);
	assert_int_equal(db_outbox_next(f->db, "mail", now, take_id, &second), 0);
	assert_int_equal(db_outbox_next_due(f->db, "mail", &when), 0);
	assert_int_equal(when, now + 30);

	/* --failed lists the one whose last attempt failed. */
	assert_int_equal(db_outbox_list(f->db, 1, count_row, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(db_outbox_list(f->db, 0, count_row, &n), 0);
	assert_int_equal(n, 2);

	/* The server is back: the waiting one is due now. */
	assert_int_equal(db_outbox_wake(f->db, "mail", &woken), 0);
	assert_int_equal(woken, 1);
	assert_int_equal(db_outbox_next(f->db, "mail", now, take_id, &id), 1);
	assert_int_equal(id, 1);
	assert_int_equal(query_int(f->db, "SELECT attempts FROM outbox WHERE id = 1"), 1);

	/* Sent rows go after 90 days; the queued one stays. */
	assert_int_equal(db_outbox_prune(f->db, now + 1, &pruned), 0);
	assert_int_equal(pruned, 1);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM outbox"), 1);
}

static void
test_ticket_messages(void **state)
{
	struct fixture *f = *state;
	struct console_conf conf;
	struct ticket_slot slot;
	char data[4096];
	int64_t now = qh_clock_now();
	int nslots = 0, queued = 0;

	conf_defaults(&conf);
	assert_int_equal(calendar_set_zone(conf.timezone), 0);
	exec_ok(f->db,
	    "INSERT INTO agents (id, customer_id, enrolled_at) VALUES ('pc1', "
	    "'acme', '2026-01-01T00:00:00Z')");
	/* Due long ago, and one due in a year. */
	exec_ok(f->db,
	    "INSERT INTO tickets (id, customer_id, agent_id, kind, plan, subject, "
	    "created_at, due_at, idem_key, updated_at) VALUES (7, 'acme', 'pc1', "
	    "'installation', 'premium', 'New printer', '2020-01-01T08:00:00Z', "
	    "'2020-01-01T12:00:00Z', 'k7', '2020-01-01T08:00:00Z'), (8, 'acme', 'pc1', "
	    "'support', 'premium', 'Later', '2020-01-01T08:00:00Z', "
	    "'2099-01-01T12:00:00Z', 'k8', '2020-01-01T08:00:00Z')");
	exec_ok(f->db,
	    "INSERT INTO ticket_proposals (ticket_id, slot, local_time, "
	    "utc_offset, starts_at, after_hours) VALUES (7, 1, "
	    "'2030-01-07T10:00', 60, '2030-01-07T09:00:00Z', 0)");

	assert_int_equal(db_ticket_confirm(f->db, 7, 1, "alice", &slot, &nslots), 0);
	query_text(f->db,
	    "SELECT json_extract(data, '$.appointment.starts_at') || ' ' || "
	    "json_extract(data, '$.appointment.sequence') FROM outbox WHERE kind = "
	    "'appointment'",
	    data, sizeof(data));
	assert_string_equal(data, "2030-01-07T09:00:00Z 0");

	assert_int_equal(db_ticket_due_alerts(f->db, &conf, now, &queued), 0);
	assert_int_equal(queued, 1);
	assert_int_equal(db_ticket_due_alerts(f->db, &conf, now, &queued), 0);
	assert_int_equal(queued, 0); /* once per ticket */
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM outbox WHERE kind = "
			     "'ticket_overdue' AND audience = 'staff'"),
	    1);

	assert_int_equal(db_ticket_close(f->db, 7, "alice", "Printer installed."), 0);
	query_text(f->db,
	    "SELECT json_extract(data, '$.text') FROM outbox WHERE kind = "
	    "'ticket_closed'",
	    data, sizeof(data));
	assert_string_equal(data, "Printer installed.");
}

static void
test_internal_note(void **state)
{
	struct fixture *f = *state;
	char text[256];
	int64_t id;

	buy(f, "acme", 10, "inv-1");
	id = session(f, "acme", 600, "All done.");
	assert_int_equal(db_session_internal(f->db, id, "customer was rude"), 0);
	assert_int_equal(db_session_internal(f->db, 999, "x"), QH_ERR_NOT_FOUND);
	query_text(f->db, "SELECT internal_note FROM sessions WHERE id = 1", text,
	    sizeof(text));
	assert_string_equal(text, "customer was rude");
	/* What the customer reads never holds it. */
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM outbox WHERE data LIKE "
			     "'%rude%'"),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_contacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crossing_and_report, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_once_per_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticket_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_internal_note, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
