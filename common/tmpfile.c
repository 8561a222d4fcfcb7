/*
 * Temporary files beside a destination (see qh/tmpfile.h). An O_TMPFILE
 * file is given a name by linkat through /proc/self/fd, which needs no
 * privilege: straight at dest when nothing is there, else at a temporary
 * name that rename() then moves over dest in one step. Windows has no
 * unnamed files: there the file is ".NAME.qh-XXXXXX" from the start, and
 * MoveFileEx puts it in place, replacing dest, with write-through.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _WIN32
#include <windows.h>
#endif

#include "qh/compat.h"
#include "qh/tmpfile.h"

#define LINK_TRIES 16

/* Splits dest into its directory (dir, len bytes) and its last component. */
static int
split(const char *dest, char *dir, size_t len, const char **base)
{
	const char *slash = strrchr(dest, '/');
	int n;

#ifdef _WIN32
	const char *bs = strrchr(dest, '\\');

	if (bs != NULL && (slash == NULL || bs > slash))
		slash = bs;
#endif
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
#ifdef _WIN32
	n = snprintf(out, len, "%s\\.%s.qh-%s", dir, base, suffix);
#else
	n = snprintf(out, len, "%s/.%s.qh-%s", dir, base, suffix);
#endif
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

#ifdef _WIN32
/* A UTF-8 path as UTF-16 for the wide file functions; NULL (errno) if it is not one. */
static wchar_t *
wide(const char *s)
{
	wchar_t *w;
	int n;

	if ((n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0)) <=
	    0) {
		errno = EINVAL;
		return NULL;
	}
	if ((w = calloc((size_t)n, sizeof(*w))) == NULL)
		return NULL;
	(void)MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	return w;
}

/* errno for what Windows reported. */
static int
win_errno(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_BAD_NETPATH:
		return ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_WRITE_PROTECT:
		return EACCES;
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		return EBUSY;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return ENOSPC;
	case ERROR_FILENAME_EXCED_RANGE:
		return ENAMETOOLONG;
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		return EEXIST;
	default:
		return EIO;
	}
}

int
qh_tmpfile_open(struct qh_tmpfile *tf, const char *dest)
{
	char dir[PATH_MAX];
	const char *base;
	wchar_t *w;
	int i, saved;

	memset(tf, 0, sizeof(*tf));
	tf->fd = -1;
	if ((size_t)snprintf(tf->dest, sizeof(tf->dest), "%s", dest) >=
	    sizeof(tf->dest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (split(dest, dir, sizeof(dir), &base) == -1)
		return -1;
	for (i = 0; i < LINK_TRIES; i++) {
		if (temp_name(dir, base, 1, tf->path, sizeof(tf->path)) == -1)
			return -1;
		if ((w = wide(tf->path)) == NULL)
			return -1;
		tf->fd =
		    _wopen(w, _O_CREAT | _O_EXCL | _O_RDWR | _O_BINARY | _O_NOINHERIT,
			_S_IREAD | _S_IWRITE);
		saved = errno;
		free(w);
		if (tf->fd != -1)
			return 0;
		tf->path[0] = '\0';
		if (saved != EEXIST) {
			errno = saved;
			return -1;
		}
	}
	return -1;
}

int
qh_tmpfile_commit(struct qh_tmpfile *tf, mode_t mode)
{
	wchar_t *from = NULL, *to = NULL;
	int saved;

	if (tf->fd == -1) {
		errno = EBADF;
		return -1;
	}
	if (close(tf->fd) == -1) {
		tf->fd = -1;
		goto fail;
	}
	tf->fd = -1;
	if ((from = wide(tf->path)) == NULL || (to = wide(tf->dest)) == NULL)
		goto fail;
	if (!MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
		errno = win_errno(GetLastError());
		goto fail;
	}
	tf->path[0] = '\0';
	/* The one mode bit Windows keeps: no write for the owner is read-only. */
	if (!(mode & 0200))
		(void)SetFileAttributesW(to, FILE_ATTRIBUTE_READONLY);
	free(from);
	free(to);
	return 0;
fail:
	saved = errno;
	free(from);
	free(to);
	qh_tmpfile_abort(tf);
	errno = saved;
	return -1;
}

int
qh_tmpfile_link(struct qh_tmpfile *tf, mode_t mode)
{
	wchar_t *from = NULL, *to = NULL;
	int saved;

	if (tf->fd == -1) {
		errno = EBADF;
		return -1;
	}
	if (close(tf->fd) == -1) {
		tf->fd = -1;
		goto fail;
	}
	tf->fd = -1;
	if ((from = wide(tf->path)) == NULL || (to = wide(tf->dest)) == NULL)
		goto fail;
	/* Without MOVEFILE_REPLACE_EXISTING: a file at dest stays. */
	if (!MoveFileExW(from, to, MOVEFILE_WRITE_THROUGH)) {
		errno = win_errno(GetLastError());
		goto fail;
	}
	tf->path[0] = '\0';
	if (!(mode & 0200))
		(void)SetFileAttributesW(to, FILE_ATTRIBUTE_READONLY);
	free(from);
	free(to);
	return 0;
fail:
	saved = errno;
	free(from);
	free(to);
	qh_tmpfile_abort(tf);
	errno = saved;
	return -1;
}

void
qh_tmpfile_abort(struct qh_tmpfile *tf)
{
	wchar_t *w;

	if (tf->fd != -1)
		(void)close(tf->fd);
	tf->fd = -1;
	if (tf->path[0] != '\0' && (w = wide(tf->path)) != NULL) {
		(void)_wunlink(w);
		free(w);
	}
	tf->path[0] = '\0';
}
#else
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

int
qh_tmpfile_link(struct qh_tmpfile *tf, mode_t mode)
{
	char proc[64];
	int saved;

	if (tf->fd == -1) {
		errno = EBADF;
		return -1;
	}
	if (fchmod(tf->fd, mode & 07777) == -1)
		goto fail;
	/* link and linkat never replace: a file at dest stays, EEXIST. */
	if (tf->anon) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tf->fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tf->dest, AT_SYMLINK_FOLLOW) == -1)
			goto fail;
	} else {
		if (link(tf->path, tf->dest) == -1)
			goto fail;
		(void)unlink(tf->path);
		tf->path[0] = '\0';
	}
	if (close(tf->fd) == -1) {
		tf->fd = -1;
		return -1; /* in place, but the close failed */
	}
	tf->fd = -1;
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
#endif
