/*
 * The desktop of a Windows service (agent/win32/deskhelper.c). A service
 * runs in session 0, which has no screen: for a desktop it starts this
 * same program as a helper in the session at the PC's screen, as the user
 * logged on there, and relays the RFB stream between the channel and the
 * helper over a named pipe. The helper (`qh-agent service desktop`) runs
 * the capture backend and the RFB server (rfbsess.h) on its end of the
 * pipe and ends when the pipe closes.
 *
 * The functions below are the service's side, with the contract of their
 * rfbsess_* namesakes (rfbsess.h) for desktop.c.
 */
#ifndef QH_AGENT_DESKHELPER_H
#define QH_AGENT_DESKHELPER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "qh/cli.h"
#include "rfbsess.h"

struct deskhelper;

/* 1 in the service: its desktops are served by a helper. */
int deskhelper_wanted(void);

/* The service says so when it starts (service.c). */
void deskhelper_set_wanted(void);

/*
 * Starts the helper for monitor screen_index, its ServerInit carrying
 * name, input enabled if control.
 * Fails (<0, a sentence for the technician in why) when nobody is logged
 * on at the screen or the helper cannot be started; a helper that cannot
 * capture reports its reason later through io->failed.
 */
int deskhelper_new(uv_loop_t *loop, int screen_index, const char *name, int control,
    const struct rfbsess_io *io, void *arg, struct deskhelper **hp, char *why,
    size_t whylen);

/* Bytes from the viewer; 0, or QH_ERR_TOO_LARGE past RFB_INPUT_MAX unconsumed. */
int deskhelper_input(struct deskhelper *h, const uint8_t *p, size_t len);

/* The transport has room again. */
void deskhelper_writable(struct deskhelper *h);

/*
 * Ends the helper (its process is terminated) and the relay; no io
 * callback runs afterwards. h may be NULL.
 */
void deskhelper_close(struct deskhelper *h);

/* qh-agent service desktop: the helper itself. */
extern const struct qh_cli_cmd cmd_service_desktop_entry;

#endif
