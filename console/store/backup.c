/*
 * Copies of the database for `qh-console backup`. SQLite's online backup
 * API copies every page of the snapshot the caller's connection reads, WAL
 * frames included, into a new file in one step, so the copy is consistent
 * while serve goes on writing, and it is a database of its own: no -wal
 * file goes with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "qh/err.h"
#include "qh/log.h"
#include "store.h"

#define BACKUP_RETRY_MS 50

/* Runs PRAGMA quick_check on db; 0 when it answers "ok". */
static int
quick_check(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *text;
	int r, rc;

	if ((r = db_prepare(db, "PRAGMA quick_check", &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = db_error(db, rc, "quick_check");
		goto out;
	}
	text = sqlite3_column_text(st, 0);
	if (text == NULL || strcmp((const char *)text, "ok") != 0) {
		qh_error("the copy fails its check: %s",
		    text != NULL ? (const char *)text : "?");
		r = QH_ERR_DB;
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* Copies every page of db into dst in one step, waiting out a busy source. */
static int
copy_pages(sqlite3 *db, sqlite3 *dst)
{
	sqlite3_backup *b;
	int rc, waited = 0;

	if ((b = sqlite3_backup_init(dst, "main", db, "main")) == NULL)
		return db_error(dst, sqlite3_errcode(dst), "backup");
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		if (waited >= DB_BUSY_MS)
			break;
		sqlite3_sleep(BACKUP_RETRY_MS);
		waited += BACKUP_RETRY_MS;
	}
	if (rc != SQLITE_DONE) {
		sqlite3_backup_finish(b);
		return db_error(dst, rc, "backup step");
	}
	if ((rc = sqlite3_backup_finish(b)) != SQLITE_OK)
		return db_error(dst, rc, "backup");
	return 0;
}

int
db_backup(sqlite3 *db, const char *path)
{
	sqlite3 *dst = NULL;
	int fd, r, rc;

	/* Create the file ourselves: exclusively, and private from the start. */
	if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600)) == -1) {
		r = errno == EEXIST ? QH_ERR_EXISTS : QH_ERR_SYSTEM;
		qh_error("%s: %s", path, strerror(errno));
		return r;
	}
	close(fd);
	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		r = db_error(dst, rc, path);
		goto out;
	}
	sqlite3_extended_result_codes(dst, 1);
	if ((r = copy_pages(db, dst)) != 0 || (r = quick_check(dst)) != 0)
		goto out;
	rc = sqlite3_close(dst);
	dst = NULL;
	r = rc == SQLITE_OK ? 0 : db_error(NULL, rc, path);
out:
	if (dst != NULL)
		sqlite3_close(dst);
	if (r != 0)
		unlink(path);
	return r;
}
