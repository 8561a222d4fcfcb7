/*
 * What the Windows files of the agent share among themselves: UTF-8 and
 * UTF-16 conversions, the user's folders, Job Objects, Wine's quirks. Not
 * for the shared agent code, which sees platform.h and proc.h only.
 */
#ifndef QH_AGENT_WIN_H
#define QH_AGENT_WIN_H

#include <stddef.h>
#include <wchar.h>

struct task;

/* A UTF-16 copy of a UTF-8 string (free it), or NULL if it is not UTF-8. */
wchar_t *win_wide(const char *s);

/* Writes a UTF-16 string as UTF-8 into out; returns 0 or QH_ERR_TOO_LARGE. */
int win_utf8(const wchar_t *w, char *out, size_t len);

/* The user's profile directory (%USERPROFILE%) as UTF-8; 0 or QH_ERR_*. */
int win_home(char *out, size_t len);

/* A new Job Object, killing what is in it when its last handle closes if asked. */
void *win_job_new(int kill_on_close);

/*
 * Lets a process the agent starts with CREATE_BREAKAWAY_FROM_JOB leave
 * the agent's job (the service's desktop helper, which lives in another
 * session and ends with its pipe); the others stay in it.
 */
void win_job_allow_breakaway(void);

/* 1 when running under Wine (ntdll exports wine_get_version). */
int win_is_wine(void);

/*
 * Under Wine without a console: gives the process a console of its own
 * whose handles a pseudo console's child can take (docs/windows-notes.md,
 * a.), keeping our standard handles as they were. Call once at start.
 */
void win_wine_console_prepare(void);

/* Ends a shell task's process and its job (conpty.c). */
void win_shell_kill(struct task *t);

/* The window (window.c): 1 if it runs, for ui.c and run.c to tell it things. */
int win_window_active(void);

#endif
