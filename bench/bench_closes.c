/*
 * Session closes per second with synchronous=FULL, next to a bare SQLite
 * insert loop on the same kind of database in the same run. A close is
 * exactly what `serve` commits (session_record_close: the session row, its
 * events and its hash-chained, FIFO-allocated ledger debit in one
 * BEGIN IMMEDIATE transaction); the bare loop commits one row per
 * transaction. The ratio is our overhead per committed close.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store/store.h"

#define N 10000

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
must(int r, const char *what)
{
	if (r != 0)
		qh_fatal("%s: %s", what, qh_strerror(r));
}

static double
bench_closes(const char *dir)
{
	struct ledger_entry e;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	double t0;
	int64_t first;
	int i;

	must(db_create(dir, &db), "db_create");
	must(db_begin(db), "begin");
	must(db_exec(db,
		 "INSERT INTO customers (id, name, created_at) VALUES "
		 "('acme', 'ACME GmbH', '2026-01-01T00:00:00Z'); INSERT INTO agents (id, "
		 "customer_id, enrolled_at) VALUES ('a-1', 'acme', "
		 "'2026-01-01T00:00:00Z')"),
	    "customer");
	/* Ten lots, so that FIFO has something to walk. */
	for (i = 0; i < 10; i++) {
		char ref[32];

		memset(&e, 0, sizeof(e));
		snprintf(ref, sizeof(ref), "bench-%d", i);
		e.customer = "acme";
		e.kind = "purchase";
		e.units = 2 * N;
		e.unit_price_cents = 3000 - i;
		e.currency = "EUR";
		e.reference = ref;
		e.actor = "bench";
		e.idem_key = ref;
		e.billable_seconds = -1;
		must(ledger_append(db, &e), "purchase");
	}
	must(db_prepare(db,
		 "INSERT INTO sessions (customer_id, agent_id, code, opened_at, "
		 "persisted_at) VALUES ('acme', 'a-1', '123456', '2026-01-01T00:00:00Z', "
		 "'2026-01-01T00:00:00Z')",
		 &st),
	    "prepare");
	for (i = 0; i < N; i++) {
		sqlite3_reset(st);
		if (sqlite3_step(st) != SQLITE_DONE)
			qh_fatal("insert session");
		if (i == 0)
			first = sqlite3_last_insert_rowid(db);
	}
	sqlite3_finalize(st);
	must(db_commit(db), "commit");

	t0 = now_s();
	for (i = 0; i < N; i++)
		must(db_session_close(db, first + i, "technician", NULL, 601 + i % 3000,
			 0, &e),
		    "close");
	t0 = now_s() - t0;
	db_close(db);
	return N / t0;
}

static double
bench_bare(const char *dir)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	double t0;
	int i;

	must(db_create(dir, &db), "db_create");
	must(db_exec(db,
		 "CREATE TABLE bare (id INTEGER PRIMARY KEY, x INTEGER NOT NULL) "
		 "STRICT"),
	    "create");
	must(db_prepare(db, "INSERT INTO bare (x) VALUES (?1)", &st), "prepare");
	t0 = now_s();
	for (i = 0; i < N; i++) {
		must(db_begin(db), "begin");
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, i);
		if (sqlite3_step(st) != SQLITE_DONE)
			qh_fatal("insert");
		must(db_commit(db), "commit");
	}
	t0 = now_s() - t0;
	sqlite3_finalize(st);
	db_close(db);
	return N / t0;
}

int
main(int argc, char **argv)
{
	char a[] = "/tmp/qh-bench-closes.XXXXXX", b[] = "/tmp/qh-bench-bare.XXXXXX";
	char cmd[128];
	double ours, bare;

	qh_log_init("bench", QH_LOG_WARN);
	if (mkdtemp(a) == NULL || mkdtemp(b) == NULL)
		qh_fatal("mkdtemp");
	ours = bench_closes(a);
	bare = bench_bare(b);
	printf("session closes (synchronous=FULL, %d): ours %.0f/s, bare sqlite insert "
	       "%.0f/s, "
	       "ratio %.2fx\n",
	    N, ours, bare, ours / bare);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", a, b);
	return system(cmd) == 0 ? 0 : 1;
}
