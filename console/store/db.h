/*
 * The console's SQLite database (STATE/ledger.db): opening it with the
 * pragmas every connection needs, creating it, and migrating its schema
 * through PRAGMA user_version. Errors are logged with sqlite3_errmsg and
 * returned as QH_ERR_DB (QH_ERR_BUSY when another process holds the lock).
 *
 * Writes go inside db_begin() ... db_commit(), which is BEGIN IMMEDIATE:
 * the write lock is taken up front, so a transaction never fails half-way
 * for want of it. All of these run on the caller's thread; one connection
 * must not be shared between threads.
 */
#ifndef QH_CONSOLE_DB_H
#define QH_CONSOLE_DB_H

#include <sqlite3.h>
#include <openssl/x509.h>

#define DB_FILE	   "ledger.db"
#define DB_BUSY_MS 5000

/* The schema version this program writes; db_migrate() brings a database to it. */
int db_schema_version(void);

/*
 * Opens STATE/ledger.db, which must exist (QH_ERR_NOT_FOUND otherwise), and
 * sets busy_timeout, foreign_keys=ON, synchronous=FULL and (unless readonly)
 * journal_mode=WAL. A database newer than this program gives QH_ERR_DB.
 * On success *dbp is owned by the caller (db_close).
 */
int db_open(const char *state_dir, int readonly, sqlite3 **dbp);

/*
 * Creates STATE/ledger.db (mode 0600; QH_ERR_EXISTS if it is there), opens
 * it like db_open() and migrates it to the current schema.
 */
int db_create(const char *state_dir, sqlite3 **dbp);

/* Applies the migration steps the database has not seen, in one transaction. */
int db_migrate(sqlite3 *db);

/* Closes db; NULL is fine. */
void db_close(sqlite3 *db);

/* Runs SQL text that returns no rows (no parameters: constant text only). */
int db_exec(sqlite3 *db, const char *sql);

/* Prepares one statement; logs and returns QH_ERR_DB on failure. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stp);

/*
 * A prepared statement kept for the connection's lifetime, for hot paths:
 * sql must be a string literal (it is found by its address). Hand it back
 * with db_done(), which resets it (and finalizes one that is not cached).
 */
int db_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **stp);
void db_done(sqlite3_stmt *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. db_rollback is safe outside a transaction. */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/*
 * Records a certificate the CA just issued in the certificates table
 * (serial, role, identity, subject, agent id, fingerprint, expiry, issued
 * now). Call it inside db_begin(); QH_ERR_AUTH if cert has no valid role.
 */
int db_record_cert(sqlite3 *db, X509 *cert);

/*
 * Maps an SQLite result code to QH_ERR_*, logging sqlite3_errmsg(db) with
 * what under the caller's name. Returns 0 for SQLITE_OK, SQLITE_ROW and
 * SQLITE_DONE.
 */
#define db_error(db, rc, what) db_error_at(__func__, (db), (rc), (what))
int db_error_at(const char *func, sqlite3 *db, int rc, const char *what);

#endif
