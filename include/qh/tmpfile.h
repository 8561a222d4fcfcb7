/*
 * A file written beside its destination and put in place only once it is
 * complete, so that a reader never sees part of it: the receiving end of
 * push and pull. Where the file system allows it the file has no name
 * until it is committed (O_TMPFILE), so not even a process killed with
 * SIGKILL leaves anything behind; elsewhere it is ".NAME.qh-XXXXXX" made
 * with mkstemp and removed on every path but a crash.
 */
#ifndef QH_TMPFILE_H
#define QH_TMPFILE_H

#include <sys/types.h>

#include <limits.h>

struct qh_tmpfile {
	int fd;			  /* -1 when closed */
	int anon;		  /* O_TMPFILE: no name yet */
	char path[PATH_MAX + 32]; /* the temporary name; "" for none */
	char dest[PATH_MAX];
};

/*
 * Opens a new, empty temporary file (mode 0600) in dest's directory.
 * Returns 0, or -1 with errno set (ENOENT for a missing directory, EACCES
 * for one we may not write, ENAMETOOLONG).
 */
int qh_tmpfile_open(struct qh_tmpfile *tf, const char *dest);

/*
 * Sets mode (mode & 07777), closes the file and puts it at dest,
 * replacing what is there. The caller fsyncs tf->fd first. Returns 0, or
 * -1 with errno set; the temporary file is removed then.
 */
int qh_tmpfile_commit(struct qh_tmpfile *tf, mode_t mode);

/*
 * Like qh_tmpfile_commit, but never replaces: when something is at dest
 * already, returns -1 with errno EEXIST and removes the temporary file.
 * For a download that must not overwrite a file the user has.
 */
int qh_tmpfile_link(struct qh_tmpfile *tf, mode_t mode);

/* Closes and removes the temporary file (not dest); a no-op after commit. */
void qh_tmpfile_abort(struct qh_tmpfile *tf);

#endif
