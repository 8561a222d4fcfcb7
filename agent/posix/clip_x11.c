/*
 * The CLIPBOARD selection for the X11 backend. Text from the viewer is
 * offered by owning CLIPBOARD from a window of our own and answering the
 * SelectionRequests of the customer's programs (UTF8_STRING, STRING,
 * TEXT, TARGETS). Text the customer copies is noticed through XFIXES
 * (SetSelectionOwner events), converted to UTF8_STRING into a property of
 * our window and read from there, at most X11_CLIP_MAX bytes; INCR
 * transfers (larger ones) are skipped.
 */
#include <stdlib.h>
#include <string.h>

#include <xcb/xfixes.h>

#include "qh/err.h"
#include "qh/log.h"
#include "x11.h"

int
x11_clip_init(struct screen *s)
{
	xcb_void_cookie_t ck;
	xcb_generic_error_t *e;
	uint32_t mask = XCB_EVENT_MASK_PROPERTY_CHANGE;

	s->win = xcb_generate_id(s->c);
	ck = xcb_create_window_checked(s->c, XCB_COPY_FROM_PARENT, s->win, s->root, -1,
	    -1, 1, 1, 0, XCB_WINDOW_CLASS_INPUT_ONLY, XCB_COPY_FROM_PARENT,
	    XCB_CW_EVENT_MASK, &mask);
	if ((e = xcb_request_check(s->c, ck)) != NULL) {
		free(e);
		s->win = XCB_NONE;
		return QH_ERR_SYSTEM;
	}
	s->a_clipboard = x11_atom(s->c, "CLIPBOARD");
	s->a_utf8 = x11_atom(s->c, "UTF8_STRING");
	s->a_targets = x11_atom(s->c, "TARGETS");
	s->a_text = x11_atom(s->c, "TEXT");
	s->a_incr = x11_atom(s->c, "INCR");
	s->a_prop = x11_atom(s->c, "QH_CLIPBOARD");
	if (s->xfixes_event >= 0)
		xcb_xfixes_select_selection_input(s->c, s->win, s->a_clipboard,
		    XCB_XFIXES_SELECTION_EVENT_MASK_SET_SELECTION_OWNER);
	return 0;
}

void
x11_clip_free(struct screen *s)
{
	if (s->win != XCB_NONE && s->c != NULL && !xcb_connection_has_error(s->c))
		xcb_destroy_window(s->c, s->win);
	s->win = XCB_NONE;
	free(s->clip);
	s->clip = NULL;
}

void
screen_clip_watch(struct screen *s, screen_clip_fn fn, void *arg)
{
	s->clip_fn = fn;
	s->clip_arg = arg;
}

int
screen_clip_set(struct screen *s, const char *text, size_t len)
{
	char *copy;

	if (len > X11_CLIP_MAX)
		len = X11_CLIP_MAX;
	if ((copy = malloc(len + 1)) == NULL)
		return QH_ERR_NOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	free(s->clip);
	s->clip = copy;
	s->clip_len = len;
	xcb_set_selection_owner(s->c, s->win, s->a_clipboard, XCB_CURRENT_TIME);
	xcb_flush(s->c);
	return 0;
}

/* Answers a program that asks for our text. */
static void
answer_request(struct screen *s, const xcb_selection_request_event_t *rq)
{
	xcb_selection_notify_event_t ev;
	xcb_atom_t targets[4] = { s->a_targets, s->a_utf8, XCB_ATOM_STRING, s->a_text };
	xcb_atom_t prop = rq->property != XCB_NONE ? rq->property : rq->target;

	if (rq->selection != s->a_clipboard || s->clip == NULL)
		prop = XCB_NONE;
	else if (rq->target == s->a_targets)
		xcb_change_property(s->c, XCB_PROP_MODE_REPLACE, rq->requestor, prop,
		    XCB_ATOM_ATOM, 32, 4, targets);
	else if (rq->target == s->a_utf8 || rq->target == XCB_ATOM_STRING ||
	    rq->target == s->a_text)
		xcb_change_property(s->c, XCB_PROP_MODE_REPLACE, rq->requestor, prop,
		    rq->target == s->a_text ? s->a_utf8 : rq->target, 8,
		    (uint32_t)s->clip_len, s->clip);
	else
		prop = XCB_NONE;
	memset(&ev, 0, sizeof(ev));
	ev.response_type = XCB_SELECTION_NOTIFY;
	ev.time = rq->time;
	ev.requestor = rq->requestor;
	ev.selection = rq->selection;
	ev.target = rq->target;
	ev.property = prop;
	xcb_send_event(s->c, 0, rq->requestor, XCB_EVENT_MASK_NO_EVENT,
	    (const char *)&ev);
	xcb_flush(s->c);
}

/* Reads the converted text from our property and passes it on. */
static void
read_converted(struct screen *s)
{
	xcb_get_property_reply_t *r;
	const char *p;
	char *text;
	int len;

	r = xcb_get_property_reply(s->c,
	    xcb_get_property(s->c, 1, s->win, s->a_prop, XCB_GET_PROPERTY_TYPE_ANY, 0,
		X11_CLIP_MAX / 4),
	    NULL);
	if (r == NULL)
		return;
	if (r->type == s->a_incr || r->format != 8) {
		qh_debug("clipboard text skipped (INCR or not text)");
		free(r);
		return;
	}
	len = xcb_get_property_value_length(r);
	p = xcb_get_property_value(r);
	if (len > 0 && s->clip_fn != NULL && (text = malloc((size_t)len + 1)) != NULL) {
		memcpy(text, p, (size_t)len);
		text[len] = '\0';
		/* Text stops at a NUL, as C strings do. */
		s->clip_fn(s->clip_arg, text, strlen(text));
		free(text);
	}
	free(r);
}

int
x11_clip_event(struct screen *s, xcb_generic_event_t *ev)
{
	uint8_t type = ev->response_type & 0x7f;
	xcb_xfixes_selection_notify_event_t *xf;
	xcb_selection_notify_event_t *sn;

	if (s->xfixes_event >= 0 &&
	    type == s->xfixes_event + XCB_XFIXES_SELECTION_NOTIFY) {
		xf = (xcb_xfixes_selection_notify_event_t *)ev;
		/* Someone else copied: ask for the text as UTF-8. */
		if (xf->owner != s->win && xf->owner != XCB_NONE && s->clip_fn != NULL)
			xcb_convert_selection(s->c, s->win, s->a_clipboard, s->a_utf8,
			    s->a_prop, xf->timestamp);
		xcb_flush(s->c);
		return 1;
	}
	switch (type) {
	case XCB_SELECTION_REQUEST:
		answer_request(s, (xcb_selection_request_event_t *)ev);
		return 1;
	case XCB_SELECTION_NOTIFY:
		sn = (xcb_selection_notify_event_t *)ev;
		if (sn->requestor == s->win && sn->property != XCB_NONE)
			read_converted(s);
		return 1;
	case XCB_SELECTION_CLEAR:
		free(s->clip);
		s->clip = NULL;
		return 1;
	default:
		return 0;
	}
}
