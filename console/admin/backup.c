/*
 * qh-console backup: one tar archive of a console's state, taken while
 * serve runs. The database is copied with SQLite's online backup API (the
 * store's db_backup, inside the dispatcher's read transaction), so the
 * copy is one consistent snapshot; every other regular file at the top of
 * the state directory but lock files goes with it whatever its name (the
 * CA key, the console's key and certificate, console.conf, and any key
 * file a later version keeps there), and with --with-files every
 * subdirectory too (attachments and recordings).
 *
 * The archive is written beside OUT in a private temporary directory and
 * appears under its name only once complete and synced, mode 0600, never
 * over an existing file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "qh/cli.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "admin.h"
#include "backup.h"
#include "store/store.h"

#define COPY_CHUNK (64 * 1024)

/* One backup in the making. */
struct backup {
	struct qh_cli *c;
	const char *state;
	int with_files;
	struct archive *a;
	char tmpdir[PATH_MAX]; /* private, beside OUT; "" once removed */
	int nkeys;	       /* top-level files: keys and configuration */
	int nfiles;	       /* files below the top: attachments, recordings */
};

/*
 * 1 for what the top of the state directory holds that is no state of its
 * own: the database (copied apart) and the files SQLite keeps beside it,
 * and lock files (NAME.lock), which belong to a running process.
 */
static int
left_alone(const char *name)
{
	size_t len = strlen(name);

	return strcmp(name, DB_FILE) == 0 || strcmp(name, DB_FILE "-wal") == 0 ||
	    strcmp(name, DB_FILE "-shm") == 0 || strcmp(name, DB_FILE "-journal") == 0 ||
	    (len > 5 && strcmp(name + len - 5, ".lock") == 0);
}

/* Prints the archive's error with what failed and returns QH_EXIT_FAIL. */
static int
archive_fail(struct backup *b, const char *what)
{
	return qh_cli_fail(b->c, "%s: %s", what, archive_error_string(b->a));
}

/* Writes an entry's header: a file of size bytes or a directory, named name. */
static int
put_header(struct backup *b, const char *name, mode_t type, mode_t perm, int64_t size,
    time_t mtime)
{
	struct archive_entry *e;
	int r;

	if ((e = archive_entry_new()) == NULL)
		return qh_cli_fail(b->c, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm & 0777);
	archive_entry_set_size(e, type == AE_IFREG ? size : 0);
	archive_entry_set_mtime(e, mtime, 0);
	r = archive_write_header(b->a, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? QH_EXIT_OK : archive_fail(b, name);
}

/*
 * Adds the open file fd as name with the size fstat gave: a file that grows
 * meanwhile (a recording being written) is cut there, one that shrinks is
 * padded by libarchive, so the archive stays well-formed.
 */
static int
put_file(struct backup *b, int fd, const char *name, const struct stat *st)
{
	static char buf[COPY_CHUNK];
	int64_t left = st->st_size;
	ssize_t n;
	int status;

	if ((status = put_header(b, name, AE_IFREG, st->st_mode, st->st_size,
		 st->st_mtime)) != 0)
		return status;
	while (left > 0) {
		n = read(fd, buf, left < COPY_CHUNK ? (size_t)left : COPY_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return qh_cli_fail(b->c, "%s: %s", name, strerror(errno));
		if (n == 0)
			break;
		if (archive_write_data(b->a, buf, (size_t)n) != n)
			return archive_fail(b, name);
		left -= n;
	}
	return archive_write_finish_entry(b->a) == ARCHIVE_OK ? QH_EXIT_OK
							      : archive_fail(b, name);
}

/* Adds the regular file at path as name. */
static int
add_file(struct backup *b, const char *path, const char *name)
{
	struct stat st;
	int fd, status;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return qh_cli_fail(b->c, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1)
		status = qh_cli_fail(b->c, "%s: %s", path, strerror(errno));
	else
		status = put_file(b, fd, name, &st);
	close(fd);
	return status;
}

/* Joins a and b with a slash into out; QH_EXIT_FAIL when it does not fit. */
static int
join(struct backup *b, char *out, size_t len, const char *x, const char *y)
{
	if ((size_t)snprintf(out, len, "%s/%s", x, y) >= len)
		return qh_cli_fail(b->c, "%s/%s: path too long", x, y);
	return QH_EXIT_OK;
}

/* scandir's filter: every name but "." and "..". */
static int
not_dot(const struct dirent *de)
{
	return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

/* Notes on stderr a file the backup leaves out, and why. */
static void
left_out(struct backup *b, const char *path, const char *why)
{
	fprintf(stderr, "%s: %s: %s, left out\n", b->c->prog, path, why);
}

/*
 * Adds directory path as name, then what it holds, in name order: regular
 * files and directories, never following a symbolic link (a link or any
 * other kind of file is left out with a note).
 */
static int
add_tree(struct backup *b, const char *path, const char *name, const struct stat *st,
    int depth)
{
	struct dirent **list = NULL;
	struct stat sub;
	char p[PATH_MAX], n[PATH_MAX];
	int i, count, status;

	if (depth > BACKUP_MAX_DEPTH)
		return qh_cli_fail(b->c, "%s: directories nested too deep", path);
	if ((status = put_header(b, name, AE_IFDIR, st->st_mode, 0, st->st_mtime)) != 0)
		return status;
	if ((count = scandir(path, &list, not_dot, alphasort)) == -1)
		return qh_cli_fail(b->c, "%s: %s", path, strerror(errno));
	for (i = 0; i < count && status == 0; i++) {
		if ((status = join(b, p, sizeof(p), path, list[i]->d_name)) != 0 ||
		    (status = join(b, n, sizeof(n), name, list[i]->d_name)) != 0)
			break;
		if (lstat(p, &sub) == -1) {
			if (errno != ENOENT) /* gone meanwhile: an expired recording */
				status = qh_cli_fail(b->c, "%s: %s", p, strerror(errno));
		} else if (S_ISDIR(sub.st_mode)) {
			status = add_tree(b, p, n, &sub, depth + 1);
		} else if (S_ISREG(sub.st_mode)) {
			if ((status = add_file(b, p, n)) == 0)
				b->nfiles++;
		} else {
			left_out(b, p, "not a regular file or directory");
		}
	}
	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
	return status;
}

/*
 * Adds the state directory's entries besides the database: every regular
 * file (a symbolic link to one is followed), and with --with-files every
 * directory.
 */
static int
add_state(struct backup *b)
{
	struct dirent **list = NULL;
	struct stat st;
	char p[PATH_MAX];
	int i, count, status = 0;

	if ((count = scandir(b->state, &list, not_dot, alphasort)) == -1)
		return qh_cli_fail(b->c, "%s: %s", b->state, strerror(errno));
	for (i = 0; i < count && status == 0; i++) {
		const char *name = list[i]->d_name;

		if (left_alone(name))
			continue;
		if ((status = join(b, p, sizeof(p), b->state, name)) != 0)
			break;
		if (stat(p, &st) == -1) {
			if (errno != ENOENT)
				status = qh_cli_fail(b->c, "%s: %s", p, strerror(errno));
		} else if (S_ISREG(st.st_mode)) {
			if ((status = add_file(b, p, name)) == 0)
				b->nkeys++;
		} else if (!S_ISDIR(st.st_mode)) {
			left_out(b, p, "not a regular file or directory");
		} else if (b->with_files) {
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				status = add_tree(b, p, name, &st, 1);
			else
				left_out(b, p, "a symbolic link to a directory");
		}
	}
	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
	return status;
}

/* Adds the manifest: what this is, when and from where it was taken. */
static int
add_manifest(struct backup *b)
{
	char text[BACKUP_MANIFEST_MAX], now[32];
	int n, status;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	n = snprintf(text, sizeof(text), "%s\ncreated %s\nstate %s\nfiles %s\n",
	    BACKUP_MAGIC, now, b->state,
	    b->with_files ? "keys, configuration, attachments, recordings"
			  : "keys, configuration");
	if (n < 0 || (size_t)n >= sizeof(text))
		return qh_cli_fail(b->c, "%s: path too long", b->state);
	if ((status = put_header(b, BACKUP_MANIFEST, AE_IFREG, 0600, n, time(NULL))) != 0)
		return status;
	if (archive_write_data(b->a, text, (size_t)n) != n ||
	    archive_write_finish_entry(b->a) != ARCHIVE_OK)
		return archive_fail(b, BACKUP_MANIFEST);
	return QH_EXIT_OK;
}

/*
 * Writes the whole archive to the open file fd: the manifest, the
 * database copy at db_copy, then the state's files.
 */
static int
write_archive(struct backup *b, int fd, const char *db_copy)
{
	int status;

	if ((b->a = archive_write_new()) == NULL)
		return qh_cli_fail(b->c, "out of memory");
	if (archive_write_set_format_pax_restricted(b->a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(b->a) != ARCHIVE_OK ||
	    archive_write_open_fd(b->a, fd) != ARCHIVE_OK) {
		status = archive_fail(b, "archive");
		goto out;
	}
	if ((status = add_manifest(b)) != 0 ||
	    (status = add_file(b, db_copy, DB_FILE)) != 0 || (status = add_state(b)) != 0)
		goto out;
	if (archive_write_close(b->a) != ARCHIVE_OK)
		status = archive_fail(b, "archive");
out:
	archive_write_free(b->a);
	b->a = NULL;
	return status;
}

/*
 * Makes the private temporary directory beside out (mode 0700), refusing an
 * out inside the state directory: a backup with --with-files would hold
 * itself.
 */
static int
make_tmpdir(struct backup *b, const char *out)
{
	char dir[PATH_MAX], real_dir[PATH_MAX], real_state[PATH_MAX];
	const char *slash = strrchr(out, '/');
	size_t len;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - out) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", slash == out ? 1 : (int)(slash - out),
		    out);
	else
		return qh_cli_fail(b->c, "%s: path too long", out);
	if (realpath(dir, real_dir) == NULL)
		return qh_cli_fail(b->c, "%s: %s", dir, strerror(errno));
	if (realpath(b->state, real_state) == NULL)
		return qh_cli_fail(b->c, "%s: %s", b->state, strerror(errno));
	len = strlen(real_state);
	if (strncmp(real_dir, real_state, len) == 0 &&
	    (real_dir[len] == '\0' || real_dir[len] == '/'))
		return qh_cli_fail(b->c,
		    "%s is inside the state directory %s; write the "
		    "backup elsewhere",
		    out, b->state);
	if ((size_t)snprintf(b->tmpdir, sizeof(b->tmpdir), "%s/.qh-backup-XXXXXX", dir) >=
	    sizeof(b->tmpdir))
		return qh_cli_fail(b->c, "%s: path too long", out);
	if (mkdtemp(b->tmpdir) == NULL) {
		b->tmpdir[0] = '\0';
		return qh_cli_fail(b->c, "cannot write beside %s: %s", out,
		    strerror(errno));
	}
	return QH_EXIT_OK;
}

/* Removes the temporary directory and what is left in it. */
static void
remove_tmpdir(struct backup *b)
{
	static const char *const names[] = { "backup.tar", DB_FILE, DB_FILE "-wal",
		DB_FILE "-shm", DB_FILE "-journal" };
	char p[PATH_MAX];
	size_t i;

	if (b->tmpdir[0] == '\0')
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", b->tmpdir, names[i]) <
		    sizeof(p))
			unlink(p);
	rmdir(b->tmpdir);
	b->tmpdir[0] = '\0';
}

/* Gives the finished archive tmp its name out, never over an existing file. */
static int
publish(struct backup *b, const char *tmp, const char *out)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE) == 0)
		return QH_EXIT_OK;
	if (errno == EINVAL || errno == ENOSYS) { /* a file system without it */
		if (link(tmp, out) == 0)
			return QH_EXIT_OK;
	}
	if (errno == EEXIST)
		return qh_cli_fail(b->c, "%s exists; refusing to overwrite it", out);
	return qh_cli_fail(b->c, "%s: %s", out, strerror(errno));
}

/* Copies the database, archives the state into the temporary directory and publishes it.
 */
static int
backup_into(struct backup *b, const char *out, off_t *size)
{
	char db_copy[PATH_MAX], tar[PATH_MAX];
	struct stat st;
	int fd = -1, r, status;

	if ((status = join(b, db_copy, sizeof(db_copy), b->tmpdir, DB_FILE)) != 0 ||
	    (status = join(b, tar, sizeof(tar), b->tmpdir, "backup.tar")) != 0)
		return status;
	if ((r = db_backup(admin_env(b->c)->db, db_copy)) != 0)
		return qh_cli_fail(b->c, "cannot copy the database: %s", qh_strerror(r));
	if ((fd = open(tar, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600)) == -1)
		return qh_cli_fail(b->c, "%s: %s", tar, strerror(errno));
	if ((status = write_archive(b, fd, db_copy)) != 0)
		goto out;
	if (fsync(fd) == -1 || fstat(fd, &st) == -1) {
		status = qh_cli_fail(b->c, "%s: %s", out, strerror(errno));
		goto out;
	}
	*size = st.st_size;
	status = publish(b, tar, out);
out:
	close(fd);
	return status;
}

/* qh-console backup --out FILE [--with-files]. */
static int
cmd_backup(struct qh_cli *c)
{
	struct backup b = { .c = c, .state = admin_env(c)->state };
	const char *out = qh_cli_opt(c, "out");
	off_t size = 0;
	int status;

	if (out == NULL || *out == '\0')
		return qh_cli_usage(c, "--out FILE is required");
	b.with_files = qh_cli_flag(c, "with-files");
	if (access(out, F_OK) == 0)
		return qh_cli_fail(c, "%s exists; refusing to overwrite it", out);
	if ((status = make_tmpdir(&b, out)) != 0)
		return status;
	status = backup_into(&b, out, &size);
	remove_tmpdir(&b);
	if (status != 0)
		return status;
	printf("backup of %s written to %s (%lld bytes): the database, %d file%s of keys "
	       "and configuration",
	    b.state, out, (long long)size, b.nkeys, b.nkeys == 1 ? "" : "s");
	if (b.with_files)
		printf(", %d attachment and recording file%s", b.nfiles,
		    b.nfiles == 1 ? "" : "s");
	printf("\n");
	return fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
}

const struct qh_cli_cmd cmd_backup_entry = {
	.name = "backup",
	.usage = "--out FILE [--with-files]",
	.summary =
	    "archive the database (a consistent copy, also while serve runs), keys "
	    "and configuration",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("out"), QH_FLAG("with-files") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_backup,
};
