/*
 * The agent's platform layer besides process control (proc.h): start-up,
 * the configuration directory, the paths a technician names, and the
 * customer's terminal. One implementation per system: agent/posix/sys.c
 * and agent/win32/sys.c; the workstation facts (agent_info_json in
 * agent.h) come from agent/posix/facts.c and agent/win32/facts.c, and
 * Windows' window from agent/win32/window.c.
 *
 * Paths are UTF-8 everywhere (on Windows the program runs with the UTF-8
 * code page).
 */
#ifndef QH_AGENT_PLATFORM_H
#define QH_AGENT_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Prepares the process before anything else runs: POSIX resets inherited
 * signal dispositions and ignores SIGPIPE; Windows sets binary file I/O,
 * the console to UTF-8, OpenSSL without any configuration file, and puts
 * the agent in a Job Object that ends every process it starts with it.
 * Returns 0, or an exit status when the process cannot run.
 */
int plat_init(void);

/*
 * 1 when the customer gets a window instead of a console: on Windows when
 * the exe was started by a double-click (see agent/win32/sys.c for how
 * that is told) or with --window; never on POSIX. Takes --console (the
 * console, even for a double-click) out of argv.
 */
int plat_wants_window(int *argc, char **argv);

/*
 * Runs the agent with its window (enrolment when needed, then a session)
 * and returns the exit status. POSIX has no window: QH_EXIT_FAIL.
 */
int plat_window_run(int argc, char **argv);

/*
 * Writes the configuration directory used when neither --config nor
 * $QH_AGENT names one: ~/.config/quarterhour/agent on POSIX,
 * %LOCALAPPDATA%\quarterhour\agent on Windows. Returns 0,
 * QH_ERR_TOO_LARGE or QH_ERR_NOT_FOUND (no home directory).
 */
int plat_config_default(char *out, size_t len);

/*
 * Creates dir and its missing parents, and makes dir readable by this
 * user only: mode 0700 for the ones created on POSIX; on Windows an ACL
 * with only the user (and SYSTEM), or with only SYSTEM and Administrators
 * for the service's directory under %ProgramData%. Prints one line for
 * the customer and returns QH_ERR_SYSTEM on failure, else 0.
 */
int plat_config_create(const char *dir);

/* Writes the path of this program's file into out; 0 or QH_ERR_*. */
int plat_exe_path(char *out, size_t len);

/* The last component of path (after '/'; on Windows also '\' or a drive's ':'). */
const char *plat_base_name(const char *path);

/* Writes dir, the platform's separator and name into out; QH_ERR_TOO_LARGE. */
int plat_path_join(char *out, size_t len, const char *dir, const char *name);

/*
 * Turns a path a technician gave into the one the agent opens: relative
 * paths start at the user's home directory (where exec runs too). On
 * Windows drive letters, '/' or '\' and UNC paths (\\server\share) are
 * taken, and device names (CON, NUL, COM1...) refused. Returns 0,
 * QH_ERR_TOO_LARGE, or QH_ERR_ARG with the reason in why.
 */
int plat_path_resolve(const char *given, char *out, size_t len, char *why, size_t whylen);

/* What is at a path, not following a final symbolic link (lstat). */
enum plat_kind {
	PLAT_NONE,  /* nothing (or nothing we may see) */
	PLAT_FILE,  /* a regular file */
	PLAT_DIR,   /* a directory */
	PLAT_LINK,  /* a symbolic link (or a Windows reparse point), dangling or not */
	PLAT_OTHER, /* a device, FIFO, socket */
};
enum plat_kind plat_path_kind(const char *path);

/* 1 if path names a directory, following links (stat). */
int plat_is_dir(const char *path);

/*
 * 1 if standard input is a terminal the customer types into and we may
 * read it (in the foreground of its terminal on POSIX; a console on
 * Windows), else 0.
 */
int plat_stdin_interactive(void);

/*
 * Writes w x h XRGB pixels (stride in pixels) as a PNG file, created or
 * truncated, private: common/png.c on POSIX, the system's WIC encoder on
 * Windows (agent/win32/wicpng.c). Returns 0 or <0.
 */
int
plat_png_write_file(const char *path, const uint32_t *px, int w, int h, size_t stride);

#endif
