/*
 * The POSIX part of a task (agent/proc.h): the warden process that runs
 * the technician's program (agent/posix/proc.c).
 */
#ifndef QH_AGENT_PROC_POSIX_H
#define QH_AGENT_PROC_POSIX_H

#include <sys/types.h>

struct proc {
	pid_t pid; /* the warden; 0 until started */
};

#endif
