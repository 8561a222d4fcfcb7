/*
 * The platform layer on Windows (agent/platform.h): the program's start
 * (UTF-8 arguments and console, binary files, OpenSSL without any
 * configuration file, no DLL from the download folder, the agent's Job
 * Object), the configuration directory under %LOCALAPPDATA% with an ACL
 * for the user only, technicians' paths (winpath.c), and whether the
 * customer gets a console or the window.
 *
 * One exe serves both: it is a console program, so that cmd.exe waits
 * for it and sees its output and exit status. Started by a double-click,
 * Windows gives it a console of its own, and it is the only process in
 * it: GetConsoleProcessList() is 1. Started from cmd.exe or PowerShell
 * the count is 2 or more. So: 1 and no arguments is a double-click, and
 * the console is hidden and the window shown. Under Wine a start from a
 * terminal also counts 1, and one with redirected output 0 (which a
 * console program never sees on Windows unless started detached): there,
 * `qh-agent.exe` alone in a terminal opens the window too, and anything
 * with arguments or redirected output behaves like the Linux agent.
 * --window and --console override the rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fcntl.h>
#include <io.h>
#include <windows.h>
#include <aclapi.h>
#include <knownfolders.h>
#include <sddl.h>
#include <shlobj.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "qh/err.h"
#include "qh/log.h"
#include "qh/text.h"
#include "platform.h"
#include "win32/portable.h"
#include "win32/win.h"

/* Conversions and folders. */

wchar_t *
win_wide(const char *s)
{
	wchar_t *w;
	int n;

	if ((n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0)) <= 0)
		return NULL;
	if ((w = calloc((size_t)n, sizeof(*w))) == NULL)
		return NULL;
	(void)MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	return w;
}

int
win_utf8(const wchar_t *w, char *out, size_t len)
{
	int n;

	if (len == 0)
		return QH_ERR_TOO_LARGE;
	n = WideCharToMultiByte(CP_UTF8, 0, w, -1, out,
	    (int)(len > INT_MAX ? INT_MAX : len), NULL, NULL);
	if (n <= 0) {
		out[0] = '\0';
		return QH_ERR_TOO_LARGE;
	}
	return 0;
}

/* A known folder (FOLDERID_*) as UTF-8. */
static int
known_folder(const KNOWNFOLDERID *id, char *out, size_t len)
{
	PWSTR w = NULL;
	int r;

	if (FAILED(SHGetKnownFolderPath(id, KF_FLAG_CREATE, NULL, &w))) {
		CoTaskMemFree(w);
		return QH_ERR_NOT_FOUND;
	}
	r = win_utf8(w, out, len);
	CoTaskMemFree(w);
	return r;
}

int
win_home(char *out, size_t len)
{
	return known_folder(&FOLDERID_Profile, out, len);
}

int
win_is_wine(void)
{
	static int known = -1;
	HMODULE ntdll;

	if (known < 0) {
		ntdll = GetModuleHandleW(L"ntdll.dll");
		known =
		    ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
	}
	return known;
}

/* Start-up. */

static void *agent_job; /* HANDLE: the job plat_init put the agent in */

void
win_job_allow_breakaway(void)
{
	JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;

	if (agent_job == NULL ||
	    !QueryInformationJobObject(agent_job, JobObjectExtendedLimitInformation,
		&info, sizeof(info), NULL))
		return;
	info.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_BREAKAWAY_OK;
	if (!SetInformationJobObject(agent_job, JobObjectExtendedLimitInformation, &info,
		sizeof(info)))
		qh_debug("the agent's job allows no breakaway (error %lu)",
		    (unsigned long)GetLastError());
}

int
plat_init(void)
{
	HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
	BOOL(WINAPI * set_dirs)(DWORD);
	/* Never a DLL from the folder the exe was downloaded to. */
	set_dirs = (BOOL(WINAPI *)(DWORD))(
	    void *)GetProcAddress(k32, "SetDefaultDllDirectories");
	if (set_dirs != NULL)
		(void)set_dirs(LOAD_LIBRARY_SEARCH_SYSTEM32);
	/* No "insert a disk" box when the facts look at an empty drive. */
	(void)SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX);
	/* Files are bytes; the console shows UTF-8. */
	_fmode = _O_BINARY;
	(void)_setmode(_fileno(stdin), _O_BINARY);
	(void)SetConsoleOutputCP(CP_UTF8);
	(void)SetConsoleCP(CP_UTF8);
	/* No configuration file, engine or provider is ever loaded from disk. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1 ||
	    OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
		fprintf(stderr, "qh-agent: cannot initialise OpenSSL\n");
		return 1;
	}
	/*
	 * The agent's job: everything the agent starts is in it from its
	 * creation and is killed when the agent ends, however it ends. The
	 * handle is never closed; the system closes it with the process.
	 */
	if ((agent_job = win_job_new(1)) == NULL ||
	    !AssignProcessToJobObject(agent_job, GetCurrentProcess())) {
		qh_debug("no job object for the agent (error %lu): programs it "
			 "starts may outlive it",
		    (unsigned long)GetLastError());
		if (agent_job != NULL)
			CloseHandle(agent_job);
		agent_job = NULL;
	}
	return 0;
}

int
plat_wants_window(int *argc, char **argv)
{
	DWORD list[4];
	int i, j, console = 0;

	for (i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--window") == 0)
			return 1;
		if (strcmp(argv[i], "--console") == 0) {
			console = 1;
			for (j = i; j < *argc; j++)
				argv[j] = argv[j + 1];
			(*argc)--;
			i--;
		}
	}
	return !console && *argc == 1 && GetConsoleProcessList(list, 4) == 1;
}

/* The configuration directory. */

int
plat_config_default(char *out, size_t len)
{
	char base[MAX_PATH * 4];
	int r, n;

	if ((r = known_folder(&FOLDERID_LocalAppData, base, sizeof(base))) != 0)
		return r;
	n = snprintf(out, len, "%s\\quarterhour\\agent", base);
	if (n < 0 || (size_t)n >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/* 1 if dir lies under %ProgramData% (the service's state). */
static int
under_program_data(const char *dir)
{
	char pd[MAX_PATH * 4];
	size_t n;

	if (known_folder(&FOLDERID_ProgramData, pd, sizeof(pd)) != 0)
		return 0;
	n = strlen(pd);
	return strncasecmp(dir, pd, n) == 0 && (dir[n] == '\\' || dir[n] == '/');
}

/*
 * Gives dir a protected DACL (nothing inherited from above) with full
 * control for the given SIDs only, inherited by what is created in it.
 */
static int
set_private_acl(const wchar_t *wdir, const char *sddl_sids)
{
	char sddl[512];
	wchar_t *wsddl;
	PSECURITY_DESCRIPTOR sd = NULL;
	PACL dacl = NULL;
	BOOL present = FALSE, defaulted = FALSE;
	DWORD e;

	/* D:P = protected; (A;OICI;FA;;;SID) = full access, inherited by all. */
	snprintf(sddl, sizeof(sddl), "D:P%s", sddl_sids);
	if ((wsddl = win_wide(sddl)) == NULL)
		return QH_ERR_NOMEM;
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(wsddl, SDDL_REVISION_1,
		&sd, NULL) ||
	    !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
		free(wsddl);
		if (sd != NULL)
			LocalFree(sd);
		return QH_ERR_SYSTEM;
	}
	free(wsddl);
	e = SetNamedSecurityInfoW((LPWSTR)wdir, SE_FILE_OBJECT,
	    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL,
	    dacl, NULL);
	LocalFree(sd);
	return e == ERROR_SUCCESS ? 0 : QH_ERR_SYSTEM;
}

/* "(A;OICI;FA;;;S-1-5-21-...)" for the user this process runs as. */
static int
user_ace(char *out, size_t len)
{
	HANDLE tok = NULL;
	union {
		TOKEN_USER user;
		char pad[256];
	} u;
	DWORD n = 0;
	LPWSTR wsid = NULL;
	char sid[192];
	int r = QH_ERR_SYSTEM;

	if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok) &&
	    GetTokenInformation(tok, TokenUser, &u, sizeof(u), &n) &&
	    ConvertSidToStringSidW(u.user.User.Sid, &wsid) &&
	    win_utf8(wsid, sid, sizeof(sid)) == 0) {
		snprintf(out, len, "(A;OICI;FA;;;%s)", sid);
		r = 0;
	}
	if (wsid != NULL)
		LocalFree(wsid);
	if (tok != NULL)
		CloseHandle(tok);
	return r;
}

int
plat_config_create(const char *dir)
{
	char p[MAX_PATH * 4], aces[320];
	wchar_t *w;
	size_t i, len = strlen(dir);
	int r;

	if (len == 0 || len >= sizeof(p))
		return QH_ERR_ARG;
	memcpy(p, dir, len + 1);
	/* Each missing parent; a drive ("C:") or share root exists already. */
	for (i = 1; i <= len; i++) {
		if (p[i] != '\\' && p[i] != '/' && p[i] != '\0')
			continue;
		if (i == 2 && p[1] == ':')
			continue;
		p[i] = '\0';
		if ((w = win_wide(p)) == NULL) {
			qh_say(_("cannot create %s: not a valid name"), p);
			return QH_ERR_SYSTEM;
		}
		if (!CreateDirectoryW(w, NULL) &&
		    GetLastError() != ERROR_ALREADY_EXISTS &&
		    GetLastError() != ERROR_ACCESS_DENIED) {
			qh_say(_("cannot create %s: error %lu"), p,
			    (unsigned long)GetLastError());
			free(w);
			return QH_ERR_SYSTEM;
		}
		free(w);
		p[i] = dir[i];
	}
	if (!plat_is_dir(dir)) {
		qh_say(_("%s is not a directory"), dir);
		return QH_ERR_SYSTEM;
	}
	/*
	 * Only the user (and SYSTEM, which can read everything anyway); the
	 * service's state: SYSTEM and Administrators.
	 */
	if (under_program_data(dir))
		snprintf(aces, sizeof(aces), "(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
	else if (user_ace(aces, sizeof(aces)) == 0)
		strncat(aces, "(A;OICI;FA;;;SY)", sizeof(aces) - strlen(aces) - 1);
	else {
		qh_say(_("cannot find out who we run as, to protect %s"), dir);
		return QH_ERR_SYSTEM;
	}
	if ((w = win_wide(dir)) == NULL)
		return QH_ERR_SYSTEM;
	r = set_private_acl(w, aces);
	free(w);
	if (r != 0) {
		qh_say(_("cannot restrict access to %s to this user: error %lu"), dir,
		    (unsigned long)GetLastError());
		return QH_ERR_SYSTEM;
	}
	return 0;
}

/* Paths. */

int
plat_exe_path(char *out, size_t len)
{
	wchar_t w[MAX_PATH * 2];
	DWORD n = GetModuleFileNameW(NULL, w, MAX_PATH * 2);

	if (n == 0 || n >= MAX_PATH * 2)
		return QH_ERR_NOT_FOUND;
	return win_utf8(w, out, len);
}

const char *
plat_base_name(const char *path)
{
	const char *p, *base = path;

	for (p = path; *p != '\0'; p++)
		if (*p == '/' || *p == '\\' || (*p == ':' && p == path + 1))
			base = p + 1;
	return base;
}

int
plat_path_join(char *out, size_t len, const char *dir, const char *name)
{
	size_t n = strlen(dir);
	int r;

	r = snprintf(out, len, "%s%s%s", dir,
	    n > 0 && (dir[n - 1] == '\\' || dir[n - 1] == '/') ? "" : "\\", name);
	if (r < 0 || (size_t)r >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

int
plat_path_resolve(const char *given, char *out, size_t len, char *why, size_t whylen)
{
	char home[MAX_PATH * 4];

	if (win_home(home, sizeof(home)) != 0)
		snprintf(home, sizeof(home), "C:\\");
	return win_path_map(given, home, out, len, why, whylen);
}

enum plat_kind
plat_path_kind(const char *path)
{
	wchar_t *w = win_wide(path);
	DWORD a;

	if (w == NULL)
		return PLAT_NONE;
	a = GetFileAttributesW(w);
	free(w);
	if (a == INVALID_FILE_ATTRIBUTES)
		return PLAT_NONE;
	/* A symbolic link or junction: a link, whatever it points at. */
	if (a & FILE_ATTRIBUTE_REPARSE_POINT)
		return PLAT_LINK;
	if (a & FILE_ATTRIBUTE_DIRECTORY)
		return PLAT_DIR;
	if (a & FILE_ATTRIBUTE_DEVICE)
		return PLAT_OTHER;
	return PLAT_FILE;
}

int
plat_is_dir(const char *path)
{
	WIN32_FILE_ATTRIBUTE_DATA d;
	wchar_t *w = win_wide(path);
	HANDLE h;
	int dir = 0;

	if (w == NULL)
		return 0;
	if (GetFileAttributesExW(w, GetFileExInfoStandard, &d) &&
	    (d.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
		dir = 1;
		/* A link to a directory: only if its target is there. */
		if (d.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
			h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
			    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
			dir = h != INVALID_HANDLE_VALUE;
			if (h != INVALID_HANDLE_VALUE)
				CloseHandle(h);
		}
	}
	free(w);
	return dir;
}

int
plat_stdin_interactive(void)
{
	DWORD mode;

	return GetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), &mode) != 0;
}

/* The program's entry: arguments as UTF-8, whatever the code page. */

int main(int argc, char **argv);
int wmain(int argc, wchar_t **wargv);

int
wmain(int argc, wchar_t **wargv)
{
	char **argv;
	size_t len;
	int i;

	if ((argv = calloc((size_t)argc + 1, sizeof(*argv))) == NULL)
		return 1;
	for (i = 0; i < argc; i++) {
		len = (size_t)WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, NULL, 0, NULL,
		    NULL);
		if (len == 0 || (argv[i] = malloc(len)) == NULL ||
		    win_utf8(wargv[i], argv[i], len) != 0)
			return 1;
	}
	return main(argc, argv);
}
