/*
 * The workstation facts on Windows (agent_info_json in agent.h): the
 * members the Linux agent writes, where they mean the same (os, kernel,
 * arch, hostname, user, cpu_model, cpu_cores, memory_*, disks,
 * uptime_seconds, locale, timezone, interfaces), and what the support
 * policy's installation section asks of a Windows PC: edition, version
 * and build, whether the user is an administrator, .NET Framework,
 * installed programs with CRM products first, Office's bitness, TAPI
 * providers, TWAIN and WIA scanner drivers and the default printer.
 * The registry's part is regfacts.c, read here through the real
 * registry. Thread-safe: the info action runs it in a worker thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>
#include <windows.h>
#include <winspool.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/json.h"
#include "agent.h"
#include "win32/portable.h"
#include "win32/win.h"

#define VALUE_MAX  1024 /* one string from the system, as UTF-8 */
#define DISKS_MAX  26
#define IFACES_MAX 64
#define ADDRS_MAX  32
#define TWAIN_MAX  64

/* The registry as a struct reg_src. */

static void *
r_open(void *arg QH_UNUSED, enum reg_root root, enum reg_view view, const char *path)
{
	REGSAM sam = KEY_READ;
	wchar_t *w = win_wide(path);
	HKEY k = NULL;
	LONG e;

	if (w == NULL)
		return NULL;
	if (view == REG_VIEW_64)
		sam |= KEY_WOW64_64KEY;
	else if (view == REG_VIEW_32)
		sam |= KEY_WOW64_32KEY;
	e = RegOpenKeyExW(root == REG_ROOT_HKLM ? HKEY_LOCAL_MACHINE : HKEY_CURRENT_USER,
	    w, 0, sam, &k);
	free(w);
	return e == ERROR_SUCCESS ? (void *)k : NULL;
}

static int
r_subkey(void *arg QH_UNUSED, void *key, unsigned i, char *name, size_t len)
{
	wchar_t w[256];
	DWORD n = 256;
	LONG e = RegEnumKeyExW((HKEY)key, i, w, &n, NULL, NULL, NULL, NULL);

	if (e == ERROR_NO_MORE_ITEMS)
		return 1;
	if (e != ERROR_SUCCESS)
		return -1;
	return win_utf8(w, name, len) == 0 ? 0 : -1;
}

static int
r_str(void *arg QH_UNUSED, void *key, const char *name, char *out, size_t len)
{
	wchar_t *wn = win_wide(name), w[VALUE_MAX];
	DWORD n = sizeof(w);
	LONG e;

	if (wn == NULL)
		return QH_ERR_NOMEM;
	e = RegGetValueW((HKEY)key, NULL, wn, RRF_RT_REG_SZ, NULL, w, &n);
	free(wn);
	if (e != ERROR_SUCCESS)
		return QH_ERR_NOT_FOUND;
	return win_utf8(w, out, len);
}

static int
r_dword(void *arg QH_UNUSED, void *key, const char *name, uint32_t *out)
{
	wchar_t *wn = win_wide(name);
	DWORD v = 0, n = sizeof(v);
	LONG e;

	if (wn == NULL)
		return QH_ERR_NOMEM;
	e = RegGetValueW((HKEY)key, NULL, wn, RRF_RT_REG_DWORD, NULL, &v, &n);
	free(wn);
	if (e != ERROR_SUCCESS)
		return QH_ERR_NOT_FOUND;
	*out = v;
	return 0;
}

static void
r_close(void *arg QH_UNUSED, void *key)
{
	RegCloseKey((HKEY)key);
}

static const struct reg_src registry = {
	.arg = NULL,
	.open = r_open,
	.subkey = r_subkey,
	.str = r_str,
	.dword = r_dword,
	.close = r_close,
};

/* The system. */

/* The real version numbers: RtlGetVersion does not lie for compatibility. */
static void
real_version(struct win_version *v)
{
	typedef LONG(WINAPI * rtl_fn)(OSVERSIONINFOW *);
	OSVERSIONINFOW vi;
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	rtl_fn rtl =
	    ntdll != NULL ? (rtl_fn)(void *)GetProcAddress(ntdll, "RtlGetVersion") : NULL;

	memset(v, 0, sizeof(*v));
	memset(&vi, 0, sizeof(vi));
	vi.dwOSVersionInfoSize = sizeof(vi);
	if (rtl != NULL && rtl(&vi) == 0) {
		v->major = vi.dwMajorVersion;
		v->minor = vi.dwMinorVersion;
		v->build = vi.dwBuildNumber;
	}
}

static const char *
arch(void)
{
	SYSTEM_INFO si;

	GetNativeSystemInfo(&si);
	switch (si.wProcessorArchitecture) {
	case PROCESSOR_ARCHITECTURE_AMD64:
		return "x86_64";
	case PROCESSOR_ARCHITECTURE_ARM64:
		return "aarch64";
	case PROCESSOR_ARCHITECTURE_INTEL:
		return "i686";
	default:
		return "unknown";
	}
}

/* Whether the user is in Administrators, and whether this process is elevated. */
static void
put_admin(struct qh_json *j)
{
	SID_IDENTIFIER_AUTHORITY nt = { SECURITY_NT_AUTHORITY };
	TOKEN_ELEVATION el;
	union {
		TOKEN_GROUPS g;
		char pad[16384];
	} u;
	HANDLE tok = NULL;
	PSID admins = NULL;
	DWORD n = 0, i;
	int member = 0, elevated = 0;

	if (AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID,
		DOMAIN_ALIAS_RID_ADMINS, 0, 0, 0, 0, 0, 0, &admins) &&
	    OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) {
		/* UAC keeps the group as deny-only until elevation: still a member. */
		if (GetTokenInformation(tok, TokenGroups, &u, sizeof(u), &n))
			for (i = 0; i < u.g.GroupCount; i++)
				if (EqualSid(u.g.Groups[i].Sid, admins))
					member = 1;
		if (GetTokenInformation(tok, TokenElevation, &el, sizeof(el), &n))
			elevated = el.TokenIsElevated != 0;
	}
	if (tok != NULL)
		CloseHandle(tok);
	if (admins != NULL)
		FreeSid(admins);
	qh_json_kv_bool(j, "admin", member || elevated);
	qh_json_kv_bool(j, "elevated", elevated);
}

static void
put_disks(struct qh_json *j)
{
	wchar_t drives[DISKS_MAX * 4 + 2], *d, fs[64];
	ULARGE_INTEGER avail, total;
	char mount[16], fsname[64];
	UINT type;

	qh_json_key(j, "disks");
	qh_json_begin_array(j);
	if (GetLogicalDriveStringsW(DISKS_MAX * 4 + 1, drives) == 0) {
		qh_json_end_array(j);
		return;
	}
	for (d = drives; *d != L'\0'; d += wcslen(d) + 1) {
		type = GetDriveTypeW(d);
		if (type != DRIVE_FIXED && type != DRIVE_REMOTE &&
		    type != DRIVE_REMOVABLE)
			continue;
		/* No medium in a removable drive: no size, not listed. */
		if (!GetDiskFreeSpaceExW(d, &avail, &total, NULL) || total.QuadPart == 0)
			continue;
		if (!GetVolumeInformationW(d, NULL, 0, NULL, NULL, NULL, fs, 64) ||
		    win_utf8(fs, fsname, sizeof(fsname)) != 0)
			snprintf(fsname, sizeof(fsname), "?");
		if (win_utf8(d, mount, sizeof(mount)) != 0)
			continue;
		qh_json_begin_object(j);
		qh_json_kv_str(j, "mount", mount);
		qh_json_kv_str(j, "fs", fsname);
		qh_json_kv_int(j, "size_bytes", (int64_t)total.QuadPart);
		qh_json_kv_int(j, "free_bytes", (int64_t)avail.QuadPart);
		qh_json_kv_str(j, "type",
		    type == DRIVE_REMOTE	  ? "network"
			: type == DRIVE_REMOVABLE ? "removable"
						  : "fixed");
		qh_json_end_object(j);
	}
	qh_json_end_array(j);
}

static void
put_interfaces(struct qh_json *j)
{
	IP_ADAPTER_ADDRESSES *all = NULL, *a;
	IP_ADAPTER_UNICAST_ADDRESS *u;
	ULONG size = 32768, e;
	char name[VALUE_MAX], desc[VALUE_MAX], addr[INET6_ADDRSTRLEN], text[80];
	int n = 0, m, tries;

	qh_json_key(j, "interfaces");
	qh_json_begin_array(j);
	for (tries = 0; tries < 3; tries++) {
		if ((all = malloc(size)) == NULL)
			break;
		e = GetAdaptersAddresses(AF_UNSPEC,
		    GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
			GAA_FLAG_SKIP_DNS_SERVER,
		    NULL, all, &size);
		if (e == ERROR_SUCCESS)
			break;
		free(all);
		all = NULL;
		if (e != ERROR_BUFFER_OVERFLOW)
			break;
	}
	for (a = all; a != NULL && n < IFACES_MAX && qh_json_error(j) == 0; a = a->Next) {
		if (win_utf8(a->FriendlyName, name, sizeof(name)) != 0)
			continue;
		qh_json_begin_object(j);
		qh_json_kv_str(j, "name", name);
		if (a->Description != NULL &&
		    win_utf8(a->Description, desc, sizeof(desc)) == 0)
			qh_json_kv_str(j, "description", desc);
		qh_json_kv_str(j, "state",
		    a->OperStatus == IfOperStatusUp ? "up" : "down");
		qh_json_key(j, "addresses");
		qh_json_begin_array(j);
		for (u = a->FirstUnicastAddress, m = 0; u != NULL && m < ADDRS_MAX;
		     u = u->Next) {
			if (getnameinfo(u->Address.lpSockaddr, u->Address.iSockaddrLength,
				addr, sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
				continue;
			snprintf(text, sizeof(text), "%s/%u", addr,
			    (unsigned)u->OnLinkPrefixLength);
			qh_json_str(j, text);
			m++;
		}
		qh_json_end_array(j);
		qh_json_end_object(j);
		n++;
	}
	free(all);
	qh_json_end_array(j);
}

/* TWAIN data sources: the .ds files in %WINDIR%\twain_32 and twain_64. */
static void
put_twain(struct qh_json *j)
{
	static const wchar_t *const dirs[] = { L"twain_32", L"twain_64" };
	wchar_t win[MAX_PATH], pat[MAX_PATH * 2];
	WIN32_FIND_DATAW fd, fd2;
	HANDLE h, h2;
	char name[VALUE_MAX], text[VALUE_MAX + 16];
	int i, n = 0;

	qh_json_begin_array(j);
	if (GetWindowsDirectoryW(win, MAX_PATH) == 0) {
		qh_json_end_array(j);
		return;
	}
	for (i = 0; i < 2; i++) {
		/* Each vendor has a folder with its .ds files in it. */
		swprintf(pat, MAX_PATH * 2, L"%ls\\%ls\\*", win, dirs[i]);
		if ((h = FindFirstFileW(pat, &fd)) == INVALID_HANDLE_VALUE)
			continue;
		do {
			if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
			    fd.cFileName[0] == L'.')
				continue;
			swprintf(pat, MAX_PATH * 2, L"%ls\\%ls\\%ls\\*.ds", win, dirs[i],
			    fd.cFileName);
			if ((h2 = FindFirstFileW(pat, &fd2)) == INVALID_HANDLE_VALUE)
				continue;
			do {
				if (n >= TWAIN_MAX ||
				    win_utf8(fd2.cFileName, name, sizeof(name)) != 0)
					continue;
				snprintf(text, sizeof(text), "%s (%s)", name,
				    i == 0 ? "32-bit" : "64-bit");
				qh_json_str(j, text);
				n++;
			} while (FindNextFileW(h2, &fd2));
			FindClose(h2);
		} while (FindNextFileW(h, &fd));
		FindClose(h);
	}
	qh_json_end_array(j);
}

static void
put_printer(struct qh_json *j)
{
	wchar_t w[512];
	DWORD n = 512;
	char name[VALUE_MAX];

	if (GetDefaultPrinterW(w, &n) && win_utf8(w, name, sizeof(name)) == 0)
		qh_json_kv_str(j, "default_printer", name);
	else
		qh_json_kv_null(j, "default_printer");
}

int
agent_info_json(struct qh_buf *b)
{
	struct win_version ver;
	struct qh_json j;
	MEMORYSTATUSEX mem;
	DYNAMIC_TIME_ZONE_INFORMATION tz;
	wchar_t w[512];
	DWORD n;
	char host[VALUE_MAX], user[VALUE_MAX], cpu[VALUE_MAX], locale[128], zone[256];
	void *k;
	int r;

	real_version(&ver);
	n = 512;
	if (!GetComputerNameExW(ComputerNameDnsHostname, w, &n) ||
	    win_utf8(w, host, sizeof(host)) != 0)
		host[0] = '\0';
	n = 512;
	if (!GetUserNameW(w, &n) || win_utf8(w, user, sizeof(user)) != 0)
		user[0] = '\0';
	cpu[0] = '\0';
	if ((k = r_open(NULL, REG_ROOT_HKLM, REG_VIEW_64,
		 "HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0")) != NULL) {
		if (r_str(NULL, k, "ProcessorNameString", cpu, sizeof(cpu)) != 0)
			cpu[0] = '\0';
		r_close(NULL, k);
	}
	memset(&mem, 0, sizeof(mem));
	mem.dwLength = sizeof(mem);
	(void)GlobalMemoryStatusEx(&mem);
	if (GetUserDefaultLocaleName(w, 512) == 0 ||
	    win_utf8(w, locale, sizeof(locale)) != 0)
		snprintf(locale, sizeof(locale), "?");
	memset(&tz, 0, sizeof(tz));
	if (GetDynamicTimeZoneInformation(&tz) == TIME_ZONE_ID_INVALID ||
	    win_utf8(tz.TimeZoneKeyName[0] != L'\0' ? tz.TimeZoneKeyName
						    : tz.StandardName,
		zone, sizeof(zone)) != 0)
		zone[0] = '\0';

	qh_json_init(&j, b);
	qh_json_begin_object(&j);
	regfacts_os(&j, &registry, &ver);
	qh_json_kv_str(&j, "arch", arch());
	qh_json_kv_str(&j, "hostname", host);
	qh_json_kv_str(&j, "user", user[0] != '\0' ? user : NULL);
	put_admin(&j);
	qh_json_kv_str(&j, "cpu_model", cpu[0] != '\0' ? cpu : arch());
	qh_json_kv_int(&j, "cpu_cores",
	    (int64_t)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS));
	qh_json_kv_int(&j, "memory_total_bytes", (int64_t)mem.ullTotalPhys);
	qh_json_kv_int(&j, "memory_available_bytes", (int64_t)mem.ullAvailPhys);
	put_disks(&j);
	qh_json_kv_int(&j, "uptime_seconds", (int64_t)(GetTickCount64() / 1000));
	qh_json_kv_str(&j, "locale", locale);
	qh_json_kv_str(&j, "timezone", zone[0] != '\0' ? zone : NULL);
	put_interfaces(&j);
	regfacts_dotnet(&j, &registry);
	if ((r = regfacts_programs(&j, &registry)) != 0)
		return r;
	regfacts_office(&j, &registry);
	regfacts_tapi(&j, &registry);
	qh_json_key(&j, "scanners");
	qh_json_begin_object(&j);
	qh_json_key(&j, "twain");
	put_twain(&j);
	qh_json_key(&j, "wia");
	regfacts_wia(&j, &registry);
	qh_json_end_object(&j);
	put_printer(&j);
	qh_json_end_object(&j);
	return qh_json_finish(&j);
}
