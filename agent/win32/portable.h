/*
 * The Windows agent's pieces that are plain C, without windows.h, so that
 * the native build compiles and unit-tests them too: command lines quoted
 * by Windows' rules (winquote.c), technicians' paths mapped to Windows
 * paths (winpath.c), and the workstation facts read from the registry
 * through a source that a test can fake (regfacts.c).
 */
#ifndef QH_AGENT_WIN_PORTABLE_H
#define QH_AGENT_WIN_PORTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "qh/json.h"

/* Longest command line CreateProcess takes, in characters, with its NUL. */
#define WIN_CMDLINE_MAX 32768

/*
 * Writes argv as one command line that CommandLineToArgvW and the C
 * runtime's parser split back into the same words: words with blanks or
 * quotes are quoted, backslashes before a quote doubled. argv[0], the
 * program, is quoted without escapes, as CreateProcess reads it; a
 * program name with a '"' is refused. Returns 0, QH_ERR_ARG (an empty
 * argv, a quote in argv[0]) or QH_ERR_TOO_LARGE.
 */
int win_quote_argv(char *const *argv, char *out, size_t len);

/* Appends one word quoted by the rules above to out (len bytes, NUL-ended). */
int win_quote_arg(const char *arg, char *out, size_t len);

/*
 * Maps a path a technician gave to the Windows path the agent opens: '/'
 * is a separator as '\' is; "C:\..." and UNC paths ("\\server\share\...")
 * are taken as they are, "\..." starts at the root of home's drive, and a
 * relative path starts at home (the user's profile directory). "\\?\"
 * paths pass unchanged. Refused, with the reason in why: a drive-relative
 * path ("C:file"), the characters < > " | ? * and control characters, a
 * ':' other than the drive's, a name ending in '.' or ' ' (Windows would
 * drop it silently), and device names (CON, PRN, AUX, NUL, COM1-9,
 * LPT1-9, CONIN$, CONOUT$, with any extension). Returns 0,
 * QH_ERR_ARG or QH_ERR_TOO_LARGE.
 */
int win_path_map(const char *given, const char *home, char *out, size_t len, char *why,
    size_t whylen);

/* Registry facts. */

enum reg_root {
	REG_ROOT_HKLM,
	REG_ROOT_HKCU,
};

enum reg_view {
	REG_VIEW_DEFAULT, /* the program's own view (64-bit for the agent) */
	REG_VIEW_64,	  /* KEY_WOW64_64KEY */
	REG_VIEW_32,	  /* KEY_WOW64_32KEY: WOW6432Node */
};

/*
 * Where the facts are read from: the real registry (agent/win32/facts.c)
 * or a table (tests/unit/test_regfacts.c). Keys are opaque; NULL is
 * "no such key". Names and values are UTF-8.
 */
struct reg_src {
	void *arg;
	void *(
	    *open)(void *arg, enum reg_root root, enum reg_view view, const char *path);
	/* Subkey number i's name: 0, 1 past the last, <0 on error. */
	int (*subkey)(void *arg, void *key, unsigned i, char *name, size_t len);
	/* A string value (REG_SZ, REG_EXPAND_SZ): 0 or <0 when absent. */
	int (*str)(void *arg, void *key, const char *name, char *out, size_t len);
	/* A REG_DWORD value: 0 or <0 when absent. */
	int (*dword)(void *arg, void *key, const char *name, uint32_t *out);
	void (*close)(void *arg, void *key);
};

/* The version numbers the system reports (RtlGetVersion); 0 when unknown. */
struct win_version {
	uint32_t major, minor, build;
};

/*
 * Appends "os", "kernel", "os_edition", "os_version" and "os_build" from
 * HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion and the numbers in v
 * (which win over the registry's: it may lie for compatibility). Windows
 * 11 reports "Windows 10" in ProductName; a build of 22000 or later is
 * named Windows 11. Missing values (Wine has no EditionID) give null.
 */
void
regfacts_os(struct qh_json *j, const struct reg_src *src, const struct win_version *v);

/* The .NET Framework product a v4 "Release" number stands for ("4.8"), or NULL. */
const char *regfacts_dotnet_product(uint32_t release);

/*
 * Appends "dotnet": [{key, version, release, product, sp}] from the
 * NET Framework Setup\NDP keys (v2.0.50727, v3.0, v3.5, v4\Client,
 * v4\Full, ...); [] when there are none.
 */
void regfacts_dotnet(struct qh_json *j, const struct reg_src *src);

/*
 * 1 if a program's display name belongs to the products the support
 * policy asks about first: Act!, SalesLogix / Infor CRM, SugarCRM,
 * Outlook and Office.
 */
int regfacts_is_crm(const char *name);

/* Most programs listed; more are counted in "programs_more". */
#define REGFACTS_PROGRAMS_MAX 1000

/*
 * Appends "programs": [{name, version, publisher, view, crm}] from the
 * Uninstall keys of HKLM's 64-bit and 32-bit views and HKCU, without
 * system components and updates, each name and version once; CRM
 * products first, then by name. Returns 0 or QH_ERR_NOMEM.
 */
int regfacts_programs(struct qh_json *j, const struct reg_src *src);

/*
 * Appends "office": {version, bitness, source} for the newest Office
 * found (Click-to-Run's Platform, else an MSI install's Outlook Bitness,
 * else the registry view it was found in), or null.
 */
void regfacts_office(struct qh_json *j, const struct reg_src *src);

/* Appends "tapi_providers": [file names] of the Telephony providers. */
void regfacts_tapi(struct qh_json *j, const struct reg_src *src);

/* Appends the WIA (still image) devices' names as an array value. */
void regfacts_wia(struct qh_json *j, const struct reg_src *src);

#endif
