/*
 * The ledger's hash chain: the canonical encoding of an entry, its hash
 * (SHA-256 for entries written before the keyed version, HMAC-SHA256 keyed
 * with STATE/ledger.key from the keyed version on), the key file, the
 * chain's head, and the migration entry that starts the keyed chain.
 *
 * The key sits outside the database, so whoever can only write ledger.db
 * cannot recompute a keyed hash. It sits beside it, though: root can read
 * both, and only a head written down elsewhere (`verify --head`, then
 * `verify --since-head`) shows that such a person rewrote history.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store.h"

/* ------------------------------------------------------------------ hashes */

/*
 * The canonical encoding of n columns: for each, 0x00 for NULL or 0x01, a
 * big-endian u32 length and the text. Returns a malloc'd buffer and its
 * length in *len, or NULL when out of memory.
 */
static uint8_t *
encode(const char *const *cols, int n, size_t *len)
{
	uint8_t *out, *p;
	size_t total = 0, l;
	int i;

	for (i = 0; i < n; i++)
		total += cols[i] == NULL ? 1 : 5 + strlen(cols[i]);
	if ((out = malloc(total > 0 ? total : 1)) == NULL)
		return NULL;
	for (p = out, i = 0; i < n; i++) {
		if (cols[i] == NULL) {
			*p++ = 0;
			continue;
		}
		l = strlen(cols[i]);
		*p++ = 1;
		*p++ = (uint8_t)(l >> 24);
		*p++ = (uint8_t)(l >> 16);
		*p++ = (uint8_t)(l >> 8);
		*p++ = (uint8_t)l;
		memcpy(p, cols[i], l);
		p += l;
	}
	*len = total;
	return out;
}

static void
hex(const uint8_t *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void
ledger_hash(const char *const cols[LEDGER_HASH_NCOLS], char out[65])
{
	uint8_t d[32], *enc;
	size_t len = 0;

	out[0] = '\0';
	if ((enc = encode(cols, LEDGER_HASH_NCOLS, &len)) == NULL)
		return; /* "" matches no stored hash */
	SHA256(enc, len, d);
	free(enc);
	hex(d, sizeof(d), out);
}

void
ledger_hmac(const uint8_t key[LEDGER_KEY_LEN], const char *const cols[LEDGER_KEYED_NCOLS],
    char out[65])
{
	uint8_t d[EVP_MAX_MD_SIZE], *enc;
	unsigned int dlen = 0;
	size_t len = 0;

	out[0] = '\0';
	if ((enc = encode(cols, LEDGER_KEYED_NCOLS, &len)) == NULL)
		return;
	if (HMAC(EVP_sha256(), key, LEDGER_KEY_LEN, enc, len, d, &dlen) != NULL &&
	    dlen == 32)
		hex(d, dlen, out);
	free(enc);
}

/* --------------------------------------------------------------------- key */

/* STATE/ledger.key into out. */
static int
key_path(const char *state, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/%s", state, LEDGER_KEY_FILE) >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/* 0-15 for a lower-case hex digit, -1 otherwise. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ledger_key_read(const char *state, uint8_t key[LEDGER_KEY_LEN])
{
	char path[PATH_MAX], text[2 * LEDGER_KEY_LEN + 2];
	struct stat st;
	ssize_t n;
	int fd, i, r;

	if ((r = key_path(state, path, sizeof(path))) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? QH_ERR_NOT_FOUND : QH_ERR_SYSTEM;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return QH_ERR_FORMAT;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	/* 64 hex digits and a newline, nothing else (a longer file reads 66). */
	if (n != 2 * LEDGER_KEY_LEN + 1 || text[2 * LEDGER_KEY_LEN] != '\n')
		return n < 0 ? QH_ERR_SYSTEM : QH_ERR_FORMAT;
	for (i = 0; i < LEDGER_KEY_LEN; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(key, LEDGER_KEY_LEN);
			return QH_ERR_FORMAT;
		}
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	OPENSSL_cleanse(text, sizeof(text));
	return 0;
}

int
ledger_key_create(const char *state, uint8_t key[LEDGER_KEY_LEN])
{
	char path[PATH_MAX], text[2 * LEDGER_KEY_LEN + 2];
	int fd, r, ok;

	if ((r = key_path(state, path, sizeof(path))) != 0)
		return r;
	if (RAND_bytes(key, LEDGER_KEY_LEN) != 1)
		return QH_ERR_CRYPTO;
	hex(key, LEDGER_KEY_LEN, text);
	text[2 * LEDGER_KEY_LEN] = '\n';
	/* Private from the start; never over a file that is there. */
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		qh_error("%s: %s", path, strerror(errno));
		return errno == EEXIST ? QH_ERR_EXISTS : QH_ERR_SYSTEM;
	}
	ok = write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1 &&
	    fsync(fd) == 0;
	close(fd);
	OPENSSL_cleanse(text, sizeof(text));
	if (!ok) {
		qh_error("%s: cannot write the key", path);
		unlink(path);
		return QH_ERR_SYSTEM;
	}
	qh_info("%s: the ledger's key was made; keep it with the database's backups",
	    path);
	return 0;
}

void
ledger_key_remove(const char *state)
{
	char path[PATH_MAX];

	if (key_path(state, path, sizeof(path)) == 0)
		unlink(path);
}

const char *
ledger_key_problem(int r)
{
	switch (r) {
	case QH_ERR_NOT_FOUND:
		return "it is missing";
	case QH_ERR_FORMAT:
		return "it is not 64 hex digits and a newline";
	default:
		return "it cannot be read";
	}
}

int
store_check_private(const char *state)
{
	static const char *const names[] = { "", DB_FILE, LEDGER_KEY_FILE };
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s%s%s", state, *names[i] ? "/" : "",
		    names[i]);
		if (stat(path, &st) == -1 || (st.st_mode & (S_IRGRP | S_IROTH)) == 0)
			continue;
		qh_warn("%s is readable by other users (mode %04o): the ledger and its "
			"key should be the console's alone (chmod go-rwx)",
		    path, (unsigned)(st.st_mode & 07777));
		n++;
	}
	return n;
}

/* -------------------------------------------------------------------- head */

int
ledger_head(sqlite3 *db, int64_t *id, char hash[65])
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*id = 0;
	snprintf(hash, 65, "%s", LEDGER_GENESIS);
	if ((r = db_stmt(db, "SELECT id, entry_hash FROM ledger ORDER BY id DESC LIMIT 1",
		 &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	r = db_error(db, rc, "reading the ledger's head");
	db_done(st);
	return r;
}

/* ---------------------------------------------------------- the migration */

/*
 * The keyed version's migration step, after its SQL: makes the key unless
 * the state directory has one, and, when the ledger holds entries, appends
 * the migration entry. Being keyed and chained to the last unkeyed entry,
 * it seals the history written before it.
 */
int
ledger_migrate_keyed(sqlite3 *db)
{
	struct ledger_entry e;
	const uint8_t *key;
	char note[200], prev[65];
	int64_t last;
	int r;

	if ((r = db_ledger_key(db, &key)) == QH_ERR_NOT_FOUND)
		r = db_ledger_key_create(db);
	if (r != 0) {
		qh_error("%s/%s: %s; the ledger cannot be keyed", db_state_dir(db),
		    LEDGER_KEY_FILE, ledger_key_problem(r));
		return r;
	}
	if ((r = ledger_head(db, &last, prev)) != 0 || last == 0)
		return r; /* nothing to seal: keyed from the first entry */
	snprintf(note, sizeof(note),
	    "schema version %d: entries from here on are keyed (HMAC-SHA256, %s)",
	    LEDGER_KEYED_VERSION, LEDGER_KEY_FILE);
	memset(&e, 0, sizeof(e));
	e.kind = "migration";
	e.billable_seconds = -1;
	e.note = note;
	e.actor = "migration";
	e.idem_key = "migration:keyed";
	return ledger_append(db, &e);
}
