/*
 * The platform layer on POSIX systems (agent/platform.h): signals at
 * start-up, the configuration directory under ~/.config, paths relative
 * to the home directory, and the terminal the customer may answer on.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/png.h"
#include "qh/text.h"
#include "platform.h"

/*
 * glibc keeps signals 32 and 33 for itself and refuses sigaction() on them,
 * but a parent (GNU make, for one) may leave them ignored, and exec hands
 * that on to every command a technician runs. Put them back with the raw
 * system call, once, so that children start with default dispositions.
 */
static void
reset_reserved_signals(void)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		unsigned long mask;
	} k = { SIG_DFL, 0, NULL, 0 };
	int sig;

	for (sig = 32; sig < SIGRTMIN; sig++)
		(void)syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
}

int
plat_init(void)
{
	/* A peer that hangs up shows as EPIPE from write, never as a signal. */
	signal(SIGPIPE, SIG_IGN);
	/* In the background a read of the terminal gives EIO, not a stop. */
	signal(SIGTTIN, SIG_IGN);
	reset_reserved_signals();
	return 0;
}

int
plat_wants_window(int *argc QH_UNUSED, char **argv QH_UNUSED)
{
	return 0;
}

int
plat_window_run(int argc QH_UNUSED, char **argv QH_UNUSED)
{
	qh_say(_("this system has no window; run qh-agent in a terminal"));
	return QH_EXIT_FAIL;
}

/* The user's home directory: $HOME, else the passwd entry; NULL if none. */
static const char *
home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && *h != '\0')
		return h;
	if ((pw = getpwuid(getuid())) == NULL || pw->pw_dir == NULL)
		return NULL;
	return pw->pw_dir;
}

int
plat_config_default(char *out, size_t len)
{
	const char *h = home();
	int n;

	if (h == NULL)
		return QH_ERR_NOT_FOUND;
	n = snprintf(out, len, "%s/.config/quarterhour/agent", h);
	if (n < 0 || (size_t)n >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

int
plat_config_create(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;
	size_t i, len = strlen(dir);

	if (len == 0 || len >= sizeof(p))
		return QH_ERR_ARG;
	memcpy(p, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST) {
			qh_say(_("cannot create %s: %s"), p, strerror(errno));
			return QH_ERR_SYSTEM;
		}
		p[i] = dir[i];
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		qh_say(_("%s is not a directory"), dir);
		return QH_ERR_SYSTEM;
	}
	return 0;
}

int
plat_exe_path(char *out, size_t len)
{
	ssize_t n;

	if (len == 0 || (n = readlink("/proc/self/exe", out, len - 1)) <= 0)
		return QH_ERR_NOT_FOUND;
	if ((size_t)n >= len - 1)
		return QH_ERR_TOO_LARGE;
	out[n] = '\0';
	return 0;
}

const char *
plat_base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

int
plat_path_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

int
plat_path_resolve(const char *given, char *out, size_t len, char *why, size_t whylen)
{
	struct passwd *pw;
	const char *h = "/";
	int n;

	if (given[0] == '/')
		n = snprintf(out, len, "%s", given);
	else {
		/* The passwd entry, as exec's working directory is. */
		if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
			h = pw->pw_dir;
		n = snprintf(out, len, "%s/%s", h, given);
	}
	if (n < 0 || (size_t)n >= len) {
		snprintf(why, whylen, "file name too long");
		return QH_ERR_TOO_LARGE;
	}
	return 0;
}

enum plat_kind
plat_path_kind(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return PLAT_NONE;
	if (S_ISLNK(st.st_mode))
		return PLAT_LINK;
	if (S_ISDIR(st.st_mode))
		return PLAT_DIR;
	return S_ISREG(st.st_mode) ? PLAT_FILE : PLAT_OTHER;
}

int
plat_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
plat_stdin_interactive(void)
{
	return uv_guess_handle(0) == UV_TTY && tcgetpgrp(0) == getpgrp();
}

int
plat_png_write_file(const char *path, const uint32_t *px, int w, int h, size_t stride)
{
	return png_write_file(path, px, w, h, stride);
}
