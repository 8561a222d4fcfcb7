/*
 * qh-console restore: brings a state directory back from a `backup`
 * archive. The target must be new or an empty directory, and it is locked
 * (flock) while the restore runs, so two restores cannot meet there. Only
 * plain files and directories with relative paths that stay inside the
 * target are accepted; each is created new, synced, and given the mode it
 * had. When root restores into a directory someone else owns (the
 * service's, made by systemd), the files become that owner's, so serve can
 * write them. At the end the configuration and the database are opened
 * and the ledger is verified; a restore that fails half-way removes what
 * it wrote.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "admin.h"
#include "backup.h"
#include "store/store.h"

#define COPY_CHUNK (64 * 1024)

/* One restore in the making. */
struct restore {
	struct qh_cli *c;
	const char *file; /* the archive */
	const char *dir;  /* the target */
	struct archive *a;
	int dirfd;    /* the target, locked; -1 before */
	int made_dir; /* restore created the target */
	int give;     /* chown what is created to uid:gid */
	uid_t uid;
	gid_t gid;
	char created[64]; /* from the manifest */
	int nfiles, have_db, have_conf;
};

/* Prints the archive's error for what and returns QH_EXIT_FAIL. */
static int
archive_fail(struct restore *rs, const char *what)
{
	return qh_cli_fail(rs->c, "%s: %s: %s", rs->file, what,
	    archive_error_string(rs->a));
}

/*
 * 1 if name is a path a backup may hold: relative, at most BACKUP_MAX_DEPTH
 * components, none of them empty, "." or "..". One trailing slash (a
 * directory's) is allowed and ignored.
 */
static int
name_valid(const char *name)
{
	const char *p = name, *end;
	size_t len;
	int depth = 0;

	if (*name == '/' || *name == '\0')
		return 0;
	while (*p != '\0') {
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.') ||
		    ++depth > BACKUP_MAX_DEPTH)
			return 0;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 1;
}

/* Gives the new file or directory fd its mode and, as root, its owner. */
static int
settle(struct restore *rs, int fd, const char *path, mode_t mode)
{
	if (fchmod(fd, mode) == -1 || (rs->give && fchown(fd, rs->uid, rs->gid) == -1))
		return qh_cli_fail(rs->c, "%s: %s", path, strerror(errno));
	return QH_EXIT_OK;
}

/* Creates directory path (mode perm) unless it is there from an earlier entry. */
static int
make_dir(struct restore *rs, const char *path, mode_t perm)
{
	int fd, status;

	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return qh_cli_fail(rs->c, "%s: %s", path, strerror(errno));
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return qh_cli_fail(rs->c, "%s: %s", path, strerror(errno));
	status = settle(rs, fd, path, (perm & 0777) | 0700);
	close(fd);
	return status;
}

/* Creates the missing directories above path (the part before its last slash). */
static int
make_parents(struct restore *rs, char *path, size_t from)
{
	struct stat st;
	size_t i;
	int status;

	for (i = from; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		status = lstat(path, &st) == 0 && S_ISDIR(st.st_mode)
		    ? QH_EXIT_OK
		    : make_dir(rs, path, 0700);
		path[i] = '/';
		if (status != 0)
			return status;
	}
	return QH_EXIT_OK;
}

/* Writes the current entry's data into the new file path with mode perm. */
static int
write_file(struct restore *rs, const char *path, mode_t perm)
{
	static char buf[COPY_CHUNK];
	la_ssize_t n;
	ssize_t w;
	size_t off;
	int fd, status = QH_EXIT_OK;

	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return qh_cli_fail(rs->c, "%s: %s", path,
		    errno == EEXIST ? "twice in the archive" : strerror(errno));
	while (status == 0 && (n = archive_read_data(rs->a, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			status = archive_fail(rs, path);
			break;
		}
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			if ((w = write(fd, buf + off, (size_t)n - off)) == -1 &&
			    errno == EINTR)
				w = 0;
			else if (w == -1) {
				status =
				    qh_cli_fail(rs->c, "%s: %s", path, strerror(errno));
				break;
			}
		}
	}
	if (status == 0 && fsync(fd) == -1)
		status = qh_cli_fail(rs->c, "%s: %s", path, strerror(errno));
	if (status == 0)
		status = settle(rs, fd, path, (perm & 0777) | 0600);
	close(fd);
	return status;
}

/* Restores one archive entry (after the manifest) into the target. */
static int
restore_entry(struct restore *rs, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	mode_t type = archive_entry_filetype(e);
	char path[PATH_MAX];
	size_t base = strlen(rs->dir) + 1;
	int n, status;

	if (name == NULL || !name_valid(name))
		return qh_cli_fail(rs->c,
		    "%s: refusing the entry '%s': not a path inside "
		    "the state directory",
		    rs->file, name != NULL ? name : "");
	if ((type != AE_IFREG && type != AE_IFDIR) || archive_entry_hardlink(e) != NULL)
		return qh_cli_fail(rs->c,
		    "%s: refusing the entry '%s': not a plain file or "
		    "directory",
		    rs->file, name);
	n = snprintf(path, sizeof(path), "%s/%s", rs->dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return qh_cli_fail(rs->c, "%s/%s: path too long", rs->dir, name);
	if (path[n - 1] == '/')
		path[n - 1] = '\0';
	if ((status = make_parents(rs, path, base)) != 0)
		return status;
	if (type == AE_IFDIR)
		return make_dir(rs, path, archive_entry_perm(e));
	if ((status = write_file(rs, path, archive_entry_perm(e))) != 0)
		return status;
	rs->nfiles++;
	if (strcmp(name, DB_FILE) == 0)
		rs->have_db = 1;
	else if (strcmp(name, "console.conf") == 0)
		rs->have_conf = 1;
	return QH_EXIT_OK;
}

/* Opens the archive and checks that its first entry is a backup's manifest. */
static int
open_archive(struct restore *rs)
{
	char text[BACKUP_MANIFEST_MAX + 1], *line;
	struct archive_entry *e;
	la_ssize_t n;
	size_t len = 0;

	if ((rs->a = archive_read_new()) == NULL)
		return qh_cli_fail(rs->c, "out of memory");
	archive_read_support_format_tar(rs->a);
	archive_read_support_filter_all(rs->a);
	if (archive_read_open_filename(rs->a, rs->file, COPY_CHUNK) != ARCHIVE_OK)
		return qh_cli_fail(rs->c, "%s: %s", rs->file,
		    archive_error_string(rs->a));
	if (archive_read_next_header(rs->a, &e) != ARCHIVE_OK ||
	    archive_entry_pathname(e) == NULL ||
	    strcmp(archive_entry_pathname(e), BACKUP_MANIFEST) != 0 ||
	    archive_entry_size(e) > BACKUP_MANIFEST_MAX)
		return qh_cli_fail(rs->c, "%s is not a quarterhour backup", rs->file);
	while (len < BACKUP_MANIFEST_MAX &&
	    (n = archive_read_data(rs->a, text + len, BACKUP_MANIFEST_MAX - len)) > 0)
		len += (size_t)n;
	text[len] = '\0';
	if (strncmp(text, BACKUP_MAGIC "\n", strlen(BACKUP_MAGIC) + 1) != 0)
		return qh_cli_fail(rs->c,
		    "%s is not a quarterhour backup this version reads", rs->file);
	if ((line = strstr(text, "\ncreated ")) != NULL)
		sscanf(line + 9, "%63s", rs->created);
	return QH_EXIT_OK;
}

/* nftw's callback: removes everything below the top. */
static int
remove_one(const char *path, const struct stat *st QH_UNUSED, int flag QH_UNUSED,
    struct FTW *ftw)
{
	if (ftw->level > 0)
		remove(path);
	return 0;
}

/* Takes back what a failed restore wrote: the target is as it was. */
static void
undo(struct restore *rs)
{
	nftw(rs->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	if (rs->made_dir)
		rmdir(rs->dir);
}

/*
 * Makes or opens the target, locks it and checks that it is empty. As
 * root, a target owned by someone else decides who owns what is restored.
 */
static int
open_target(struct restore *rs)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, empty = 1;

	if (mkdir(rs->dir, 0700) == 0)
		rs->made_dir = 1;
	else if (errno != EEXIST)
		return qh_cli_fail(rs->c, "cannot create %s: %s", rs->dir,
		    strerror(errno));
	if ((rs->dirfd = open(rs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return qh_cli_fail(rs->c, "%s: %s", rs->dir,
		    errno == ENOTDIR ? "exists and is not a directory" : strerror(errno));
	if (flock(rs->dirfd, LOCK_EX | LOCK_NB) == -1)
		return qh_cli_fail(rs->c,
		    "%s is locked by another process; refusing to "
		    "restore into it",
		    rs->dir);
	if ((fd = dup(rs->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return qh_cli_fail(rs->c, "%s: %s", rs->dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	if (!empty)
		return qh_cli_fail(rs->c,
		    "%s is not empty; restore wants a new or empty "
		    "directory",
		    rs->dir);
	if (fstat(rs->dirfd, &st) == -1)
		return qh_cli_fail(rs->c, "%s: %s", rs->dir, strerror(errno));
	rs->give = geteuid() == 0 && st.st_uid != 0;
	rs->uid = st.st_uid;
	rs->gid = st.st_gid;
	if (rs->made_dir && fchmod(rs->dirfd, 0700) == -1)
		return qh_cli_fail(rs->c, "%s: %s", rs->dir, strerror(errno));
	return QH_EXIT_OK;
}

/* Restores every entry after the manifest, then syncs the target. */
static int
extract(struct restore *rs)
{
	struct archive_entry *e;
	int r, status = QH_EXIT_OK;

	while (status == 0 && (r = archive_read_next_header(rs->a, &e)) != ARCHIVE_EOF) {
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return archive_fail(rs, "reading");
		status = restore_entry(rs, e);
	}
	if (status != 0)
		return status;
	if (!rs->have_db || !rs->have_conf)
		return qh_cli_fail(rs->c, "%s holds no %s; not a console's backup",
		    rs->file, rs->have_db ? "console.conf" : DB_FILE);
	if (fsync(rs->dirfd) == -1)
		return qh_cli_fail(rs->c, "%s: %s", rs->dir, strerror(errno));
	return QH_EXIT_OK;
}

/*
 * Opens the restored state as every command does and verifies its ledger;
 * prints the outcome. The files stay when the ledger does not verify: they
 * are what the backup held.
 */
static int
check_restored(struct restore *rs)
{
	struct store_env env;
	struct ledger_counts n;
	char why[512];
	int64_t bad = 0;
	int r;

	if (store_env_open(&env, rs->dir, QH_CLI_DB_READ) != 0)
		return QH_EXIT_FAIL;
	r = ledger_verify(env.db, why, sizeof(why), &bad);
	if (r == 0)
		r = db_ledger_counts(env.db, &n);
	store_env_close(&env);
	if (r < 0)
		return qh_cli_fail(rs->c,
		    "restored into %s, but its database cannot be "
		    "read: %s",
		    rs->dir, qh_strerror(r));
	if (r > 0)
		return qh_cli_fail(rs->c,
		    "restored into %s, but verify fails: entry %" PRId64 ": %s", rs->dir,
		    bad, why);
	printf("restored %s (taken %s) into %s: %d files; ledger ok: %" PRId64
	       " entries, %" PRId64 " sessions, %" PRId64 " customers\n",
	    rs->file, rs->created[0] != '\0' ? rs->created : "?", rs->dir, rs->nfiles,
	    n.entries, n.closed_sessions, n.customers);
	return fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
}

/* qh-console restore FILE --state DIR. */
static int
cmd_restore(struct qh_cli *c)
{
	struct restore rs = { .c = c,
		.file = c->argv[0],
		.dir = console_state_dir(c),
		.dirfd = -1 };
	int status;

	if (*rs.dir == '\0')
		return qh_cli_usage(c, "--state must not be empty");
	if ((status = open_archive(&rs)) != 0)
		goto out;
	if ((status = open_target(&rs)) != 0) {
		if (rs.made_dir)
			rmdir(rs.dir);
		goto out;
	}
	if ((status = extract(&rs)) != 0) {
		undo(&rs);
		goto out;
	}
	status = check_restored(&rs);
out:
	if (rs.dirfd != -1)
		close(rs.dirfd);
	archive_read_free(rs.a);
	return status;
}

const struct qh_cli_cmd cmd_restore_entry = {
	.name = "restore",
	.usage = "FILE --state DIR",
	.summary = "bring a state directory back from a backup (into a new or empty "
		   "directory) and verify it",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state") },
	.exec = cmd_restore,
};
