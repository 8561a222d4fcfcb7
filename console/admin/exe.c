/*
 * enroll --exe FILE: a copy of qh-agent.exe that carries the join token
 * (and the vendor's name for its window) at its end, so that the customer
 * only downloads and starts it; the agent enrols with it at its first
 * start. agent-package --out FILE: a copy of qh-agent (Linux) or
 * qh-agent.exe that carries the console's address and CA pin instead, for
 * joining with short codes. An unsigned exe gets the tag appended; a signed one carries
 * it in its certificate table, where the signature stays valid (qh/exetag.h). The token
 * stays what it is: single use, expiring.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/exetag.h"
#include "qh/tmpfile.h"
#include "admin.h"

#define EXE_MAX (256 * 1024 * 1024) /* the agent program read into memory */

int
admin_agent_exe_source(struct qh_cli *c, const struct store_env *env, const char **from)
{
	const char *f = qh_cli_opt(c, "from");

	if (f == NULL && env->conf.agent_exe[0] != '\0')
		f = env->conf.agent_exe;
	if (f == NULL)
		return qh_cli_usage(c,
		    "--exe needs the agent program: --from PATH, or "
		    "[enroll] agent_exe in console.conf");
	if (access(f, R_OK) != 0)
		return qh_cli_fail(c, "cannot read the agent program %s: %s", f,
		    strerror(errno));
	*from = f;
	return 0;
}

/* Reads path (a regular file of at most EXE_MAX bytes) into b. */
static int
read_file(const char *path, struct qh_buf *b)
{
	struct stat st;
	uint8_t *d;
	ssize_t n;
	size_t got = 0;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return QH_ERR_SYSTEM;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > EXE_MAX) {
		close(fd);
		return QH_ERR_FORMAT;
	}
	if (qh_buf_reserve(b, (size_t)st.st_size, &d) != 0) {
		close(fd);
		return QH_ERR_NOMEM;
	}
	while (got < (size_t)st.st_size) {
		if ((n = read(fd, d + got, (size_t)st.st_size - got)) < 0 &&
		    errno == EINTR)
			continue;
		if (n <= 0) {
			r = QH_ERR_SYSTEM;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	return r;
}

/* Writes len bytes at p to tf's file and syncs it. */
static int
write_all(struct qh_tmpfile *tf, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(tf->fd, p, len)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return fsync(tf->fd);
}

/*
 * Writes to out (mode) a copy of the program from carrying tag: a PE file
 * through qh_exetag_apply (signed or not), any other appended. Sets
 * *how for the message; returns an exit status after one line on stderr
 * when it failed.
 */
static int
write_tagged(struct qh_cli *c, const char *from, const struct qh_buf *tag,
    const char *out, mode_t mode, const char **how)
{
	struct qh_buf exe, copy;
	struct qh_tmpfile tf;
	int is_signed = 0, r, status = QH_EXIT_FAIL;

	qh_buf_init(&exe, EXE_MAX);
	qh_buf_init(&copy, EXE_MAX + QH_EXETAG_MAX + 64);
	if ((r = read_file(from, &exe)) != 0) {
		qh_cli_fail(c, "cannot read the agent program %s: %s", from,
		    r == QH_ERR_FORMAT ? "not a regular file of a sane size"
				       : strerror(errno));
		goto out;
	}
	if (qh_buf_len(&exe) >= 2 && qh_buf_ptr(&exe)[0] == 'M' &&
	    qh_buf_ptr(&exe)[1] == 'Z')
		r = qh_exetag_apply(qh_buf_ptr(&exe), qh_buf_len(&exe), tag, &copy,
		    &is_signed);
	else
		r = qh_exetag_append(qh_buf_ptr(&exe), qh_buf_len(&exe), tag, &copy);
	if (r != 0) {
		qh_cli_fail(c, "%s is not an agent program this console can tag%s", from,
		    r == QH_ERR_FORMAT ? " (not a PE file, or data after its signature)"
				       : "");
		goto out;
	}
	*how = qh_buf_ptr(&exe)[0] != 'M' ? "program"
	    : is_signed			  ? "signed exe"
					  : "unsigned exe";
	if (qh_tmpfile_open(&tf, out) == -1) {
		qh_cli_fail(c, "cannot write %s: %s", out, strerror(errno));
		goto out;
	}
	if (write_all(&tf, qh_buf_ptr(&copy), qh_buf_len(&copy)) != 0 ||
	    qh_tmpfile_commit(&tf, mode) != 0) {
		qh_cli_fail(c, "cannot write %s: %s", out, strerror(errno));
		qh_tmpfile_abort(&tf);
		goto out;
	}
	status = QH_EXIT_OK;
out:
	qh_buf_release(&exe);
	qh_buf_release(&copy);
	return status;
}

/* The vendor's name for the agent's window: [vendor] name, else the console's. */
static const char *
vendor_name(const struct store_env *env)
{
	return env->conf.vendor_name[0] != '\0' ? env->conf.vendor_name : env->conf.name;
}

int
admin_agent_exe_write(struct qh_cli *c, const struct store_env *env, const char *from,
    const char *token, const char *out)
{
	struct qh_buf tag;
	const char *how = "";
	int status;

	qh_buf_init(&tag, QH_EXETAG_MAX + 64);
	if (qh_exetag_build(token, vendor_name(env), &tag) != 0) {
		qh_buf_release(&tag);
		return qh_cli_fail(c, "the token cannot be carried by a program");
	}
	if ((status = write_tagged(c, from, &tag, out, 0600, &how)) == QH_EXIT_OK)
		fprintf(stderr,
		    "qh-console: wrote %s (%s): it enrols the PC it first runs on with "
		    "a one-time join token; hand it over privately\n",
		    out, how);
	qh_buf_release(&tag);
	return status;
}

int
admin_agent_package_write(struct qh_cli *c, const struct store_env *env, const char *from,
    const char *console, const char *pin, const char *out)
{
	struct qh_buf tag;
	const char *how = "";
	int status;

	qh_buf_init(&tag, QH_EXETAG_MAX + 64);
	if (qh_exetag_build_console(console, pin, vendor_name(env), &tag) != 0) {
		qh_buf_release(&tag);
		return qh_cli_fail(c,
		    "the console's address cannot be carried by a program");
	}
	/* No secret in it: anyone may run it, and joins with a short code. */
	if ((status = write_tagged(c, from, &tag, out, 0755, &how)) == QH_EXIT_OK)
		fprintf(stderr,
		    "qh-console: wrote %s (%s): an agent that knows this console (%s, CA "
		    "pin %.16s...) and carries no token; each PC joins with a short code "
		    "from 'qh-console enroll ID --short': qh-agent join --short CODE\n",
		    out, how, console, pin);
	qh_buf_release(&tag);
	return status;
}
