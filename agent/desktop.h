/*
 * The agent's "desktop" action: the customer's screen served as RFB over
 * one channel the console opened (desktop.c), and what the customer's side
 * needs to know and do about the desktops that are open.
 *
 * ACTION fields: QH_K_LOGIN (the technician), QH_K_FLAGS (u32, optional):
 * DESKTOP_F_CONTROL lets input and clipboard through (the technician has
 * consent to control), bits 8..15 the monitor (0 = primary). Consent is
 * the caller's business: desktop_start serves whatever it is asked.
 */
#ifndef QH_AGENT_DESKTOP_H
#define QH_AGENT_DESKTOP_H

#include "agent.h"

#define DESKTOP_F_CONTROL      0x1
#define DESKTOP_F_SCREEN_SHIFT 8
#define DESKTOP_F_SCREEN_MASK  0xff00

/*
 * Starts serving the screen on ch (an ACTION with cmd "desktop"): accepts
 * the channel, or refuses it with the reason (no display, a Wayland
 * session, no such monitor) for the technician. Same contract as
 * exec_start: returns 0, also for a refusal.
 */
int desktop_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m);

/*
 * The customer takes control back: every open desktop stops passing input
 * and clipboard on (keys and buttons held are released); viewing goes on.
 * A Windows service's desktop (its helper's input is fixed) ends instead.
 * Returns how many desktops had control.
 */
int desktop_revoke_control(void);

/* Desktops open now, and how many of them have control (may be NULL). */
int desktop_count(int *controlled);

/* Closes every open desktop (the session ends). */
void desktop_close_all(void);

#endif
