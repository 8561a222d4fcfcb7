/*
 * win_console: reports how the process was started as the agent will see
 * it: GetConsoleProcessList() (1 = a console of its own, as after a
 * double-click; 2 or more = shared with cmd.exe), the console window and
 * the kinds of its standard handles; and whether it runs under Wine.
 *
 * usage: win_console [--out FILE]
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	static const char *types[] = { "unknown", "disk", "char", "pipe" };
	static const DWORD std[] = { STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
		STD_ERROR_HANDLE };
	const char *(*wine_version)(void);
	DWORD list[16], n, i, mode;
	FILE *f = stdout;

	if (argc == 3 && strcmp(argv[1], "--out") == 0 &&
	    (f = fopen(argv[2], "w")) == NULL)
		return 1;
	n = GetConsoleProcessList(list, 16);
	fprintf(f, "GetConsoleProcessList=%lu (", (unsigned long)n);
	for (i = 0; i < n && i < 16; i++)
		fprintf(f, "%s%lu", i ? " " : "", (unsigned long)list[i]);
	fprintf(f, ") self=%lu GetConsoleWindow=%p", GetCurrentProcessId(),
	    (void *)GetConsoleWindow());
	for (i = 0; i < 3; i++) {
		HANDLE h = GetStdHandle(std[i]);
		DWORD t = h == NULL || h == INVALID_HANDLE_VALUE ? 0 : GetFileType(h) & 3;
		fprintf(f, " std%lu=%s%s", (unsigned long)i,
		    h == NULL ? "null" : types[t],
		    h != NULL && GetConsoleMode(h, &mode) ? "(console)" : "");
	}
	wine_version = (const char *(*)(void))(
	    void *)GetProcAddress(GetModuleHandleA("ntdll.dll"), "wine_get_version");
	fprintf(f, " wine=%s\n", wine_version != NULL ? wine_version() : "no");
	if (f != stdout)
		fclose(f);
	return 0;
}
