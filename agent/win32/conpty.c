/*
 * Shells on Windows (agent/proc.h): cmd.exe (%COMSPEC%) or PowerShell on
 * a pseudo console (ConPTY, Windows 10 1809 and later). The functions are
 * looked up at run time, so that the exe starts on older Windows too and
 * only attach is refused there, with the reason.
 *
 * The child is created suspended with STARTUPINFOEX and the pseudo
 * console attribute, no handles inherited, assigned to the task's Job
 * Object and only then resumed: everything it starts is in the job, which
 * is ended when the shell ends or the technician leaves (a shell's
 * programs end with it, as on POSIX). Its exit is reported by a thread
 * pool wait through a uv_async_t; the pseudo console is closed in a
 * worker thread, because ClosePseudoConsole waits until its last output
 * was read, and the loop is what reads it.
 *
 * Wine 8 hands the child of a pseudo console the standard handles its
 * parent has while CreateProcess runs, and these reach the pseudo console
 * only if they are console handles Wine made itself
 * (docs/windows-notes.md, a.). Under Wine only, the agent therefore gets
 * a console of its own (win_wine_console_prepare) and sets those handles
 * around CreateProcess. Windows needs none of that.
 */
/* ConPTY's declarations come with Windows 10 1809 (NTDDI_WIN10_RS5). */
#define NTDDI_VERSION 0x0A000006

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <io.h>
#include <windows.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "task.h"
#include "win32/portable.h"
#include "win32/win.h"

typedef HRESULT(WINAPI *create_pc_fn)(COORD, HANDLE, HANDLE, DWORD, HPCON *);
typedef HRESULT(WINAPI *resize_pc_fn)(HPCON, COORD);
typedef void(WINAPI *close_pc_fn)(HPCON);

static create_pc_fn create_pc;
static resize_pc_fn resize_pc;
static close_pc_fn close_pc;

/* Wine: the console handles AllocConsole gave us, for the children. */
static HANDLE wine_con[2];

/* 1 if this Windows has pseudo consoles. */
static int
conpty_load(void)
{
	HMODULE k32;

	if (create_pc != NULL)
		return 1;
	if ((k32 = GetModuleHandleW(L"kernel32.dll")) == NULL)
		return 0;
	resize_pc = (resize_pc_fn)(void *)GetProcAddress(k32, "ResizePseudoConsole");
	close_pc = (close_pc_fn)(void *)GetProcAddress(k32, "ClosePseudoConsole");
	create_pc = (create_pc_fn)(void *)GetProcAddress(k32, "CreatePseudoConsole");
	if (resize_pc == NULL || close_pc == NULL)
		create_pc = NULL;
	return create_pc != NULL;
}

void
win_wine_console_prepare(void)
{
	static int done;
	HANDLE saved[3], self = GetCurrentProcess();
	DWORD list[4];
	int i;

	if (done || !win_is_wine() || GetConsoleProcessList(list, 4) != 0)
		return;
	done = 1;
	saved[0] = GetStdHandle(STD_INPUT_HANDLE);
	saved[1] = GetStdHandle(STD_OUTPUT_HANDLE);
	saved[2] = GetStdHandle(STD_ERROR_HANDLE);
	(void)FreeConsole();
	if (!AllocConsole()) {
		qh_debug("wine: AllocConsole: %lu", (unsigned long)GetLastError());
		return;
	}
	for (i = 0; i < 2; i++)
		if (!DuplicateHandle(self,
			GetStdHandle(i == 0 ? STD_INPUT_HANDLE : STD_OUTPUT_HANDLE), self,
			&wine_con[i], 0, FALSE, DUPLICATE_SAME_ACCESS))
			wine_con[i] = NULL;
	SetStdHandle(STD_INPUT_HANDLE, saved[0]);
	SetStdHandle(STD_OUTPUT_HANDLE, saved[1]);
	SetStdHandle(STD_ERROR_HANDLE, saved[2]);
}

/* The command line of the shell asked for; 0 or a libuv error with why. */
static int
shell_cmdline(const struct shell_req *req, char *out, size_t len, char *why,
    size_t whylen)
{
	char comspec[MAX_PATH * 4];
	wchar_t w[MAX_PATH];
	DWORD n;

	out[0] = '\0';
	if (req->shell != NULL && strcasecmp(req->shell, "powershell") == 0) {
		snprintf(out, len, "powershell.exe -NoLogo");
		return 0;
	}
	if (req->shell != NULL && strcasecmp(req->shell, "cmd") != 0) {
		snprintf(why, whylen,
		    "unknown shell %s: this agent has cmd and powershell", req->shell);
		return UV_EINVAL;
	}
	n = GetEnvironmentVariableW(L"COMSPEC", w, MAX_PATH);
	if (n == 0 || n >= MAX_PATH || win_utf8(w, comspec, sizeof(comspec)) != 0)
		snprintf(comspec, sizeof(comspec), "cmd.exe");
	if (win_quote_arg(comspec, out, len) != 0) {
		snprintf(why, whylen, "COMSPEC is too long");
		return UV_E2BIG;
	}
	return 0;
}

/* Closing a pseudo console, away from the loop that drains its output. */
struct pc_close {
	uv_work_t work;
	HPCON pc;
};

static void
pc_close_work(uv_work_t *w)
{
	struct pc_close *c = w->data;

	close_pc(c->pc);
}

static void
pc_close_done(uv_work_t *w, int status QH_UNUSED)
{
	free(w->data);
}

static void
pc_release(struct task *t, uv_loop_t *loop)
{
	struct pc_close *c;

	if (t->proc.pc == NULL)
		return;
	if ((c = calloc(1, sizeof(*c))) != NULL) {
		c->pc = t->proc.pc;
		c->work.data = c;
		if (uv_queue_work(loop, &c->work, pc_close_work, pc_close_done) == 0) {
			t->proc.pc = NULL;
			return;
		}
		free(c);
	}
	close_pc(t->proc.pc); /* no worker: here, then */
	t->proc.pc = NULL;
}

/* From the thread pool's wait: the shell has exited. */
static void CALLBACK
on_process_end(void *arg, BOOLEAN timed_out QH_UNUSED)
{
	struct task *t = arg;

	uv_async_send(&t->proc.exited);
}

static void
shell_exited(uv_async_t *a)
{
	struct task *t = a->data;
	DWORD code = 1;

	if (t->proc.ended)
		return;
	t->proc.ended = 1;
	if (t->proc.wait != NULL) {
		(void)UnregisterWaitEx(t->proc.wait, NULL);
		t->proc.wait = NULL;
	}
	(void)GetExitCodeProcess(t->proc.process, &code);
	CloseHandle(t->proc.process);
	t->proc.process = NULL;
	/* What the shell started ends with it. */
	if (t->proc.job != NULL) {
		(void)TerminateJobObject(t->proc.job, 1);
		CloseHandle(t->proc.job);
		t->proc.job = NULL;
	}
	t->proc.async_open = 0;
	uv_close((uv_handle_t *)a, task_handle_closed);
	pc_release(t, a->loop);
	qh_info("task of %s (pid %ld): shell exited with %lu", t->login, t->proc.pid,
	    (unsigned long)code);
	task_reaped(t, (int)code, 0);
}

void
win_shell_kill(struct task *t)
{
	if (t->proc.ended)
		return;
	if (t->proc.job != NULL)
		(void)TerminateJobObject(t->proc.job, 1);
	else if (t->proc.process != NULL)
		(void)TerminateProcess(t->proc.process, 1);
}

/*
 * Starts cmdline on the pseudo console pc, suspended, puts it in the
 * task's job and lets it run. Returns 0, or a libuv error with why.
 */
static int
spawn_attached(struct task *t, HPCON pc, const char *cmdline, char *why, size_t whylen)
{
	STARTUPINFOEXW si;
	PROCESS_INFORMATION pi;
	SIZE_T size = 0;
	HANDLE saved[3] = { NULL, NULL, NULL };
	wchar_t *wcmd = NULL, *wcwd = NULL;
	char home[MAX_PATH * 4];
	int r = 0, swap, created;

	memset(&si, 0, sizeof(si));
	si.StartupInfo.cb = sizeof(si);
	(void)InitializeProcThreadAttributeList(NULL, 1, 0, &size);
	if ((si.lpAttributeList = malloc(size)) == NULL ||
	    !InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &size)) {
		free(si.lpAttributeList);
		snprintf(why, whylen, "cannot attach the pseudo console");
		return UV_EIO;
	}
	if (!UpdateProcThreadAttribute(si.lpAttributeList, 0,
		PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, pc, sizeof(pc), NULL, NULL)) {
		snprintf(why, whylen, "cannot attach the pseudo console");
		r = UV_EIO;
		goto out;
	}
	if ((wcmd = win_wide(cmdline)) == NULL ||
	    (win_home(home, sizeof(home)) == 0 && (wcwd = win_wide(home)) == NULL)) {
		r = UV_ENOMEM;
		goto out;
	}
	if (win_is_wine())
		win_wine_console_prepare();
	if ((swap = wine_con[1] != NULL)) {
		saved[0] = GetStdHandle(STD_INPUT_HANDLE);
		saved[1] = GetStdHandle(STD_OUTPUT_HANDLE);
		saved[2] = GetStdHandle(STD_ERROR_HANDLE);
		SetStdHandle(STD_INPUT_HANDLE, wine_con[0]);
		SetStdHandle(STD_OUTPUT_HANDLE, wine_con[1]);
		SetStdHandle(STD_ERROR_HANDLE, wine_con[1]);
	}
	created = CreateProcessW(NULL, wcmd, NULL, NULL, FALSE,
	    EXTENDED_STARTUPINFO_PRESENT | CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT,
	    NULL, wcwd, &si.StartupInfo, &pi);
	if (swap) {
		SetStdHandle(STD_INPUT_HANDLE, saved[0]);
		SetStdHandle(STD_OUTPUT_HANDLE, saved[1]);
		SetStdHandle(STD_ERROR_HANDLE, saved[2]);
	}
	if (!created) {
		snprintf(why, whylen, "%s: cannot start it (error %lu)", cmdline,
		    (unsigned long)GetLastError());
		r = UV_ENOENT;
		goto out;
	}
	/* In its job before it runs a single instruction. */
	if ((t->proc.job = win_job_new(1)) == NULL ||
	    !AssignProcessToJobObject(t->proc.job, pi.hProcess))
		qh_warn("shell for %s: no job object (error %lu); its programs end "
			"with the agent",
		    t->login, (unsigned long)GetLastError());
	(void)ResumeThread(pi.hThread);
	CloseHandle(pi.hThread);
	t->proc.process = pi.hProcess;
	t->proc.pid = (long)pi.dwProcessId;
out:
	DeleteProcThreadAttributeList(si.lpAttributeList);
	free(si.lpAttributeList);
	free(wcmd);
	free(wcwd);
	return r;
}

/* Watches for the shell's end: a thread pool wait wakes the loop. */
static void
watch_exit(struct task *t, uv_loop_t *loop)
{
	uv_async_init(loop, &t->proc.exited, shell_exited);
	t->proc.exited.data = t;
	t->proc.async_open = 1;
	t->nhandles++;
	if (!RegisterWaitForSingleObject(&t->proc.wait, t->proc.process, on_process_end,
		t, INFINITE, WT_EXECUTEONLYONCE)) {
		qh_warn("shell for %s: cannot wait for it (error %lu)", t->login,
		    (unsigned long)GetLastError());
		t->proc.wait = NULL;
		win_shell_kill(t);
		uv_async_send(&t->proc.exited);
	}
}

int
proc_shell(struct task *t, uv_loop_t *loop, const struct shell_req *req, char *why,
    size_t whylen)
{
	COORD dim;
	HPCON pc = NULL;
	uv_file in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char cmdline[MAX_PATH * 4 + 64];
	int r, i;

	if (!conpty_load()) {
		snprintf(why, whylen,
		    "attach needs Windows 10 version 1809 or later (a pseudo "
		    "console); exec, push, pull and forward work here");
		return UV_ENOSYS;
	}
	if ((r = shell_cmdline(req, cmdline, sizeof(cmdline), why, whylen)) != 0)
		return r;
	if ((r = uv_pipe(in, 0, UV_NONBLOCK_PIPE)) != 0 ||
	    (r = uv_pipe(out, UV_NONBLOCK_PIPE, 0)) != 0) {
		snprintf(why, whylen, "pipe: %s", uv_strerror(r));
		goto out;
	}
	dim.X = (SHORT)req->cols;
	dim.Y = (SHORT)req->rows;
	if (FAILED(create_pc(dim, (HANDLE)_get_osfhandle(in[0]),
		(HANDLE)_get_osfhandle(out[1]), 0, &pc))) {
		snprintf(why, whylen, "CreatePseudoConsole failed");
		r = UV_EIO;
		goto out;
	}
	if ((r = spawn_attached(t, pc, cmdline, why, whylen)) != 0)
		goto out;
	t->proc.pc = pc;
	pc = NULL;
	/* The pseudo console holds its own copies of its ends. */
	(void)_close(in[0]);
	(void)_close(out[1]);
	in[0] = out[1] = -1;
	watch_exit(t, loop);
	task_in_init(t, loop);
	task_out_init(t, loop, 0, 0);
	if ((r = uv_pipe_open(&t->in, in[1])) != 0 ||
	    (in[1] = -1, r = uv_pipe_open(&t->out[0].pipe, out[0])) != 0) {
		qh_warn("shell for %s: uv_pipe_open: %s", t->login, uv_strerror(r));
		win_shell_kill(t);
		t->out[0].eof = 1;
		(void)qh_chan_write(t->ch, 1, "qh-agent: cannot relay the shell\n", 33);
		r = 0;
		goto out;
	}
	out[0] = -1;
	t->instream = (uv_stream_t *)&t->in;
out:
	if (pc != NULL)
		close_pc(pc);
	for (i = 0; i < 2; i++) {
		if (in[i] != -1)
			(void)_close(in[i]);
		if (out[i] != -1)
			(void)_close(out[i]);
	}
	return r;
}

void
proc_resize(struct task *t, unsigned rows, unsigned cols)
{
	COORD dim;

	if (t->kind != TASK_SHELL || t->proc.pc == NULL || resize_pc == NULL)
		return;
	dim.X = (SHORT)cols;
	dim.Y = (SHORT)rows;
	if (FAILED(resize_pc(t->proc.pc, dim)))
		qh_debug("task of %s: ResizePseudoConsole failed", t->login);
	else
		qh_debug("task of %s: resized to %ux%u", t->login, cols, rows);
}
