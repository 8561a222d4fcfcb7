/*
 * Session closes per second with synchronous=FULL, next to a bare SQLite
 * insert loop on the same kind of database in the same run. A close is
 * exactly what `serve` commits (session_record_close: the session row, its
 * events and its hash-chained, FIFO-allocated ledger debit in one
 * BEGIN IMMEDIATE transaction, with the session report queued in the
 * outbox for the customer's contact); the bare loop commits one row per
 * transaction. The two run in alternating rounds of ROUND, so that a disk
 * shared with other work slows both alike. The ratio is our rate over bare.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qh/compat.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store/store.h"

#define N     10000
#define ROUND 500 /* closes, then as many bare inserts, then again */

#define NPROF 64

/* QH_BENCH_PROFILE=1: each statement's time per close, on stderr. */
static struct prof {
	char *sql;
	double ns;
	long n;
} profs[NPROF];
static int nprof;

static int
on_profile(unsigned type QH_UNUSED, void *ctx QH_UNUSED, void *stmt, void *ns)
{
	const char *sql = sqlite3_sql(stmt);
	int i;

	for (i = 0; i < nprof && strcmp(profs[i].sql, sql) != 0; i++)
		;
	if (i == NPROF || (i == nprof && (profs[nprof++].sql = strdup(sql)) == NULL))
		return 0;
	profs[i].ns += (double)*(sqlite3_int64 *)ns;
	profs[i].n++;
	return 0;
}

/* QH_BENCH_PROFILE=1: the WAL frames (pages) the commits wrote. */
static long wal_frames, wal_commits;

static int
on_wal(void *arg QH_UNUSED, sqlite3 *db QH_UNUSED, const char *name QH_UNUSED, int frames)
{
	static int last;

	/* frames is the WAL's size after this commit; it restarts after a checkpoint. */
	wal_frames += frames > last ? frames - last : frames;
	last = frames;
	wal_commits++;
	return SQLITE_OK;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first three fields of /proc/loadavg. */
static const char *
loadavg(void)
{
	static char buf[64];
	FILE *f = fopen("/proc/loadavg", "r");
	char *p;
	int k = 0;

	buf[0] = '\0';
	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	for (p = buf; *p != '\0'; p++)
		if (*p == ' ' && ++k == 3)
			*p = '\0';
	return buf;
}

static void
must(int r, const char *what)
{
	if (r != 0)
		qh_fatal("%s: %s", what, qh_strerror(r));
}

/* The closes' database: a customer with a contact, ten lots, N open sessions. */
static sqlite3 *
setup_closes(const char *dir, int64_t *first)
{
	struct ledger_entry e;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int i;

	must(db_create(dir, &db), "db_create");
	must(db_begin(db), "begin");
	must(db_exec(db,
		 "INSERT INTO customers (id, name, created_at) VALUES "
		 "('acme', 'ACME GmbH', '2026-01-01T00:00:00Z'); INSERT INTO agents (id, "
		 "customer_id, enrolled_at) VALUES ('a-1', 'acme', "
		 "'2026-01-01T00:00:00Z'); INSERT INTO customer_emails (customer_id, "
		 "seq, address) VALUES ('acme', 1, 'it@acme.example')"),
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
			*first = sqlite3_last_insert_rowid(db);
	}
	sqlite3_finalize(st);
	must(db_commit(db), "commit");
	if (getenv("QH_BENCH_PROFILE") != NULL) {
		sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, on_profile, NULL);
		sqlite3_wal_hook(db, on_wal, NULL);
	}
	return db;
}

/* Closes sessions first + from .. first + to - 1; the seconds it took. */
static double
run_closes(sqlite3 *db, int64_t first, int from, int to)
{
	struct ledger_entry e;
	double t0 = now_s();
	int i;

	for (i = from; i < to; i++)
		must(db_session_close(db, first + i, "technician", NULL, 601 + i % 3000,
			 0, &e),
		    "close");
	return now_s() - t0;
}

/* The bare loop: one row per BEGIN IMMEDIATE ... COMMIT; the seconds it took. */
static double
run_bare(sqlite3 *db, sqlite3_stmt *st, int from, int to)
{
	double t0 = now_s();
	int i;

	for (i = from; i < to; i++) {
		must(db_begin(db), "begin");
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, i);
		if (sqlite3_step(st) != SQLITE_DONE)
			qh_fatal("insert");
		must(db_commit(db), "commit");
	}
	return now_s() - t0;
}

int
main(void)
{
	char a[] = "/tmp/qh-bench-closes.XXXXXX", b[] = "/tmp/qh-bench-bare.XXXXXX";
	char cmd[128];
	sqlite3 *dc, *db = NULL;
	sqlite3_stmt *st = NULL;
	double ours = 0, bare = 0;
	int64_t first = 0;
	int i;

	qh_log_init("bench", QH_LOG_WARN);
	if (mkdtemp(a) == NULL || mkdtemp(b) == NULL)
		qh_fatal("mkdtemp");
	dc = setup_closes(a, &first);
	must(db_create(b, &db), "db_create");
	must(db_exec(db,
		 "CREATE TABLE bare (id INTEGER PRIMARY KEY, x INTEGER NOT NULL) "
		 "STRICT"),
	    "create");
	must(db_prepare(db, "INSERT INTO bare (x) VALUES (?1)", &st), "prepare");
	/* Alternating rounds: the shared disk's moods fall on both alike. */
	for (i = 0; i < N; i += ROUND) {
		ours += run_closes(dc, first, i, i + ROUND);
		bare += run_bare(db, st, i, i + ROUND);
	}
	sqlite3_trace_v2(dc, 0, NULL, NULL);
	if (wal_commits > 0)
		fprintf(stderr, "%8.1f WAL pages per commit (%ld commits)\n",
		    (double)wal_frames / (double)wal_commits, wal_commits);
	for (i = 0; i < nprof; i++)
		fprintf(stderr, "%8.1f us/close %6ld  %.120s\n", profs[i].ns / 1e3 / N,
		    profs[i].n, profs[i].sql);
	sqlite3_finalize(st);
	db_close(db);
	db_close(dc);
	printf("session closes (synchronous=FULL, %d): ours %.0f/s, bare sqlite insert "
	       "%.0f/s, ratio %.2fx (load average %.40s)\n",
	    N, N / ours, N / bare, bare / ours, loadavg());
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", a, b);
	return system(cmd) == 0 ? 0 : 1;
}
