/*
 * Dialling: one outgoing TCP connection to HOST:PORT, the way every part
 * of quarterhour makes one (the agent and the technician to the console,
 * a port forward's agent side to its target).
 *
 * An address literal (IPv4, or IPv6 without brackets) is used as it is; a
 * name is resolved with uv_getaddrinfo. Every address is tried in the
 * order the resolver gives, each for at most attempt_ms, and the whole
 * dial, resolving included, gives up after deadline_ms. The outcome comes
 * to one callback, never from inside qh_dial_start: a connected handle, or
 * an error with a short reason naming the last failure ("connection
 * refused", "timed out", "no such host").
 *
 * Lifetime: a dial frees itself after its callback (and after
 * qh_dial_cancel), once libuv has given back its last request and handle;
 * the caller only forgets its pointer. Everything runs on the loop given
 * to qh_dial_start; nothing here is thread-safe.
 */
#ifndef QH_DIAL_H
#define QH_DIAL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define QH_DIAL_ATTEMPT_MS 10000 /* one address, unless the caller says otherwise */
#define QH_DIAL_WHY_MAX	   128	 /* longest reason, with its NUL */

struct qh_dial;

/*
 * The outcome of a dial, called exactly once unless it was cancelled
 * first. On success err is 0, why is NULL and tcp a connected TCP handle
 * on the dial's loop that now belongs to the callee: it sets tcp->data,
 * and eventually closes it with uv_close() and free()s it in the close
 * callback (the handle was allocated with malloc). On failure tcp is NULL,
 * err a negative QH_ERR_* (QH_ERR_REFUSED, QH_ERR_TIMEOUT, QH_ERR_NOT_FOUND
 * for a name that does not resolve, ...) and why the reason, valid during
 * the call. d is gone when the callback returns; qh_dial_cancel(d) inside
 * it does nothing.
 */
typedef void (
    *qh_dial_cb)(struct qh_dial *d, uv_tcp_t *tcp, int err, const char *why, void *arg);

/*
 * Starts dialling host (a name or an address literal) at port (1..65535),
 * each address for at most attempt_ms and all of it within deadline_ms
 * (both at least 1). On 0 *dp names the dial until its callback runs or
 * it is cancelled. Returns QH_ERR_ARG or QH_ERR_NOMEM, with no callback to
 * follow and *dp NULL, when nothing could be started; any other failure,
 * even an immediate one, comes to cb on a later turn of the loop.
 */
int qh_dial_start(uv_loop_t *loop, const char *host, int port, uint64_t attempt_ms,
    uint64_t deadline_ms, qh_dial_cb cb, void *arg, struct qh_dial **dp);

/*
 * Stops a dial: the attempt under way is abandoned and its socket closed,
 * a lookup is cancelled, and no callback follows. NULL, or a dial whose
 * callback is running, is fine.
 */
void qh_dial_cancel(struct qh_dial *d);

#endif
