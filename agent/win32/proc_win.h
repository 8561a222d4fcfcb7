/*
 * The Windows part of a task (agent/proc.h): the program's process and
 * the Job Object that holds it and everything it starts
 * (agent/win32/proc.c, agent/win32/conpty.c).
 */
#ifndef QH_AGENT_PROC_WIN_H
#define QH_AGENT_PROC_WIN_H

#include <uv.h>

struct proc {
	uv_process_t uvp;      /* exec: started by uv_spawn */
	unsigned uvp_open : 1; /* uvp initialised and not yet closed */
	unsigned async_open : 1;
	unsigned ended : 1; /* the shell's process has exited */
	void *job;	    /* HANDLE: the task's Job Object, or NULL */
	void *process;	    /* HANDLE: a shell's process */
	void *pc;	    /* HPCON: a shell's pseudo console */
	void *wait;	    /* HANDLE: the wait for the shell's exit */
	uv_async_t exited;  /* woken from the wait's thread */
	unsigned long code; /* the shell's exit code, once ended */
	long pid;
};

#endif
