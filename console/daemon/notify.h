/*
 * notify_command, the second channel of R5 notifications: the outbox's
 * command rows (deliver.c) are handed to [billing] notify_command, run
 * through /bin/sh with the notification's JSON document on stdin. This
 * module runs one command and says how it ended; what to run when, and
 * the retries, are the outbox's, as for mail.
 */
#ifndef QH_DAEMON_NOTIFY_H
#define QH_DAEMON_NOTIFY_H

#include <stddef.h>

#include "server.h"

/*
 * Runs notify_command with doc (len bytes, a newline is added) on its
 * stdin, killed after 30 s, then calls done(arg, why) on the loop: why is
 * NULL when the command exited 0, else a short reason. Returns 0, or an
 * error with done not called.
 */
int notify_run(struct server *srv, const char *doc, size_t len,
    void (*done)(void *arg, const char *why), void *arg);

#endif
