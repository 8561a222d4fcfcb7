/*
 * win_conpty: checks what a pseudo console (ConPTY) does under Wine or
 * Windows. It creates one on two anonymous pipes, starts a child (cmd.exe
 * by default) with STARTUPINFOEX and PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE
 * and no inherited handles, types two lines into the input pipe and
 * reports what came back on the output pipe and the child's exit status.
 *
 * usage: win_conpty [--usestd|--usecon] [--alloc|--free-alloc] [--swap] [--cmd CMDLINE]
 * [--out FILE] win_conpty --detach|--nowindow [--out FILE] ...
 * --usestd   also sets STARTF_USESTDHANDLES with NULL handles, so the child
 *            cannot pick up our own standard handles
 * --alloc    calls AllocConsole() first (fails when we have a console)
 * --free-alloc  calls FreeConsole(), then AllocConsole(); both keep our
 *            own standard handles (file or pipe) in place
 * --usecon   passes the handles AllocConsole() installed with
 *            STARTF_USESTDHANDLES (needs --alloc or --free-alloc)
 * --swap     makes console handles our standard handles while
 *            CreateProcess runs: copies of AllocConsole()'s with --alloc or
 *            --free-alloc, else CONIN$/CONOUT$ opened anew
 * --detach   runs the check in a copy of itself started with
 *            DETACHED_PROCESS (no console); --nowindow with CREATE_NO_WINDOW
 * --out      writes the report to FILE instead of stdout
 */
/* ConPTY's types are declared for Windows 10 1809 (RS5) and later. */
#define NTDDI_VERSION 0x0A000006
#include <windows.h>

#include <stdio.h>
#include <string.h>

/*
 * Looked up at run time: importing them would keep the exe from starting
 * at all on Windows older than 10 1809.
 */
typedef HRESULT(WINAPI *create_pc_fn)(COORD, HANDLE, HANDLE, DWORD, HPCON *);
typedef void(WINAPI *close_pc_fn)(HPCON);

static HANDLE out_r;
static char got[65536];
static volatile LONG got_len;
static FILE *report;
static int swap;	    /* --swap: console std handles around CreateProcess */
static HANDLE alloc_std[3]; /* the handles AllocConsole() installed */
static int usecon;	    /* --usecon: pass them with STARTF_USESTDHANDLES */

/* Collects everything the pseudo console writes until the pipe closes. */
static DWORD WINAPI
reader(LPVOID arg)
{
	char buf[4096];
	DWORD n;

	(void)arg;
	while (ReadFile(out_r, buf, sizeof(buf), &n, NULL) && n > 0) {
		if (got_len + (LONG)n < (LONG)sizeof(got) - 1) {
			memcpy(got + got_len, buf, n);
			InterlockedExchangeAdd(&got_len, (LONG)n);
		}
	}
	return 0;
}

/* Prints the bytes read so far, escaping control characters. */
static void
dump(const char *what)
{
	LONG i;

	fprintf(report, "%s: %ld bytes: \"", what, (long)got_len);
	for (i = 0; i < got_len && i < 1500; i++) {
		unsigned char c = (unsigned char)got[i];
		if (c == '\\')
			fputs("\\\\", report);
		else if (c >= 32 && c < 127)
			fputc(c, report);
		else if (c == '\r')
			fputs("\\r", report);
		else if (c == '\n')
			fputs("\\n", report);
		else
			fprintf(report, "\\x%02x", c);
	}
	fprintf(report, "\"\n");
}

/* Says whether we have a console and what our standard handles are. */
static void
describe_self(void)
{
	DWORD list[16], n, i;
	static const char *types[] = { "unknown", "disk", "char", "pipe" };
	static const DWORD std[] = { STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
		STD_ERROR_HANDLE };

	n = GetConsoleProcessList(list, 16);
	fprintf(report, "self: GetConsoleWindow=%p GetConsoleProcessList=%lu",
	    (void *)GetConsoleWindow(), (unsigned long)n);
	for (i = 0; i < 3; i++) {
		HANDLE h = GetStdHandle(std[i]);
		DWORD t = h == NULL || h == INVALID_HANDLE_VALUE ? 0 : GetFileType(h) & 3;
		fprintf(report, " std%lu=%s", (unsigned long)i,
		    h == NULL ? "null" : types[t]);
	}
	fprintf(report, "\n");
}

/* Runs the whole check; returns 0 when the child's output arrived. */
static int
check(const char *cmdline, int usestd)
{
	HANDLE in_r = NULL, in_w = NULL, out_w = NULL, th;
	HPCON pc = NULL;
	HRESULT hr;
	STARTUPINFOEXA si;
	PROCESS_INFORMATION pi;
	SIZE_T size = 0;
	COORD dim = { 80, 25 };
	DWORD code = 12345, n, w;
	char cmd[1024], line[64], *p;
	HANDLE saved[3] = { NULL, NULL, NULL }, con[2] = { NULL, NULL };

	if (!CreatePipe(&in_r, &in_w, NULL, 0) || !CreatePipe(&out_r, &out_w, NULL, 0))
		return 1;
	HMODULE k32 = GetModuleHandleA("kernel32.dll");
	create_pc_fn create_pc =
	    (create_pc_fn)(void *)GetProcAddress(k32, "CreatePseudoConsole");
	close_pc_fn close_pc =
	    (close_pc_fn)(void *)GetProcAddress(k32, "ClosePseudoConsole");

	if (create_pc == NULL || close_pc == NULL) {
		fprintf(report, "no CreatePseudoConsole in kernel32\n");
		return 1;
	}
	hr = create_pc(dim, in_r, out_w, 0, &pc);
	fprintf(report, "CreatePseudoConsole: hr=0x%08lx\n", (unsigned long)hr);
	if (FAILED(hr))
		return 1;

	memset(&si, 0, sizeof(si));
	si.StartupInfo.cb = sizeof(si);
	if (usestd || usecon)
		si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
	if (usecon) {
		si.StartupInfo.hStdInput = alloc_std[0];
		si.StartupInfo.hStdOutput = alloc_std[1];
		si.StartupInfo.hStdError = alloc_std[2];
	}
	InitializeProcThreadAttributeList(NULL, 1, 0, &size);
	si.lpAttributeList = HeapAlloc(GetProcessHeap(), 0, size);
	if (!InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &size) ||
	    !UpdateProcThreadAttribute(si.lpAttributeList, 0,
		PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, pc, sizeof(pc), NULL, NULL))
		return 1;
	snprintf(cmd, sizeof(cmd), "%s", cmdline);
	if (swap) {
		saved[0] = GetStdHandle(STD_INPUT_HANDLE);
		saved[1] = GetStdHandle(STD_OUTPUT_HANDLE);
		saved[2] = GetStdHandle(STD_ERROR_HANDLE);
		if (alloc_std[1] != NULL) {
			/* The handles AllocConsole() gave us, kept aside. */
			con[0] = DuplicateHandle(GetCurrentProcess(), alloc_std[0],
				     GetCurrentProcess(), &con[0], 0, FALSE,
				     DUPLICATE_SAME_ACCESS)
			    ? con[0]
			    : INVALID_HANDLE_VALUE;
			con[1] = DuplicateHandle(GetCurrentProcess(), alloc_std[1],
				     GetCurrentProcess(), &con[1], 0, FALSE,
				     DUPLICATE_SAME_ACCESS)
			    ? con[1]
			    : INVALID_HANDLE_VALUE;
		} else {
			con[0] = CreateFileA("CONIN$", GENERIC_READ | GENERIC_WRITE,
			    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0,
			    NULL);
			con[1] = CreateFileA("CONOUT$", GENERIC_READ | GENERIC_WRITE,
			    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0,
			    NULL);
		}
		fprintf(report, "swap: %s: in %s, out %s\n",
		    alloc_std[1] != NULL ? "AllocConsole's handles" : "CONIN$/CONOUT$",
		    con[0] == INVALID_HANDLE_VALUE ? "failed" : "ok",
		    con[1] == INVALID_HANDLE_VALUE ? "failed" : "ok");
		SetStdHandle(STD_INPUT_HANDLE, con[0]);
		SetStdHandle(STD_OUTPUT_HANDLE, con[1]);
		SetStdHandle(STD_ERROR_HANDLE, con[1]);
	}
	n = CreateProcessA(NULL, cmd, NULL, NULL, FALSE, EXTENDED_STARTUPINFO_PRESENT,
	    NULL, NULL, &si.StartupInfo, &pi);
	if (swap) {
		SetStdHandle(STD_INPUT_HANDLE, saved[0]);
		SetStdHandle(STD_OUTPUT_HANDLE, saved[1]);
		SetStdHandle(STD_ERROR_HANDLE, saved[2]);
		CloseHandle(con[0]);
		CloseHandle(con[1]);
	}
	if (!n) {
		fprintf(report, "CreateProcess: error %lu\n",
		    (unsigned long)GetLastError());
		return 1;
	}
	fprintf(report, "child: pid %lu (%s)\n", (unsigned long)pi.dwProcessId, cmdline);
	/* The pseudo console holds its own copies of these ends. */
	CloseHandle(in_r);
	CloseHandle(out_w);
	th = CreateThread(NULL, 0, reader, NULL, 0, NULL);

	Sleep(1500);
	dump("output before input");
	/* A terminal sends CR for Enter; a LF would be typed as ^J. */
	snprintf(line, sizeof(line), "echo marker-%d\r", 4242);
	WriteFile(in_w, line, (DWORD)strlen(line), &w, NULL);
	Sleep(1500);
	dump("output after 'echo marker-4242'");
	WriteFile(in_w, "exit 7\r", 7, &w, NULL);
	n = WaitForSingleObject(pi.hProcess, 5000);
	GetExitCodeProcess(pi.hProcess, &code);
	fprintf(report, "child: %s, exit code %lu\n",
	    n == WAIT_OBJECT_0 ? "ended" : "still running after 5 s",
	    (unsigned long)code);
	if (n != WAIT_OBJECT_0)
		TerminateProcess(pi.hProcess, 9);
	close_pc(pc);
	CloseHandle(in_w);
	WaitForSingleObject(th, 2000);
	dump("output at the end");
	/* Once as the typed command, once as what echo printed. */
	p = strstr(got, "marker-4242");
	fprintf(report, "input reached the child and its output came back: %s\n",
	    p != NULL && strstr(p + 1, "marker-4242") != NULL ? "yes" : "no");
	return got_len > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *cmdline = "cmd.exe", *out = NULL;
	DWORD flags = 0, code = 1;
	int usestd = 0, alloc = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--usestd") == 0)
			usestd = 1;
		else if (strcmp(argv[i], "--alloc") == 0)
			alloc = 1;
		else if (strcmp(argv[i], "--free-alloc") == 0)
			alloc = 2;
		else if (strcmp(argv[i], "--swap") == 0)
			swap = 1;
		else if (strcmp(argv[i], "--usecon") == 0)
			usecon = 1;
		else if (strcmp(argv[i], "--detach") == 0)
			flags = DETACHED_PROCESS;
		else if (strcmp(argv[i], "--nowindow") == 0)
			flags = CREATE_NO_WINDOW;
		else if (strcmp(argv[i], "--cmd") == 0 && i + 1 < argc)
			cmdline = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
	}
	report = stdout;
	if (flags != 0) {
		/* Run the same check in a copy without a console of its own. */
		STARTUPINFOA si;
		PROCESS_INFORMATION pi;
		char cmd[2048];

		snprintf(cmd, sizeof(cmd), "\"%s\"%s%s%s --cmd \"%s\" --out \"%s\"",
		    argv[0],
		    usestd	 ? " --usestd"
			: usecon ? " --usecon"
				 : "",
		    swap ? " --swap" : "",
		    alloc == 2	? " --free-alloc"
			: alloc ? " --alloc"
				: "",
		    cmdline, out != NULL ? out : "conpty-report.txt");
		memset(&si, 0, sizeof(si));
		si.cb = sizeof(si);
		if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, flags, NULL, NULL, &si,
			&pi))
			return 1;
		WaitForSingleObject(pi.hProcess, 30000);
		GetExitCodeProcess(pi.hProcess, &code);
		printf("copy started with %s exited %lu; report in %s\n",
		    flags == DETACHED_PROCESS ? "DETACHED_PROCESS" : "CREATE_NO_WINDOW",
		    (unsigned long)code, out != NULL ? out : "conpty-report.txt");
		return (int)code;
	}
	if (out != NULL && (report = fopen(out, "w")) == NULL)
		return 1;
	if (alloc == 2)
		fprintf(report, "FreeConsole: %s\n", FreeConsole() ? "ok" : "failed");
	if (alloc) {
		HANDLE h0 = GetStdHandle(STD_INPUT_HANDLE);
		HANDLE h1 = GetStdHandle(STD_OUTPUT_HANDLE);
		HANDLE h2 = GetStdHandle(STD_ERROR_HANDLE);

		fprintf(report, "AllocConsole: %s\n", AllocConsole() ? "ok" : "failed");
		alloc_std[0] = GetStdHandle(STD_INPUT_HANDLE);
		alloc_std[1] = GetStdHandle(STD_OUTPUT_HANDLE);
		alloc_std[2] = GetStdHandle(STD_ERROR_HANDLE);
		/* Keep our own stdio where it was (a file or pipe). */
		SetStdHandle(STD_INPUT_HANDLE, h0);
		SetStdHandle(STD_OUTPUT_HANDLE, h1);
		SetStdHandle(STD_ERROR_HANDLE, h2);
	}
	describe_self();
	i = check(cmdline, usestd);
	fclose(report);
	printf("stdout after the check still works\n");
	fflush(stdout);
	return i;
}
