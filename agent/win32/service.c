/*
 * qh-agent service install | uninstall: the unattended agent as a Windows
 * service, for servers nobody sits at. Install copies this program to
 * %ProgramFiles%\quarterhour\qh-agent.exe (where only administrators may
 * write), enrols it into %ProgramData%\quarterhour\agent (an ACL for
 * SYSTEM and Administrators) with the token this program carries or one
 * given with `join` beforehand, and registers and starts the service
 * "quarterhour-agent" (automatic start, restarted when it fails), which
 * runs `qh-agent service run`: the same loop as `qh-agent run
 * --unattended`, ended by the service manager's Stop, logging to
 * service.log beside its state, its desktops (--allow-desktop) served by a
 * helper in the user's session (deskhelper.h). Uninstall stops and
 * removes the service and the copy; the enrolment stays, so a new install
 * is the same agent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>
#include <knownfolders.h>
#include <shlobj.h>

#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/exetag.h"
#include "qh/log.h"
#include "qh/out.h"
#include "agent.h"
#include "platform.h"
#include "win32/deskhelper.h"
#include "win32/portable.h"
#include "win32/win.h"

#define SERVICE_NAME  L"quarterhour-agent"
#define SERVICE_SHOWN L"quarterhour remote support agent"
#define STOP_WAIT_MS  20000

/* The service's folders: the program's copy and its state. */
static int
service_paths(char *exe, size_t exelen, char *dir, size_t dirlen)
{
	PWSTR w = NULL;
	char base[MAX_PATH * 4];
	int n;

	if (FAILED(SHGetKnownFolderPath(&FOLDERID_ProgramFiles, 0, NULL, &w)) ||
	    win_utf8(w, base, sizeof(base)) != 0) {
		CoTaskMemFree(w);
		return QH_ERR_NOT_FOUND;
	}
	CoTaskMemFree(w);
	n = snprintf(exe, exelen, "%s\\quarterhour\\qh-agent.exe", base);
	if (n < 0 || (size_t)n >= exelen)
		return QH_ERR_TOO_LARGE;
	w = NULL;
	if (FAILED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &w)) ||
	    win_utf8(w, base, sizeof(base)) != 0) {
		CoTaskMemFree(w);
		return QH_ERR_NOT_FOUND;
	}
	CoTaskMemFree(w);
	n = snprintf(dir, dirlen, "%s\\quarterhour\\agent", base);
	if (n < 0 || (size_t)n >= dirlen)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/* The service manager, or a line saying why not (not an administrator). */
static SC_HANDLE
open_scm(struct qh_cli *c)
{
	SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS);

	if (scm == NULL)
		qh_cli_fail(c, "%s",
		    GetLastError() == ERROR_ACCESS_DENIED
			? "installing a service needs an administrator: start the "
			  "command prompt with 'Run as administrator'"
			: "cannot reach the service manager");
	return scm;
}

/* Copies this program to the service's place (replacing an older copy). */
static int
copy_self(const char *to)
{
	char self[MAX_PATH * 4], folder[MAX_PATH * 4], *slash;
	wchar_t *wself = NULL, *wto = NULL, *wfolder = NULL;
	int r = QH_ERR_SYSTEM;

	if (plat_exe_path(self, sizeof(self)) != 0)
		return QH_ERR_NOT_FOUND;
	if (strcasecmp(self, to) == 0)
		return 0; /* installed from the copy itself */
	snprintf(folder, sizeof(folder), "%s", to);
	if ((slash = strrchr(folder, '\\')) != NULL)
		*slash = '\0';
	if ((wself = win_wide(self)) != NULL && (wto = win_wide(to)) != NULL &&
	    (wfolder = win_wide(folder)) != NULL &&
	    (CreateDirectoryW(wfolder, NULL) || GetLastError() == ERROR_ALREADY_EXISTS) &&
	    CopyFileW(wself, wto, FALSE))
		r = 0;
	free(wself);
	free(wto);
	free(wfolder);
	return r;
}

static int
cmd_service_install(struct qh_cli *c)
{
	const char *const *forwards = NULL;
	char exe[MAX_PATH * 4], dir[MAX_PATH * 4], pem[MAX_PATH * 4 + 16];
	char cmdline[WIN_CMDLINE_MAX], token[QH_EXETAG_MAX], vendor[256];
	wchar_t *wcmd = NULL;
	SERVICE_DESCRIPTIONW desc;
	SERVICE_FAILURE_ACTIONSW fail;
	SC_ACTION restart[3];
	SC_HANDLE scm = NULL, svc = NULL;
	const char *desk = qh_cli_opt(c, "allow-desktop");
	int i, n, status = QH_EXIT_FAIL;

	if (desk != NULL && strcmp(desk, "view") != 0 && strcmp(desk, "control") != 0)
		return qh_cli_usage(c, "--allow-desktop is view or control");
	if (service_paths(exe, sizeof(exe), dir, sizeof(dir)) != 0)
		return qh_cli_fail(c, _("cannot find Program Files and ProgramData"));
	if (qh_cli_opt(c, "config") != NULL)
		snprintf(dir, sizeof(dir), "%s", qh_cli_opt(c, "config"));
	if ((scm = open_scm(c)) == NULL)
		return QH_EXIT_FAIL;
	if (plat_path_join(pem, sizeof(pem), dir, AGENT_BUNDLE_NAME) != 0)
		goto out;
	/* Enrolled already (join --config DIR), or with this program's token. */
	if (plat_path_kind(pem) == PLAT_NONE) {
		if (agent_exe_tag(token, sizeof(token), vendor, sizeof(vendor)) != 0) {
			qh_cli_fail(c,
			    _("the service is not enrolled: run 'qh-agent join TOKEN "
			      "--config \"%s\"' first, or install with the program your "
			      "vendor made for this PC"),
			    dir);
			goto out;
		}
		if (agent_join(token, dir, vendor) != 0)
			goto out;
	} else if (plat_config_create(dir) != 0)
		goto out;
	if (copy_self(exe) != 0) {
		qh_cli_fail(c, _("cannot copy the program to %s (error %lu)"), exe,
		    (unsigned long)GetLastError());
		goto out;
	}
	/* "EXE" service run --config "DIR" [--allow-forward X]... */
	cmdline[0] = '\0';
	if (win_quote_arg(exe, cmdline, sizeof(cmdline)) != 0)
		goto out;
	strncat(cmdline, " service run --config ", sizeof(cmdline) - strlen(cmdline) - 1);
	if (win_quote_arg(dir, cmdline, sizeof(cmdline)) != 0)
		goto out;
	n = qh_cli_opts(c, "allow-forward", &forwards);
	for (i = 0; i < n; i++) {
		strncat(cmdline, " --allow-forward ",
		    sizeof(cmdline) - strlen(cmdline) - 1);
		if (win_quote_arg(forwards[i], cmdline, sizeof(cmdline)) != 0)
			goto out;
	}
	if (desk != NULL) {
		strncat(cmdline, " --allow-desktop ",
		    sizeof(cmdline) - strlen(cmdline) - 1);
		strncat(cmdline, desk, sizeof(cmdline) - strlen(cmdline) - 1);
	}
	if ((wcmd = win_wide(cmdline)) == NULL)
		goto out;
	svc = CreateServiceW(scm, SERVICE_NAME, SERVICE_SHOWN, SERVICE_ALL_ACCESS,
	    SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, wcmd,
	    NULL, NULL, NULL, NULL, NULL);
	if (svc == NULL && GetLastError() == ERROR_SERVICE_EXISTS) {
		qh_cli_fail(c,
		    _("the service is installed already; 'qh-agent service "
		      "uninstall' first"));
		goto out;
	}
	if (svc == NULL) {
		qh_cli_fail(c, _("cannot create the service (error %lu)"),
		    (unsigned long)GetLastError());
		goto out;
	}
	desc.lpDescription = L"Lets your support vendor's technicians in when you "
			     L"allow it; every session is recorded and billed.";
	(void)ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
	for (i = 0; i < 3; i++) {
		restart[i].Type = SC_ACTION_RESTART;
		restart[i].Delay = 5000;
	}
	memset(&fail, 0, sizeof(fail));
	fail.dwResetPeriod = 86400;
	fail.cActions = 3;
	fail.lpsaActions = restart;
	(void)ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fail);
	if (!StartServiceW(svc, 0, NULL)) {
		qh_cli_fail(c,
		    _("the service is installed but does not start (error %lu)"),
		    (unsigned long)GetLastError());
		goto out;
	}
	qh_out_printf(stdout,
	    _("service quarterhour-agent installed and started: %s, state in %s\n"), exe,
	    dir);
	status = QH_EXIT_OK;
out:
	free(wcmd);
	if (svc != NULL)
		CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	return status;
}

static int
cmd_service_uninstall(struct qh_cli *c)
{
	char exe[MAX_PATH * 4], dir[MAX_PATH * 4];
	SERVICE_STATUS st;
	SC_HANDLE scm, svc;
	wchar_t *w;
	DWORD waited = 0;
	int status = QH_EXIT_FAIL;

	if ((scm = open_scm(c)) == NULL)
		return QH_EXIT_FAIL;
	if ((svc = OpenServiceW(scm, SERVICE_NAME, SERVICE_ALL_ACCESS)) == NULL) {
		qh_cli_fail(c, _("the service is not installed"));
		CloseServiceHandle(scm);
		return QH_EXIT_FAIL;
	}
	if (ControlService(svc, SERVICE_CONTROL_STOP, &st))
		while (QueryServiceStatus(svc, &st) &&
		    st.dwCurrentState != SERVICE_STOPPED && waited < STOP_WAIT_MS) {
			Sleep(200);
			waited += 200;
		}
	if (!DeleteService(svc))
		qh_cli_fail(c, _("cannot remove the service (error %lu)"),
		    (unsigned long)GetLastError());
	else {
		status = QH_EXIT_OK;
		if (service_paths(exe, sizeof(exe), dir, sizeof(dir)) == 0 &&
		    (w = win_wide(exe)) != NULL) {
			(void)DeleteFileW(w); /* stays if it is the one running this */
			free(w);
		}
		qh_out_printf(stdout,
		    _("service quarterhour-agent removed; its enrolment stays in %s\n"),
		    dir);
	}
	CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	return status;
}

/* The service itself. */

static SERVICE_STATUS_HANDLE service_handle;
static SERVICE_STATUS service_status;
static int service_argc;
static char **service_argv;

static void
report(DWORD state, DWORD code)
{
	service_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	service_status.dwCurrentState = state;
	service_status.dwControlsAccepted =
	    state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	service_status.dwWin32ExitCode = code;
	service_status.dwWaitHint = state == SERVICE_STOP_PENDING ? STOP_WAIT_MS : 0;
	(void)SetServiceStatus(service_handle, &service_status);
}

static DWORD WINAPI
on_control(DWORD control, DWORD type QH_UNUSED, void *data QH_UNUSED, void *ctx QH_UNUSED)
{
	if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
		report(SERVICE_STOP_PENDING, NO_ERROR);
		/* The agent's loop ends the session and leaves. */
		ui_post(UI_EV_END, 0);
		return NO_ERROR;
	}
	return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR
						      : ERROR_CALL_NOT_IMPLEMENTED;
}

/* Nobody looks at a service's window: these show nothing. */
static void
quiet_text(const char *text QH_UNUSED)
{
}

static void
quiet_balance(const char *text QH_UNUSED, int low QH_UNUSED)
{
}

/*
 * Unattended answers connections itself; what reaches here is a desktop
 * without --allow-desktop, and nobody is there to allow it.
 */
static void
quiet_ask(uint64_t id, const char *login QH_UNUSED, const char *name QH_UNUSED,
    unsigned want QH_UNUSED, int recorded QH_UNUSED, const char *note QH_UNUSED)
{
	ui_post(UI_EV_DENY, id);
}

static void
quiet_none(void)
{
}

static const struct ui_window service_ui = {
	.code = quiet_text,
	.status = quiet_text,
	.balance = quiet_balance,
	.activity = quiet_text,
	.ask = quiet_ask,
	.withdraw = quiet_none,
	.ended = quiet_text,
};

static void WINAPI
service_main(DWORD argc QH_UNUSED, LPWSTR *argv QH_UNUSED)
{
	int status;

	service_handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, on_control, NULL);
	if (service_handle == NULL)
		return;
	report(SERVICE_RUNNING, NO_ERROR);
	/* The window's event path carries the service manager's Stop. */
	ui_set_window(&service_ui);
	/* Session 0 has no screen: desktops come from a helper (deskhelper.h). */
	deskhelper_set_wanted();
	win_job_allow_breakaway();
	status = qh_cli_main("qh-agent", agent_commands, "run", NULL, service_argc,
	    service_argv);
	report(SERVICE_STOPPED, status == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR);
}

static int
cmd_service_run(struct qh_cli *c)
{
	static char *av[8 + QH_CLI_MAX_REPEAT * 2];
	SERVICE_TABLE_ENTRYW table[] = { { (LPWSTR)SERVICE_NAME, service_main },
		{ NULL, NULL } };
	const char *const *forwards = NULL, *desk = qh_cli_opt(c, "allow-desktop");
	char dir[MAX_PATH * 4], log[MAX_PATH * 4 + 16];
	wchar_t *wlog;
	FILE *f;
	int i, n = 0, nf;

	if (agent_config_dir(c, dir, sizeof(dir)) != 0)
		return qh_cli_fail(c, _("no configuration directory"));
	/* A service has no console: its log goes beside its state. */
	if (plat_path_join(log, sizeof(log), dir, "service.log") == 0 &&
	    (wlog = win_wide(log)) != NULL) {
		if ((f = _wfopen(wlog, L"a")) != NULL) {
			setvbuf(f, NULL, _IONBF, 0);
			qh_log_to(f);
			if (qh_cli_opt(c, "log-level") == NULL)
				qh_log_init("qh-agent", QH_LOG_INFO);
		}
		free(wlog);
	}
	(void)agent_log_level(c);
	av[n++] = (char *)c->prog;
	av[n++] = "run";
	av[n++] = "--unattended";
	av[n++] = "--config";
	av[n++] = strdup(dir);
	nf = qh_cli_opts(c, "allow-forward", &forwards);
	for (i = 0; i < nf; i++) {
		av[n++] = "--allow-forward";
		av[n++] = (char *)forwards[i];
	}
	if (desk != NULL) {
		av[n++] = "--allow-desktop";
		av[n++] = (char *)desk;
	}
	av[n] = NULL;
	service_argc = n;
	service_argv = av;
	if (!StartServiceCtrlDispatcherW(table))
		return qh_cli_fail(c,
		    _("'service run' is for the service manager; use "
		      "'qh-agent run --unattended' in a console"));
	return QH_EXIT_OK;
}

const struct qh_cli_cmd cmd_service_install_entry = {
	.name = "service install",
	.usage = "[--config DIR] [--allow-forward HOST:PORT,...] "
		 "[--allow-desktop view|control] [--lang de|en]",
	.summary = N_("run the unattended agent as a Windows service (an "
		      "administrator's command)"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("config"), QH_OPTS("allow-forward"), QH_OPT("allow-desktop"),
	    QH_OPT("log-level"), QH_OPT("lang") },
	.exec = cmd_service_install,
};

const struct qh_cli_cmd cmd_service_uninstall_entry = {
	.name = "service uninstall",
	.usage = "[--lang de|en]",
	.summary = N_("stop and remove the Windows service (its enrolment stays)"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("log-level"), QH_OPT("lang") },
	.exec = cmd_service_uninstall,
};

const struct qh_cli_cmd cmd_service_run_entry = {
	.name = "service run",
	.usage =
	    "--config DIR [--allow-forward HOST:PORT,...] [--allow-desktop view|control]",
	.summary = N_("(started by the service manager)"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("config"), QH_OPTS("allow-forward"), QH_OPT("allow-desktop"),
	    QH_OPT("log-level"), QH_OPT("lang") },
	.exec = cmd_service_run,
};
