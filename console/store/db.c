/*
 * The console's database: opening STATE/ledger.db with the pragmas every
 * connection needs, creating it, and the schema migrations.
 *
 * The schema lives in console/store/schema.sql and is compiled in as qh_sql_schema
 * (see the Makefile). Migrations are an array of steps, one per schema
 * version; db_migrate() runs the ones a database has not seen inside one
 * BEGIN IMMEDIATE transaction and records the new PRAGMA user_version, so
 * two processes starting at once cannot both migrate.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pki.h"
#include "store.h"

/* Generated from the .sql files of console/store by the Makefile. */
extern const char qh_sql_schema[];
extern const char qh_sql_migrate_access[];
extern const char qh_sql_ledger_keyed[];
extern const char qh_sql_migrate_mail[];
extern const char qh_sql_migrate_customers[];
extern const char qh_sql_migrate_short[];
extern const char qh_sql_migrate_tickets[];
extern const char qh_sql_migrate_desktop[];
extern const char qh_sql_migrate_checks[];

struct db_step {
	int version;		   /* user_version after this step */
	const char *sql;	   /* statements to run */
	int (*after)(sqlite3 *db); /* run after the SQL, in the same transaction */
};

/* Append a step for every new schema version; never edit an old one. */
static const struct db_step db_steps[] = {
	{ 1, qh_sql_schema, NULL },
	{ 2, qh_sql_migrate_access, NULL }, /* join tokens bound to a key; 'revoked' */
	{ LEDGER_KEYED_VERSION, qh_sql_ledger_keyed,
	    ledger_migrate_keyed },	       /* docs/ledger.md */
	{ 4, qh_sql_migrate_mail, NULL },      /* contacts, the outbox, internal notes */
	{ 5, qh_sql_migrate_customers, NULL }, /* country, VAT id, disabled */
	{ 6, qh_sql_migrate_short, NULL },     /* short join codes */
	{ 7, qh_sql_migrate_tickets, NULL },   /* conversations, statuses, assignment */
	{ 8, qh_sql_migrate_desktop, NULL },   /* customers.record_desktop */
	{ 9, qh_sql_migrate_checks, NULL },    /* CHECKs without IN lists */
};

#define DB_NSTEPS ((int)(sizeof(db_steps) / sizeof(db_steps[0])))

/*
 * What each open connection writes the ledger with: the state directory it
 * was opened in (where the key lives), the key once read, and the currency
 * of a debit that finds no lot. Found by the connection's address.
 */
#define DB_CONNS 16

static struct db_conn {
	sqlite3 *db;
	char state[PATH_MAX];
	int key_status;	 /* 1 read, 0 not yet */
	int key_created; /* written by the migration running now */
	uint8_t key[LEDGER_KEY_LEN];
	char currency[8];
} db_conns[DB_CONNS];

static struct db_conn *
conn_of(sqlite3 *db)
{
	int i;

	for (i = 0; i < DB_CONNS; i++)
		if (db != NULL && db_conns[i].db == db)
			return &db_conns[i];
	return NULL;
}

/* Registers db opened in state_dir; QH_ERR_LIMIT when too many are open. */
static int
conn_add(sqlite3 *db, const char *state_dir)
{
	struct db_conn *c;
	int i;

	for (i = 0; i < DB_CONNS && db_conns[i].db != NULL; i++)
		;
	if (i == DB_CONNS)
		return QH_ERR_LIMIT;
	c = &db_conns[i];
	memset(c, 0, sizeof(*c));
	c->db = db;
	snprintf(c->state, sizeof(c->state), "%s", state_dir);
	return 0;
}

const char *
db_state_dir(sqlite3 *db)
{
	struct db_conn *c = conn_of(db);

	return c != NULL ? c->state : NULL;
}

int
db_ledger_key(sqlite3 *db, const uint8_t **key)
{
	struct db_conn *c = conn_of(db);

	*key = NULL;
	if (c == NULL)
		return QH_ERR_NOT_FOUND;
	if (c->key_status == 0) {
		/* Not kept when missing: the admin may restore it meanwhile. */
		int r = ledger_key_read(c->state, c->key);

		if (r != 0)
			return r;
		c->key_status = 1;
	}
	*key = c->key;
	return 0;
}

/* Makes the key of a database that has none yet (a migration step). */
int
db_ledger_key_create(sqlite3 *db)
{
	struct db_conn *c = conn_of(db);
	int r;

	if (c == NULL)
		return QH_ERR_NOT_FOUND;
	if ((r = ledger_key_create(c->state, c->key)) != 0)
		return r;
	c->key_status = 1;
	c->key_created = 1;
	return 0;
}

void
db_set_currency(sqlite3 *db, const char *currency)
{
	struct db_conn *c = conn_of(db);

	if (c != NULL)
		snprintf(c->currency, sizeof(c->currency), "%s", currency);
}

const char *
db_currency(sqlite3 *db)
{
	struct db_conn *c = conn_of(db);

	return c != NULL && c->currency[0] != '\0' ? c->currency : NULL;
}

int
db_set_busy_ms(sqlite3 *db, int ms)
{
	int rc;

	if ((rc = sqlite3_busy_timeout(db, ms)) != SQLITE_OK)
		return db_error(db, rc, "busy_timeout");
	return 0;
}

int
db_schema_version(void)
{
	return db_steps[DB_NSTEPS - 1].version;
}

int
db_error_at(const char *func, sqlite3 *db, int rc, const char *what)
{
	int base = rc & 0xff;

	if (base == SQLITE_OK || base == SQLITE_ROW || base == SQLITE_DONE)
		return 0;
	qh_log_write(QH_LOG_ERROR, func, "%s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	if (base == SQLITE_BUSY || base == SQLITE_LOCKED)
		return QH_ERR_BUSY;
	return QH_ERR_DB;
}

int
db_exec(sqlite3 *db, const char *sql)
{
	int rc;

	if ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return db_error(db, rc, "exec");
	return 0;
}

int
db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stp)
{
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, stp, NULL)) != SQLITE_OK) {
		*stp = NULL;
		return db_error(db, rc, "prepare");
	}
	return 0;
}

/*
 * Prepared statements of the hot paths, kept for the life of the
 * connection and found by the address of their SQL text (always a string
 * literal), so that a session close parses no SQL.
 */
#define STMT_CACHE 128

static struct {
	sqlite3 *db;
	const char *sql;
	sqlite3_stmt *st;
} stmt_cache[STMT_CACHE];

int
db_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **stp)
{
	size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE, i, k;
	int r;

	for (i = 0; i < STMT_CACHE; i++) {
		k = (h + i) % STMT_CACHE;
		if (stmt_cache[k].db == db && stmt_cache[k].sql == sql) {
			*stp = stmt_cache[k].st;
			return 0;
		}
		if (stmt_cache[k].db == NULL)
			break;
	}
	if ((r = db_prepare(db, sql, stp)) != 0)
		return r;
	if (i < STMT_CACHE) { /* a full cache just means no caching */
		stmt_cache[k].db = db;
		stmt_cache[k].sql = sql;
		stmt_cache[k].st = *stp;
	}
	return 0;
}

void
db_done(sqlite3_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < STMT_CACHE; i++) {
		if (stmt_cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	}
	sqlite3_finalize(st);
}

int
db_begin(sqlite3 *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int
db_commit(sqlite3 *db)
{
	return db_exec(db, "COMMIT");
}

void
db_rollback(sqlite3 *db)
{
	if (db != NULL && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

void
db_close(sqlite3 *db)
{
	struct db_conn *c;
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < STMT_CACHE; i++) {
		if (stmt_cache[i].db == db) {
			sqlite3_finalize(stmt_cache[i].st);
			stmt_cache[i].db = NULL;
			stmt_cache[i].sql = NULL;
			stmt_cache[i].st = NULL;
		}
	}
	/* Removing entries breaks probe chains: rebuild what is left. */
	for (i = 0; i < STMT_CACHE; i++) {
		if (stmt_cache[i].db != NULL) {
			sqlite3 *d = stmt_cache[i].db;
			const char *sql = stmt_cache[i].sql;
			sqlite3_stmt *st = stmt_cache[i].st;
			size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE, k;

			stmt_cache[i].db = NULL;
			for (k = 0; k < STMT_CACHE; k++)
				if (stmt_cache[(h + k) % STMT_CACHE].db == NULL)
					break;
			k = (h + k) % STMT_CACHE;
			stmt_cache[k].db = d;
			stmt_cache[k].sql = sql;
			stmt_cache[k].st = st;
		}
	}
	if ((c = conn_of(db)) != NULL) {
		OPENSSL_cleanse(c, sizeof(*c));
		c->db = NULL;
	}
	sqlite3_close_v2(db);
}

/* Reads one integer from a pragma or query that returns one row. */
static int
db_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_DB : db_error(db, rc, sql);
		goto out;
	}
	*out = sqlite3_column_int(st, 0);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* Switches to WAL and checks that SQLite agreed (it cannot on some filesystems). */
static int
db_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int r, rc;

	if ((r = db_prepare(db, "PRAGMA journal_mode=WAL", &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = db_error(db, rc, "journal_mode");
		goto out;
	}
	mode = sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		qh_error("the database refused WAL mode (journal_mode %s)",
		    mode != NULL ? (const char *)mode : "?");
		r = QH_ERR_DB;
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* Writes STATE/ledger.db into path. */
static int
db_path(const char *state_dir, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/%s", state_dir, DB_FILE) >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/* Opens an existing database with the pragmas every connection needs. */
int
db_open(const char *state_dir, int readonly, sqlite3 **dbp)
{
	char path[PATH_MAX];
	struct stat st;
	sqlite3 *db = NULL;
	int r, rc, version = 0;

	*dbp = NULL;
	if ((r = db_path(state_dir, path, sizeof(path))) != 0)
		return r;
	if (stat(path, &st) == -1) {
		qh_error("%s: %s", path, strerror(errno));
		return errno == ENOENT ? QH_ERR_NOT_FOUND : QH_ERR_SYSTEM;
	}
	if (!S_ISREG(st.st_mode)) {
		qh_error("%s: not a regular file", path);
		return QH_ERR_DB;
	}
	rc = sqlite3_open_v2(path, &db,
	    readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		r = db_error(db, rc, path);
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	if ((rc = sqlite3_busy_timeout(db, DB_BUSY_MS)) != SQLITE_OK) {
		r = db_error(db, rc, "busy_timeout");
		goto out;
	}
	if ((r = db_exec(db, "PRAGMA foreign_keys=ON")) != 0 ||
	    (r = db_exec(db, "PRAGMA synchronous=FULL")) != 0)
		goto out;
	if (!readonly && (r = db_wal(db)) != 0)
		goto out;
	if ((r = db_int(db, "PRAGMA user_version", &version)) != 0)
		goto out;
	if (version > db_schema_version()) {
		qh_error("%s: schema version %d is newer than this program's (%d)", path,
		    version, db_schema_version());
		r = QH_ERR_DB;
		goto out;
	}
	if ((r = conn_add(db, state_dir)) != 0)
		goto out;
	*dbp = db;
	db = NULL;
	r = 0;
out:
	db_close(db);
	return r;
}

/* Creates, opens and migrates a new database; removes it again on failure. */
int
db_create(const char *state_dir, sqlite3 **dbp)
{
	char path[PATH_MAX], side[PATH_MAX + 8];
	sqlite3 *db = NULL;
	int fd, r;

	*dbp = NULL;
	if ((r = db_path(state_dir, path, sizeof(path))) != 0)
		return r;
	/* Create the file ourselves: exclusively, and private from the start. */
	if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600)) == -1) {
		r = errno == EEXIST ? QH_ERR_EXISTS : QH_ERR_SYSTEM;
		qh_error("%s: %s", path, strerror(errno));
		return r;
	}
	close(fd);
	if ((r = db_open(state_dir, 0, &db)) != 0 || (r = db_migrate(db)) != 0)
		goto out;
	*dbp = db;
	db = NULL;
out:
	if (r != 0) {
		db_close(db);
		unlink(path);
		snprintf(side, sizeof(side), "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", path);
		unlink(side);
	}
	return r;
}

/* 0 when no row of the database breaks a foreign key; logs the first that does. */
static int
db_fk_check(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, "PRAGMA foreign_key_check", &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		qh_error("migration left row %lld of %s without its %s row",
		    (long long)sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 2));
		r = QH_ERR_DB;
	} else
		r = db_error(db, rc, "foreign_key_check");
	sqlite3_finalize(st);
	return r;
}

/*
 * Runs the steps newer than the database's user_version, in one
 * transaction. A step may rebuild a table whose CHECK changes (create the
 * new table, copy, drop, rename), which foreign keys enforced per statement
 * would refuse: as SQLite's documentation prescribes, they are switched off
 * around the transaction (the pragma does nothing inside one) and every
 * row is checked once before the commit.
 */
int
db_migrate(sqlite3 *db)
{
	struct db_conn *c = conn_of(db);
	char sql[64];
	int i, r, version = 0;

	if ((r = db_exec(db, "PRAGMA foreign_keys=OFF")) != 0)
		return r;
	if ((r = db_begin(db)) != 0)
		goto on;
	/* Read inside the write lock: another process may have just migrated. */
	if ((r = db_int(db, "PRAGMA user_version", &version)) != 0)
		goto out;
	if (version > db_schema_version()) {
		qh_error("schema version %d is newer than this program's (%d)", version,
		    db_schema_version());
		r = QH_ERR_DB;
		goto out;
	}
	for (i = 0; i < DB_NSTEPS; i++) {
		if (db_steps[i].version <= version)
			continue;
		if ((r = db_exec(db, db_steps[i].sql)) != 0 ||
		    (db_steps[i].after != NULL && (r = db_steps[i].after(db)) != 0)) {
			qh_error("migration to schema version %d failed",
			    db_steps[i].version);
			goto out;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", db_steps[i].version);
		if ((r = db_exec(db, sql)) != 0)
			goto out;
		qh_debug("database migrated to schema version %d", db_steps[i].version);
	}
	if ((r = db_fk_check(db)) != 0)
		goto out;
	r = db_commit(db);
out:
	if (r != 0) {
		db_rollback(db);
		/* A key made for a migration that did not happen would mislead verify. */
		if (c != NULL && c->key_created) {
			ledger_key_remove(c->state);
			c->key_status = 0;
		}
	}
	if (c != NULL)
		c->key_created = 0;
on:
	if (db_exec(db, "PRAGMA foreign_keys=ON") != 0 && r == 0)
		r = QH_ERR_DB;
	return r;
}

int
db_migrate_if_older(const char *state_dir)
{
	sqlite3 *db = NULL;
	int r, version = 0;

	if ((r = db_open(state_dir, 1, &db)) != 0)
		return r;
	r = db_int(db, "PRAGMA user_version", &version);
	db_close(db);
	db = NULL;
	if (r != 0 || version >= db_schema_version())
		return r;
	if ((r = db_open(state_dir, 0, &db)) == 0)
		r = db_migrate(db);
	db_close(db);
	return r;
}

int
db_data_version(sqlite3 *db, int64_t *version)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db, "PRAGMA data_version", &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*version = sqlite3_column_int64(st, 0);
		r = 0;
	} else
		r = rc == SQLITE_DONE ? QH_ERR_DB : db_error(db, rc, "data_version");
	db_done(st);
	return r;
}

/* The subject as RFC 2253 text into out; "" if it cannot be printed. */
static void
subject_text(X509 *cert, char *out, size_t len)
{
	BIO *bio;
	char *data;
	long n;

	out[0] = '\0';
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >=
		0 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0)
		snprintf(out, len, "%.*s", (int)n, data);
	BIO_free(bio);
}

/* Inserts the certificates row of a freshly issued certificate. */
int
db_record_cert(sqlite3 *db, X509 *cert)
{
	static const char sql[] =
	    "INSERT INTO certificates (serial, role, identity, subject, agent_id, "
	    "fingerprint, not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	struct qh_identity id;
	sqlite3_stmt *st = NULL;
	char subject[512], not_after[32], now[32];
	int r, rc;

	if ((r = qh_pki_identity(cert, &id)) != 0) {
		qh_error("refusing to record a certificate without a valid role");
		return r;
	}
	subject_text(cert, subject, sizeof(subject));
	qh_clock_format_utc(id.not_after, not_after, sizeof(not_after));
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, id.serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, qh_role_name(id.role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
	if (id.role == QH_ROLE_AGENT)
		sqlite3_bind_text(st, 5, id.agent_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_text(st, 6, id.fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, not_after, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = db_error(db, rc, "recording the certificate");
	sqlite3_finalize(st);
	return r;
}
