/*
 * Temporary files beside a destination (see qh/tmpfile.h). An O_TMPFILE
 * file is given a name by linkat through /proc/self/fd, which needs no
 * privilege: straight at dest when nothing is there, else at a temporary
 * name that rename() then moves over dest in one step.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/tmpfile.h"

#define LINK_TRIES 16

/* Splits dest into its directory (dir, len bytes) and its last component. */
static int
split(const char *dest, char *dir, size_t len, const char **base)
{
	const char *slash = strrchr(dest, '/');
	int n;

	if (slash == NULL) {
		*base = dest;
		n = snprintf(dir, len, ".");
	} else {
		*base = slash + 1;
		n = slash == dest ? snprintf(dir, len, "/")
				  : snprintf(dir, len, "%.*s", (int)(slash - dest), dest);
	}
	if (n < 0 || (size_t)n >= len || **base == '\0') {
		errno = **base == '\0' ? EISDIR : ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Writes "DIR/.BASE.qh-" followed by six random letters, or the mkstemp pattern. */
static int
temp_name(const char *dir, const char *base, int random, char *out, size_t len)
{
	static const char letters[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char suffix[7];
	int i, n;

	for (i = 0; i < 6; i++)
		suffix[i] =
		    random ? letters[arc4random_uniform(sizeof(letters) - 1)] : 'X';
	suffix[6] = '\0';
	n = snprintf(out, len, "%s/.%s.qh-%s", dir, base, suffix);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
qh_tmpfile_open(struct qh_tmpfile *tf, const char *dest)
{
	char dir[PATH_MAX];
	const char *base;

	memset(tf, 0, sizeof(*tf));
	tf->fd = -1;
	if ((size_t)snprintf(tf->dest, sizeof(tf->dest), "%s", dest) >=
	    sizeof(tf->dest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (split(dest, dir, sizeof(dir), &base) == -1)
		return -1;
	if ((tf->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1) {
		tf->anon = 1;
		return 0;
	}
	/* Only a file system without O_TMPFILE gets a named file. */
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1;
	if (temp_name(dir, base, 0, tf->path, sizeof(tf->path)) == -1)
		return -1;
	if ((tf->fd = mkstemp(tf->path)) == -1) {
		tf->path[0] = '\0';
		return -1;
	}
	(void)fcntl(tf->fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Gives an O_TMPFILE file a name: dest itself if free, else a temporary one. */
static int
link_anon(struct qh_tmpfile *tf, int *at_dest)
{
	char proc[64], dir[PATH_MAX];
	const char *base;
	int i;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tf->fd);
	*at_dest = 0;
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tf->dest, AT_SYMLINK_FOLLOW) == 0) {
		*at_dest = 1;
		return 0;
	}
	if (errno != EEXIST)
		return -1;
	if (split(tf->dest, dir, sizeof(dir), &base) == -1)
		return -1;
	for (i = 0; i < LINK_TRIES; i++) {
		if (temp_name(dir, base, 1, tf->path, sizeof(tf->path)) == -1)
			return -1;
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tf->path, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		tf->path[0] = '\0';
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int
qh_tmpfile_commit(struct qh_tmpfile *tf, mode_t mode)
{
	int at_dest = 0, saved;

	if (tf->fd == -1) {
		errno = EBADF;
		return -1;
	}
	if (fchmod(tf->fd, mode & 07777) == -1)
		goto fail;
	if (tf->anon && link_anon(tf, &at_dest) == -1)
		goto fail;
	if (close(tf->fd) == -1) {
		tf->fd = -1;
		goto fail;
	}
	tf->fd = -1;
	if (at_dest)
		return 0;
	if (rename(tf->path, tf->dest) == -1)
		goto fail;
	tf->path[0] = '\0';
	return 0;
fail:
	saved = errno;
	qh_tmpfile_abort(tf);
	errno = saved;
	return -1;
}

void
qh_tmpfile_abort(struct qh_tmpfile *tf)
{
	if (tf->fd != -1)
		(void)close(tf->fd);
	tf->fd = -1;
	if (tf->path[0] != '\0')
		(void)unlink(tf->path);
	tf->path[0] = '\0';
}
