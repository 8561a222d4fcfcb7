/*
 * The service's desktop through a helper in the user's session
 * (deskhelper.h).
 *
 * Starting: the session at the PC's screen (WTSGetActiveConsoleSessionId)
 * and its user's token (WTSQueryUserToken; the service is LocalSystem).
 * The service makes a named pipe with a random name, one instance only
 * (FILE_FLAG_FIRST_PIPE_INSTANCE: nobody can have made it first), local
 * clients only and a DACL for SYSTEM alone, opens its client end itself as
 * an inheritable handle and starts this program with CreateProcessAsUserW
 * in that session on "winsta0\default", with the user's environment
 * (CreateEnvironmentBlock), inheriting that one handle
 * (PROC_THREAD_ATTRIBUTE_HANDLE_LIST) and breaking away from the agent's
 * job (the helper's life is bound to the pipe, see below):
 *
 *   qh-agent.exe service desktop --handle N --screen S --name NAME [--control]
 *
 * No other process can open the pipe; the helper holds the only client
 * handle, and the user it runs as owns that screen anyway.
 *
 * On the pipe: the helper's first byte is 'R', then the RFB stream as
 * rfbsess makes it; or 'E' and one sentence (at most HELPER_WHY_MAX bytes,
 * the rest ignored) saying why it cannot capture, then the end. The other
 * way goes the viewer's RFB stream. Flow: the service credits the channel
 * (io->consumed) only for bytes the pipe took, and the helper reads only
 * while its session has room (RFB_INPUT_MAX), so nothing piles up; the
 * helper's output is read only while the channel takes it.
 *
 * Ending: the helper ends when the pipe closes (the desktop ended or the
 * service died); deskhelper_close also terminates it.
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>
#include <sddl.h>
#include <userenv.h>
#include <wtsapi32.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "agent.h"
#include "helpergreet.h"
#include "platform.h"
#include "win32/deskhelper.h"
#include "win32/portable.h"
#include "win32/win.h"

#define HELPER_READ_MAX (64 * 1024) /* the helper's output read at a time */
#define PIPE_BUFFER	(64 * 1024)

static int wanted;

struct deskhelper {
	const struct rfbsess_io *io;
	void *arg;
	uv_pipe_t pipe;
	HANDLE process;
	struct helper_greet greet; /* 'R' or 'E' and why (helpergreet.h) */
	unsigned failed : 1;	   /* io->failed was called */
	unsigned closed : 1;	   /* deskhelper_close was called */
	unsigned reading : 1;

	/* From the helper, not yet taken by io->write. */
	uint8_t out[HELPER_READ_MAX];
	size_t out_off, out_len;

	/* To the helper: in flight, and what came since (both RFB_INPUT_MAX). */
	uv_write_t wreq;
	int writing;
	uint8_t *inflight, *pending;
	size_t inflight_len, pending_len;
};

int
deskhelper_wanted(void)
{
	return wanted;
}

void
deskhelper_set_wanted(void)
{
	wanted = 1;
}

/* The session cannot go on: tells the owner once. */
static void
helper_fail(struct deskhelper *h, const char *why)
{
	if (h->failed || h->closed)
		return;
	h->failed = 1;
	if (h->reading)
		(void)uv_read_stop((uv_stream_t *)&h->pipe);
	h->reading = 0;
	h->io->failed(h->arg, QH_ERR_CLOSED, why);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void
on_alloc(uv_handle_t *hd, size_t size QH_UNUSED, uv_buf_t *b)
{
	struct deskhelper *h = hd->data;

	*b = uv_buf_init((char *)h->out, sizeof(h->out));
}

/* Passes the helper's output on as the channel takes it; reads while it does. */
static void
flush_out(struct deskhelper *h)
{
	ssize_t r;

	while (h->out_len > 0) {
		if ((r = h->io->write(h->arg, h->out + h->out_off, h->out_len)) < 0) {
			helper_fail(h, "the desktop's channel is gone");
			return;
		}
		if (r == 0)
			break;
		h->out_off += (size_t)r;
		h->out_len -= (size_t)r;
	}
	if (h->out_len > 0 && h->reading) {
		(void)uv_read_stop((uv_stream_t *)&h->pipe);
		h->reading = 0;
	} else if (h->out_len == 0 && !h->reading && !h->failed) {
		if (uv_read_start((uv_stream_t *)&h->pipe, on_alloc, on_read) != 0) {
			helper_fail(h, "the desktop helper's pipe failed");
			return;
		}
		h->reading = 1;
	}
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b QH_UNUSED)
{
	struct deskhelper *h = s->data;
	const char *why;
	size_t off;

	if (n == 0 || h->closed || h->failed)
		return;
	if (n < 0) {
		why = helper_greet_why(&h->greet);
		helper_fail(h, why != NULL ? why : "the desktop helper ended");
		return;
	}
	off = helper_greet_take(&h->greet, h->out, (size_t)n);
	if (h->greet.state == HELPER_GREET_NONSENSE) {
		helper_fail(h, "the desktop helper sent nonsense");
		return;
	}
	if (h->greet.state != HELPER_GREET_READY)
		return; /* its reason, until the pipe ends */
	h->out_off = off;
	h->out_len = (size_t)n - off;
	flush_out(h);
}

static void write_next(struct deskhelper *h);

static void
on_written(uv_write_t *req, int status)
{
	struct deskhelper *h = req->data;
	size_t n = h->inflight_len;

	h->writing = 0;
	h->inflight_len = 0;
	if (h->closed || h->failed)
		return;
	if (status < 0) {
		helper_fail(h, "the desktop helper ended");
		return;
	}
	h->io->consumed(h->arg, n);
	if (!h->closed)
		write_next(h);
}

/* Writes what came from the viewer, one write at a time. */
static void
write_next(struct deskhelper *h)
{
	uint8_t *t;
	uv_buf_t b;

	if (h->writing || h->pending_len == 0 || h->failed)
		return;
	t = h->inflight;
	h->inflight = h->pending;
	h->pending = t;
	h->inflight_len = h->pending_len;
	h->pending_len = 0;
	b = uv_buf_init((char *)h->inflight, (unsigned)h->inflight_len);
	h->wreq.data = h;
	if (uv_write(&h->wreq, (uv_stream_t *)&h->pipe, &b, 1, on_written) != 0) {
		helper_fail(h, "the desktop helper's pipe failed");
		return;
	}
	h->writing = 1;
}

int
deskhelper_input(struct deskhelper *h, const uint8_t *p, size_t len)
{
	if (h->closed || h->failed)
		return 0;
	if (h->inflight_len + h->pending_len + len > RFB_INPUT_MAX)
		return QH_ERR_TOO_LARGE;
	memcpy(h->pending + h->pending_len, p, len);
	h->pending_len += len;
	write_next(h);
	return 0;
}

void
deskhelper_writable(struct deskhelper *h)
{
	if (!h->closed && !h->failed)
		flush_out(h);
}

static void
on_closed(uv_handle_t *hd)
{
	struct deskhelper *h = hd->data;

	free(h->inflight);
	free(h->pending);
	free(h);
}

void
deskhelper_close(struct deskhelper *h)
{
	if (h == NULL || h->closed)
		return;
	h->closed = 1;
	if (h->process != NULL) {
		(void)TerminateProcess(h->process, 0);
		CloseHandle(h->process);
		h->process = NULL;
	}
	uv_close((uv_handle_t *)&h->pipe, on_closed);
}

/* Starting the helper. */

/*
 * A connected pipe: *server (overlapped, ours) and *client (inheritable,
 * the helper's). The DACL lets SYSTEM alone open it; we open both ends.
 */
static int
pipe_pair(HANDLE *server, HANDLE *client)
{
	wchar_t name[80];
	uint8_t rnd[16];
	PSECURITY_DESCRIPTOR sd = NULL;
	SECURITY_ATTRIBUTES sa;
	int i, n;

	if (uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL) != 0)
		return QH_ERR_SYSTEM;
	n = swprintf(name, 80, L"\\\\.\\pipe\\qh-desk-%lu-",
	    (unsigned long)GetCurrentProcessId());
	for (i = 0; i < (int)sizeof(rnd) && n > 0; i++)
		n += swprintf(name + n, 80 - (size_t)n, L"%02x", rnd[i]);
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;;GA;;;SY)",
		SDDL_REVISION_1, &sd, NULL))
		return QH_ERR_SYSTEM;
	memset(&sa, 0, sizeof(sa));
	sa.nLength = sizeof(sa);
	sa.lpSecurityDescriptor = sd;
	*server = CreateNamedPipeW(name,
	    PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
	    PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
	    1, PIPE_BUFFER, PIPE_BUFFER, 0, &sa);
	if (*server == INVALID_HANDLE_VALUE) {
		LocalFree(sd);
		return QH_ERR_SYSTEM;
	}
	sa.bInheritHandle = TRUE;
	*client = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, &sa, OPEN_EXISTING,
	    FILE_FLAG_OVERLAPPED, NULL);
	LocalFree(sd);
	if (*client == INVALID_HANDLE_VALUE) {
		CloseHandle(*server);
		return QH_ERR_SYSTEM;
	}
	return 0;
}

/* The helper's command line (see the top of the file). */
static wchar_t *
helper_cmdline(HANDLE client, int screen_index, const char *name, int control)
{
	char exe[MAX_PATH * 4], line[MAX_PATH * 8], tail[96];

	if (plat_exe_path(exe, sizeof(exe)) != 0)
		return NULL;
	line[0] = '\0';
	if (win_quote_arg(exe, line, sizeof(line)) != 0)
		return NULL;
	snprintf(tail, sizeof(tail),
	    " service desktop --handle %llu --screen %d%s --name ",
	    (unsigned long long)(uintptr_t)client, screen_index,
	    control ? " --control" : "");
	strncat(line, tail, sizeof(line) - strlen(line) - 1);
	if (win_quote_arg(name, line, sizeof(line)) != 0)
		return NULL;
	return win_wide(line);
}

/* Starts the helper as the user of token with the pipe's client end. */
static HANDLE
helper_spawn(HANDLE token, HANDLE client, int screen_index, const char *name, int control)
{
	STARTUPINFOEXW si;
	PROCESS_INFORMATION pi;
	LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
	SIZE_T size = 0;
	wchar_t *cmd, desk[] = L"winsta0\\default";
	void *env = NULL;
	BOOL ok = FALSE;

	if ((cmd = helper_cmdline(client, screen_index, name, control)) == NULL)
		return NULL;
	(void)InitializeProcThreadAttributeList(NULL, 1, 0, &size);
	if ((attrs = malloc(size)) == NULL ||
	    !InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
		free(attrs);
		free(cmd);
		return NULL;
	}
	if (UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
		&client, sizeof(client), NULL, NULL)) {
		if (!CreateEnvironmentBlock(&env, token, FALSE))
			env = NULL; /* then the service's own */
		memset(&si, 0, sizeof(si));
		si.StartupInfo.cb = sizeof(si);
		si.StartupInfo.lpDesktop = desk;
		si.lpAttributeList = attrs;
		ok = CreateProcessAsUserW(token, NULL, cmd, NULL, NULL, TRUE,
		    CREATE_UNICODE_ENVIRONMENT | CREATE_NO_WINDOW |
			CREATE_BREAKAWAY_FROM_JOB | EXTENDED_STARTUPINFO_PRESENT,
		    env, NULL, &si.StartupInfo, &pi);
		if (!ok)
			qh_warn("desktop helper: CreateProcessAsUserW: error %lu",
			    (unsigned long)GetLastError());
		if (env != NULL)
			DestroyEnvironmentBlock(env);
	}
	DeleteProcThreadAttributeList(attrs);
	free(attrs);
	free(cmd);
	if (!ok)
		return NULL;
	CloseHandle(pi.hThread);
	return pi.hProcess;
}

/* The token of the user at the PC's screen, or NULL with the reason in why. */
static HANDLE
console_user(char *why, size_t whylen)
{
	DWORD session = WTSGetActiveConsoleSessionId();
	HANDLE token = NULL;

	if (session == 0xFFFFFFFF || !WTSQueryUserToken(session, &token)) {
		qh_info("desktop helper: no user at the screen (session %lu, error %lu)",
		    (unsigned long)session, (unsigned long)GetLastError());
		snprintf(why, whylen,
		    "nobody is logged on at this PC's screen, so there is no "
		    "desktop to share");
		return NULL;
	}
	return token;
}

int
deskhelper_new(uv_loop_t *loop, int screen_index, const char *name, int control,
    const struct rfbsess_io *io, void *arg, struct deskhelper **hp, char *why,
    size_t whylen)
{
	struct deskhelper *h;
	HANDLE token, server, client;
	int fd;

	*hp = NULL;
	if ((token = console_user(why, whylen)) == NULL)
		return QH_ERR_REFUSED;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->inflight = malloc(RFB_INPUT_MAX)) == NULL ||
	    (h->pending = malloc(RFB_INPUT_MAX)) == NULL) {
		if (h != NULL) {
			free(h->inflight);
			free(h);
		}
		CloseHandle(token);
		snprintf(why, whylen, "the agent is out of memory");
		return QH_ERR_NOMEM;
	}
	h->io = io;
	h->arg = arg;
	if (pipe_pair(&server, &client) != 0) {
		qh_warn("desktop helper: no pipe (error %lu)",
		    (unsigned long)GetLastError());
		goto fail;
	}
	h->process = helper_spawn(token, client, screen_index, name, control);
	CloseHandle(client); /* the helper's now, or nobody's */
	if (h->process == NULL || (fd = _open_osfhandle((intptr_t)server, 0)) < 0) {
		CloseHandle(server);
		goto fail;
	}
	CloseHandle(token);
	token = NULL;
	uv_pipe_init(loop, &h->pipe, 0);
	h->pipe.data = h;
	if (uv_pipe_open(&h->pipe, fd) != 0 ||
	    uv_read_start((uv_stream_t *)&h->pipe, on_alloc, on_read) != 0) {
		deskhelper_close(h);
		snprintf(why, whylen, "the desktop helper cannot be reached");
		return QH_ERR_SYSTEM;
	}
	h->reading = 1;
	qh_info("desktop helper started in session %lu (process %lu)",
	    (unsigned long)WTSGetActiveConsoleSessionId(),
	    (unsigned long)GetProcessId(h->process));
	*hp = h;
	return 0;
fail:
	if (h->process != NULL) {
		(void)TerminateProcess(h->process, 0);
		CloseHandle(h->process);
	}
	if (token != NULL)
		CloseHandle(token);
	free(h->inflight);
	free(h->pending);
	free(h);
	snprintf(why, whylen,
	    "the service cannot start its desktop helper in the "
	    "user's session");
	return QH_ERR_SYSTEM;
}

/*
 * The helper: `qh-agent service desktop --handle N --screen S [--control]`,
 * started by the service only. An RFB session (rfbsess.h) on the pipe
 * handle it inherited, until the pipe closes.
 */

#define HELPER_WRITE_MAX  (64 * 1024)
#define HELPER_READ_CHUNK (16 * 1024)

static struct {
	uv_pipe_t pipe;
	struct rfbsess *sess;
	uv_write_t wreq;
	uint8_t wbuf[HELPER_WRITE_MAX];
	uint8_t rbuf[HELPER_READ_CHUNK];
	size_t unconsumed; /* input given to the session and not yet dealt with */
	unsigned greeted : 1, writing : 1, reading : 1, done : 1, refusing : 1;
} hp;

static void
helper_finish(void)
{
	if (hp.done)
		return;
	hp.done = 1;
	rfbsess_close(hp.sess);
	hp.sess = NULL;
	uv_close((uv_handle_t *)&hp.pipe, NULL);
}

static void
helper_written(uv_write_t *req QH_UNUSED, int status)
{
	hp.writing = 0;
	if (status < 0 || hp.refusing) {
		helper_finish();
		return;
	}
	if (!hp.done && hp.sess != NULL)
		rfbsess_writable(hp.sess);
}

/* One write at a time, HELPER_WRITE_MAX at most; the first byte is 'R'. */
static ssize_t
helper_write(void *arg QH_UNUSED, const uint8_t *p, size_t len)
{
	size_t off = 0, take;
	uv_buf_t b;

	if (hp.done)
		return QH_ERR_CLOSED;
	if (hp.writing)
		return 0;
	if (!hp.greeted) {
		hp.wbuf[off++] = 'R';
		hp.greeted = 1;
	}
	take = len < sizeof(hp.wbuf) - off ? len : sizeof(hp.wbuf) - off;
	memcpy(hp.wbuf + off, p, take);
	b = uv_buf_init((char *)hp.wbuf, (unsigned)(off + take));
	if (uv_write(&hp.wreq, (uv_stream_t *)&hp.pipe, &b, 1, helper_written) != 0)
		return QH_ERR_CLOSED;
	hp.writing = 1;
	return (ssize_t)take;
}

static void helper_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void
helper_alloc(uv_handle_t *hd QH_UNUSED, size_t size QH_UNUSED, uv_buf_t *b)
{
	*b = uv_buf_init((char *)hp.rbuf, sizeof(hp.rbuf));
}

/* Reads while the session's input has room for a whole chunk more. */
static void
helper_read_control(void)
{
	int want = !hp.done && hp.unconsumed + HELPER_READ_CHUNK <= RFB_INPUT_MAX;

	if (want && !hp.reading)
		(void)uv_read_start((uv_stream_t *)&hp.pipe, helper_alloc, helper_read);
	else if (!want && hp.reading)
		(void)uv_read_stop((uv_stream_t *)&hp.pipe);
	hp.reading = want;
}

static void
helper_consumed(void *arg QH_UNUSED, size_t n)
{
	hp.unconsumed -= n;
	helper_read_control();
}

static void
helper_failed(void *arg QH_UNUSED, int err QH_UNUSED, const char *why)
{
	qh_warn("desktop helper: %s", why);
	helper_finish();
}

static const struct rfbsess_io helper_io = {
	.write = helper_write,
	.consumed = helper_consumed,
	.failed = helper_failed,
};

static void
helper_read(uv_stream_t *s QH_UNUSED, ssize_t n, const uv_buf_t *b)
{
	if (n == 0 || hp.done)
		return;
	if (n < 0) { /* the service closed the pipe */
		helper_finish();
		return;
	}
	hp.unconsumed += (size_t)n;
	if (rfbsess_input(hp.sess, (const uint8_t *)b->base, (size_t)n) != 0) {
		helper_finish();
		return;
	}
	helper_read_control();
}

/* Says why the screen cannot be captured, then ends. */
static void
helper_refuse(const char *why)
{
	size_t len = strlen(why);
	uv_buf_t b;

	hp.wbuf[0] = 'E';
	if (len > HELPER_WHY_MAX)
		len = HELPER_WHY_MAX;
	memcpy(hp.wbuf + 1, why, len);
	b = uv_buf_init((char *)hp.wbuf, (unsigned)(len + 1));
	hp.refusing = 1; /* helper_written ends it */
	if (uv_write(&hp.wreq, (uv_stream_t *)&hp.pipe, &b, 1, helper_written) != 0)
		helper_finish();
}

static int
cmd_service_desktop(struct qh_cli *c)
{
	const char *hs = qh_cli_opt(c, "handle"), *ss = qh_cli_opt(c, "screen");
	const char *name = qh_cli_opt(c, "name");
	uv_loop_t *loop = uv_default_loop();
	char why[256], *end;
	unsigned long long handle;
	long screen = 0;
	int fd;

	(void)agent_log_level(c);
	if (hs == NULL)
		return qh_cli_usage(c, "--handle is the pipe the service gave");
	handle = strtoull(hs, &end, 10);
	if (*end != '\0' || handle == 0)
		return qh_cli_usage(c, "--handle is a number");
	if (ss != NULL &&
	    ((screen = strtol(ss, &end, 10)) < 0 || screen > 255 || *end != '\0'))
		return qh_cli_usage(c, "--screen is a monitor's number, 0 to 255");
	if ((fd = _open_osfhandle((intptr_t)handle, 0)) < 0)
		return qh_cli_fail(c, "no pipe from the service");
	uv_pipe_init(loop, &hp.pipe, 0);
	if (uv_pipe_open(&hp.pipe, fd) != 0)
		return qh_cli_fail(c, "the service's pipe cannot be used");
	if (rfbsess_new(loop, (int)screen, name != NULL ? name : "quarterhour",
		&helper_io, NULL, &hp.sess, why, sizeof(why)) != 0)
		helper_refuse(why);
	else {
		rfbsess_set_control(hp.sess, qh_cli_flag(c, "control"));
		helper_read_control();
		rfbsess_writable(hp.sess); /* the server speaks first */
	}
	uv_run(loop, UV_RUN_DEFAULT);
	return QH_EXIT_OK;
}

const struct qh_cli_cmd cmd_service_desktop_entry = {
	.name = "service desktop",
	.usage = "--handle N [--screen N] [--name TEXT] [--control]",
	.summary = N_("(started by the service in the user's session for a desktop)"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("handle"), QH_OPT("screen"), QH_OPT("name"), QH_FLAG("control"),
	    QH_OPT("log-level"), QH_OPT("lang") },
	.exec = cmd_service_desktop,
};
