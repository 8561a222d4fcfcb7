/*
 * win_reg: prints the registry facts `qh-agent info` will read, to see what
 * Wine (or Windows) has: the Windows version keys, the .NET Framework NDP
 * tree, and the Uninstall keys in the 64-bit and 32-bit views and HKCU.
 *
 * usage: win_reg [--all]   (--all lists every installed program)
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

static int all;

/* Prints value NAME of an open key as text, whatever its type. */
static void
show(HKEY k, const char *indent, const char *name)
{
	char buf[512];
	DWORD type, size = sizeof(buf) - 1;

	if (RegQueryValueExA(k, name, NULL, &type, (BYTE *)buf, &size) != ERROR_SUCCESS) {
		printf("%s%s: (absent)\n", indent, name);
		return;
	}
	if (type == REG_DWORD)
		printf("%s%s: %lu (REG_DWORD)\n", indent, name, *(unsigned long *)buf);
	else {
		buf[size] = '\0';
		printf("%s%s: \"%s\"\n", indent, name, buf);
	}
}

/* Walks the NDP tree, printing each key that has a Version or Release. */
static void
walk_ndp(HKEY parent, const char *path, int depth)
{
	char name[256], sub[512];
	DWORD i, n;
	HKEY k;

	for (i = 0;; i++) {
		n = sizeof(name);
		if (RegEnumKeyExA(parent, i, name, &n, NULL, NULL, NULL, NULL) !=
		    ERROR_SUCCESS)
			break;
		snprintf(sub, sizeof(sub), "%s\\%s", path, name);
		if (RegOpenKeyExA(parent, name, 0, KEY_READ, &k) != ERROR_SUCCESS)
			continue;
		printf("  %s\n", sub);
		if (RegQueryValueExA(k, "Version", NULL, NULL, NULL, NULL) == 0)
			show(k, "    ", "Version");
		if (RegQueryValueExA(k, "Release", NULL, NULL, NULL, NULL) == 0)
			show(k, "    ", "Release");
		if (depth < 3)
			walk_ndp(k, sub, depth + 1);
		RegCloseKey(k);
	}
}

/* Counts (and with --all lists) the programs under one Uninstall key. */
static void
uninstall(HKEY root, const char *label, REGSAM view)
{
	const char *path = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall";
	char name[256], disp[256];
	DWORD i, n, size, total = 0, named = 0;
	HKEY k, e;

	if (RegOpenKeyExA(root, path, 0, KEY_READ | view, &k) != 0) {
		printf("%s: no Uninstall key\n", label);
		return;
	}
	for (i = 0;; i++) {
		n = sizeof(name);
		if (RegEnumKeyExA(k, i, name, &n, NULL, NULL, NULL, NULL) != 0)
			break;
		total++;
		if (RegOpenKeyExA(k, name, 0, KEY_READ | view, &e) != 0)
			continue;
		size = sizeof(disp);
		if (RegQueryValueExA(e, "DisplayName", NULL, NULL, (BYTE *)disp, &size) ==
		    0) {
			named++;
			if (all || named <= 3) {
				printf("  %s\n", name);
				show(e, "    ", "DisplayName");
				show(e, "    ", "DisplayVersion");
				show(e, "    ", "Publisher");
			}
		}
		RegCloseKey(e);
	}
	RegCloseKey(k);
	printf("%s: %lu subkeys, %lu with DisplayName\n", label, (unsigned long)total,
	    (unsigned long)named);
}

int
main(int argc, char **argv)
{
	HKEY k;
	BOOL wow = FALSE;

	LONG(WINAPI * rtl_get_version)(OSVERSIONINFOW *);
	OSVERSIONINFOW v;

	all = argc > 1 && strcmp(argv[1], "--all") == 0;
	IsWow64Process(GetCurrentProcess(), &wow);
	printf("IsWow64Process: %d\n", (int)wow);
	/* GetVersionEx lies without a manifest; RtlGetVersion does not. */
	rtl_get_version = (LONG(WINAPI *)(OSVERSIONINFOW *))(
	    void *)GetProcAddress(GetModuleHandleA("ntdll.dll"), "RtlGetVersion");
	memset(&v, 0, sizeof(v));
	v.dwOSVersionInfoSize = sizeof(v);
	if (rtl_get_version != NULL && rtl_get_version(&v) == 0)
		printf("RtlGetVersion: %lu.%lu build %lu\n",
		    (unsigned long)v.dwMajorVersion, (unsigned long)v.dwMinorVersion,
		    (unsigned long)v.dwBuildNumber);
	if (RegOpenKeyExA(HKEY_LOCAL_MACHINE,
		"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", 0, KEY_READ,
		&k) == 0) {
		printf("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\n");
		show(k, "  ", "ProductName");
		show(k, "  ", "EditionID");
		show(k, "  ", "CurrentVersion");
		show(k, "  ", "CurrentMajorVersionNumber");
		show(k, "  ", "CurrentMinorVersionNumber");
		show(k, "  ", "CurrentBuild");
		show(k, "  ", "CurrentBuildNumber");
		show(k, "  ", "DisplayVersion");
		show(k, "  ", "ReleaseId");
		show(k, "  ", "UBR");
		show(k, "  ", "InstallationType");
		RegCloseKey(k);
	}
	printf("HKLM\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP:\n");
	if (RegOpenKeyExA(HKEY_LOCAL_MACHINE,
		"SOFTWARE\\Microsoft\\NET Framework Setup\\NDP", 0, KEY_READ, &k) == 0) {
		walk_ndp(k, "NDP", 0);
		RegCloseKey(k);
	} else
		printf("  (absent)\n");
	uninstall(HKEY_LOCAL_MACHINE, "HKLM Uninstall, KEY_WOW64_64KEY", KEY_WOW64_64KEY);
	uninstall(HKEY_LOCAL_MACHINE, "HKLM Uninstall, KEY_WOW64_32KEY", KEY_WOW64_32KEY);
	uninstall(HKEY_CURRENT_USER, "HKCU Uninstall", 0);
	fflush(stdout);
	return 0;
}
