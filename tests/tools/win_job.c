/*
 * win_job: checks that a Job Object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
 * ends a child when its parent ends, however it ends. The parent puts a
 * copy of itself (--child, which sleeps 2 minutes and starts a grandchild
 * that sleeps too) into the job, prints both Windows pids, then waits to
 * be killed, exits by itself, or terminates itself.
 *
 * usage: win_job [--exit | --terminate | --nojob]   (default: wait to be
 *        killed; --nojob: the same without the job, as a control)
 *        win_job --child | --grandchild
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

/* Starts a copy of this program with one argument; returns its process. */
static HANDLE
start_copy(const char *arg, DWORD flags, DWORD *pid)
{
	STARTUPINFOA si;
	PROCESS_INFORMATION pi;
	char self[MAX_PATH], cmd[MAX_PATH + 32];

	GetModuleFileNameA(NULL, self, sizeof(self));
	snprintf(cmd, sizeof(cmd), "\"%s\" %s", self, arg);
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, flags, NULL, NULL, &si, &pi))
		return NULL;
	*pid = pi.dwProcessId;
	CloseHandle(pi.hThread);
	return pi.hProcess;
}

int
main(int argc, char **argv)
{
	JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
	HANDLE job;
	DWORD gpid = 0;
	STARTUPINFOA si;
	PROCESS_INFORMATION pi;
	char self[MAX_PATH], cmd[MAX_PATH + 32];

	if (argc > 1 && strcmp(argv[1], "--grandchild") == 0) {
		Sleep(120000);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--child") == 0) {
		start_copy("--grandchild", 0, &gpid);
		printf("grandchild pid %lu\n", (unsigned long)gpid);
		fflush(stdout);
		Sleep(120000);
		return 0;
	}

	job = CreateJobObjectA(NULL, NULL);
	memset(&li, 0, sizeof(li));
	li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
	if (job == NULL ||
	    !SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li,
		sizeof(li))) {
		printf("job: error %lu\n", (unsigned long)GetLastError());
		return 1;
	}
	/* Suspended until it is in the job, so its own children are too. */
	GetModuleFileNameA(NULL, self, sizeof(self));
	snprintf(cmd, sizeof(cmd), "\"%s\" --child", self);
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (!CreateProcessA(NULL, cmd, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL,
		&si, &pi))
		return 1;
	if (argc > 1 && strcmp(argv[1], "--nojob") == 0)
		printf("control run: child not put in the job\n");
	else if (!AssignProcessToJobObject(job, pi.hProcess)) {
		printf("AssignProcessToJobObject: error %lu\n",
		    (unsigned long)GetLastError());
		return 1;
	}
	ResumeThread(pi.hThread);
	printf("parent pid %lu, child pid %lu in the job\n",
	    (unsigned long)GetCurrentProcessId(), (unsigned long)pi.dwProcessId);
	fflush(stdout);
	Sleep(5000);
	if (argc > 1 && strcmp(argv[1], "--exit") == 0) {
		printf("parent exits\n");
		fflush(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--terminate") == 0) {
		printf("parent terminates itself\n");
		fflush(stdout);
		TerminateProcess(GetCurrentProcess(), 9);
	}
	Sleep(120000);
	return 0;
}
