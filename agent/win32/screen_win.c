/*
 * The desktop capture backend on Windows (agent/screen.h), plain GDI and
 * SendInput:
 *
 * - Capture: GetDC(NULL) and BitBlt(SRCCOPY | CAPTUREBLT) of one monitor
 *   into a 32-bit top-down DIB section (BGRX in memory, which is XRGB as
 *   a little-endian value). GDI cannot tell what changed, so every grab
 *   is whole and the RFB server's tile comparison finds the changes.
 *   The process is made DPI-aware first, so the pixels are the monitor's
 *   own and not a scaled copy. Works on Windows and under Wine, where
 *   it reads the X display (docs/windows-notes.md, g.).
 * - Pointer: GetCursorInfo for where, and for the shape DrawIconEx on a
 *   black and on a white square: what differs between the two is the
 *   shape's transparency, which covers colour, alpha and monochrome
 *   cursors alike.
 * - Input: X keysyms become virtual keys (a table for the keys that are
 *   not characters; VkKeyScanW for characters the layout types with
 *   Shift or without) or, for other characters, KEYEVENTF_UNICODE; the
 *   pointer moves in absolute coordinates of the virtual desktop, and
 *   RFB's buttons 4 and 5 turn the wheel. What is held is released when
 *   the backend closes.
 * - Clipboard: CF_UNICODETEXT both ways; changes on the customer's side
 *   are noticed by GetClipboardSequenceNumber when screen_process runs.
 *
 * Not here: the secure desktop (UAC prompts, the logon screen) is not
 * captured, and a service in session 0 has no screen at all; that is
 * refused with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "screen.h"
#include "win32/win.h"

#define MONITORS_MAX 16
#define CURSOR_MAX   128 /* the shape's side we draw at most */
#define HELD_MAX     32

struct screen {
	int index;
	RECT mon; /* the monitor on the virtual desktop */
	int w, h;
	HDC screen_dc, mem_dc;
	HBITMAP dib;
	HGDIOBJ old;
	uint32_t *bits; /* the DIB section's pixels, w x h */

	/* The pointer's shape, made from two drawings. */
	HDC cur_dc;
	HBITMAP cur_dib[2];
	uint32_t *cur_bits[2]; /* on black, on white */
	HCURSOR cur_handle;
	uint32_t cursor[CURSOR_MAX * CURSOR_MAX];
	int cur_w, cur_h, cur_hx, cur_hy;
	uint32_t serial;

	WORD held[HELD_MAX]; /* virtual keys down */
	int nheld;
	uint8_t buttons;

	screen_clip_fn clip_fn;
	void *clip_arg;
	DWORD clip_seq;
};

/* Monitors in our order: the primary first, the others as Windows lists them. */
struct monitors {
	RECT r[MONITORS_MAX];
	int n;
};

static BOOL CALLBACK
monitor_cb(HMONITOR m, HDC dc QH_UNUSED, LPRECT rect QH_UNUSED, LPARAM arg)
{
	struct monitors *ms = (struct monitors *)arg;
	MONITORINFO mi;

	mi.cbSize = sizeof(mi);
	if (ms->n == MONITORS_MAX || !GetMonitorInfoW(m, &mi))
		return TRUE;
	if (mi.dwFlags & MONITORINFOF_PRIMARY) {
		memmove(&ms->r[1], &ms->r[0], sizeof(ms->r[0]) * (size_t)ms->n);
		ms->r[0] = mi.rcMonitor;
	} else
		ms->r[ms->n] = mi.rcMonitor;
	ms->n++;
	return TRUE;
}

/* The rectangle of monitor index; 0 or QH_ERR_NOT_FOUND (*n says how many). */
static int
monitor_rect(int index, RECT *r, int *n)
{
	struct monitors ms;

	memset(&ms, 0, sizeof(ms));
	EnumDisplayMonitors(NULL, NULL, monitor_cb, (LPARAM)&ms);
	if (ms.n == 0) {
		/* Without monitor information: the primary screen's metrics. */
		ms.r[0].left = ms.r[0].top = 0;
		ms.r[0].right = GetSystemMetrics(SM_CXSCREEN);
		ms.r[0].bottom = GetSystemMetrics(SM_CYSCREEN);
		ms.n = 1;
	}
	*n = ms.n;
	if (index < 0 || index >= ms.n)
		return QH_ERR_NOT_FOUND;
	*r = ms.r[index];
	return 0;
}

/* A 32-bit top-down DIB section of w x h; NULL on failure. */
static HBITMAP
dib_new(HDC dc, int w, int h, uint32_t **bits)
{
	BITMAPINFO bi;

	memset(&bi, 0, sizeof(bi));
	bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
	bi.bmiHeader.biWidth = w;
	bi.bmiHeader.biHeight = -h; /* top-down */
	bi.bmiHeader.biPlanes = 1;
	bi.bmiHeader.biBitCount = 32;
	bi.bmiHeader.biCompression = BI_RGB;
	return CreateDIBSection(dc, &bi, DIB_RGB_COLORS, (void **)bits, NULL, 0);
}

/* (Re)makes the capture buffer for the monitor's current size. */
static int
buffer_make(struct screen *s)
{
	if (s->dib != NULL) {
		SelectObject(s->mem_dc, s->old);
		DeleteObject(s->dib);
		s->dib = NULL;
	}
	s->w = s->mon.right - s->mon.left;
	s->h = s->mon.bottom - s->mon.top;
	if (s->w <= 0 || s->h <= 0 ||
	    (s->dib = dib_new(s->screen_dc, s->w, s->h, &s->bits)) == NULL)
		return QH_ERR_SYSTEM;
	s->old = SelectObject(s->mem_dc, s->dib);
	return 0;
}

/* 1 if this process runs in session 0, where services live and no screen is. */
static int
in_session0(void)
{
	DWORD sid = 1;

	return ProcessIdToSessionId(GetCurrentProcessId(), &sid) && sid == 0;
}

int
screen_open(int index, struct screen **sp, char *why, size_t whylen)
{
	struct screen *s;
	int n = 0, i;

	*sp = NULL;
	if (in_session0() && !win_is_wine()) {
		snprintf(why, whylen,
		    "the agent runs as a service, which has no screen to share; the "
		    "customer can start qh-agent on the desktop for that");
		return QH_ERR_REFUSED;
	}
	/* Real pixels on scaled displays; the manifest says so too. */
	(void)SetProcessDPIAware();
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whylen, "the agent is out of memory");
		return QH_ERR_NOMEM;
	}
	s->index = index;
	if (monitor_rect(index, &s->mon, &n) != 0) {
		snprintf(why, whylen, "there is no monitor %d (this PC has %d)", index,
		    n);
		free(s);
		return QH_ERR_NOT_FOUND;
	}
	if ((s->screen_dc = GetDC(NULL)) == NULL ||
	    (s->mem_dc = CreateCompatibleDC(s->screen_dc)) == NULL ||
	    (s->cur_dc = CreateCompatibleDC(s->screen_dc)) == NULL ||
	    buffer_make(s) != 0) {
		snprintf(why, whylen, "the screen cannot be captured (GDI error %lu)",
		    (unsigned long)GetLastError());
		screen_close(s);
		return QH_ERR_SYSTEM;
	}
	for (i = 0; i < 2; i++)
		if ((s->cur_dib[i] = dib_new(s->screen_dc, CURSOR_MAX, CURSOR_MAX,
			 &s->cur_bits[i])) == NULL) {
			snprintf(why, whylen, "the pointer cannot be captured");
			screen_close(s);
			return QH_ERR_SYSTEM;
		}
	s->clip_seq = GetClipboardSequenceNumber();
	*sp = s;
	return 0;
}

/* Sends one keyboard event for virtual key vk (extended keys flagged). */
static void
send_vk(WORD vk, int down)
{
	static const WORD extended[] = { VK_INSERT, VK_DELETE, VK_HOME, VK_END, VK_PRIOR,
		VK_NEXT, VK_LEFT, VK_RIGHT, VK_UP, VK_DOWN, VK_RCONTROL, VK_RMENU,
		VK_LWIN, VK_RWIN, VK_APPS, VK_DIVIDE, VK_NUMLOCK, VK_SNAPSHOT };
	INPUT in;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.type = INPUT_KEYBOARD;
	in.ki.wVk = vk;
	in.ki.wScan = (WORD)MapVirtualKeyW(vk, MAPVK_VK_TO_VSC);
	in.ki.dwFlags = down ? 0 : KEYEVENTF_KEYUP;
	for (i = 0; i < sizeof(extended) / sizeof(extended[0]); i++)
		if (extended[i] == vk)
			in.ki.dwFlags |= KEYEVENTF_EXTENDEDKEY;
	(void)SendInput(1, &in, sizeof(in));
}

void
screen_close(struct screen *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = s->nheld - 1; i >= 0; i--)
		send_vk(s->held[i], 0);
	if (s->buttons != 0)
		(void)screen_buttons(s, 0, -1, -1);
	for (i = 0; i < 2; i++)
		if (s->cur_dib[i] != NULL)
			DeleteObject(s->cur_dib[i]);
	if (s->dib != NULL) {
		SelectObject(s->mem_dc, s->old);
		DeleteObject(s->dib);
	}
	if (s->cur_dc != NULL)
		DeleteDC(s->cur_dc);
	if (s->mem_dc != NULL)
		DeleteDC(s->mem_dc);
	if (s->screen_dc != NULL)
		ReleaseDC(NULL, s->screen_dc);
	free(s);
}

void
screen_size(const struct screen *s, int *w, int *h)
{
	*w = s->w;
	*h = s->h;
}

int
screen_fd(const struct screen *s QH_UNUSED)
{
	return -1;
}

/* Reads the customer's clipboard as UTF-8 for the watcher, if it changed. */
int
screen_process(struct screen *s)
{
	DWORD seq = GetClipboardSequenceNumber();
	const wchar_t *w;
	HANDLE h;
	char *u;
	int n;

	if (seq == s->clip_seq || s->clip_fn == NULL) {
		s->clip_seq = seq;
		return 0;
	}
	s->clip_seq = seq;
	if (!IsClipboardFormatAvailable(CF_UNICODETEXT) || !OpenClipboard(NULL))
		return 0;
	if ((h = GetClipboardData(CF_UNICODETEXT)) != NULL &&
	    (w = GlobalLock(h)) != NULL) {
		n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
		if (n > 1 && (u = malloc((size_t)n)) != NULL) {
			WideCharToMultiByte(CP_UTF8, 0, w, -1, u, n, NULL, NULL);
			s->clip_fn(s->clip_arg, u, strlen(u));
			free(u);
		}
		GlobalUnlock(h);
	}
	CloseClipboard();
	return 0;
}

int
screen_grab(struct screen *s, uint32_t *dst, int w, int h, size_t stride,
    int full QH_UNUSED, const int (*also)[4] QH_UNUSED, int nalso QH_UNUSED,
    struct screen_damage *d)
{
	RECT r;
	int n, y, x;

	memset(d, 0, sizeof(*d)); /* known = 0: GDI cannot tell what changed */
	if (monitor_rect(s->index, &r, &n) != 0)
		return QH_ERR_CLOSED;
	if (!EqualRect(&r, &s->mon)) {
		s->mon = r;
		if (buffer_make(s) != 0)
			return QH_ERR_SYSTEM;
	}
	if (w != s->w || h != s->h)
		return QH_ERR_AGAIN;
	if (!BitBlt(s->mem_dc, 0, 0, s->w, s->h, s->screen_dc, s->mon.left, s->mon.top,
		SRCCOPY | CAPTUREBLT))
		return QH_ERR_SYSTEM;
	GdiFlush();
	for (y = 0; y < h; y++) {
		const uint32_t *src = s->bits + (size_t)y * s->w;
		uint32_t *row = dst + (size_t)y * stride;

		for (x = 0; x < w; x++)
			row[x] = src[x] & 0xffffff;
	}
	return 0;
}

int
screen_unchanged(struct screen *s QH_UNUSED)
{
	return 0;
}

void
screen_damage_watch(struct screen *s QH_UNUSED, void (*fn)(void *arg) QH_UNUSED,
    void *arg QH_UNUSED)
{
}

/* A colour drawn at alpha a over black, as the colour itself. */
static uint32_t
unpremultiply(uint32_t c, uint32_t a)
{
	uint32_t out = 0, v;
	int sh;

	for (sh = 0; sh <= 16; sh += 8) {
		v = ((c >> sh) & 0xff) * 255 / a;
		out |= (v > 255 ? 255 : v) << sh;
	}
	return out;
}

/*
 * The shape of cursor c as ARGB: drawn on black and on white, a pixel the
 * shape covers fully looks the same on both, a transparent one takes the
 * background, and what lies between gives the alpha.
 */
static void
cursor_shape(struct screen *s, HCURSOR c)
{
	ICONINFO ii;
	BITMAP bm;
	uint32_t b, wt, a, ch;
	int w = GetSystemMetrics(SM_CXCURSOR), h = GetSystemMetrics(SM_CYCURSOR), i, k;
	HGDIOBJ old;

	s->cur_w = s->cur_h = 0;
	memset(&ii, 0, sizeof(ii));
	if (!GetIconInfo(c, &ii))
		return;
	if (ii.hbmColor != NULL && GetObjectW(ii.hbmColor, sizeof(bm), &bm)) {
		w = bm.bmWidth;
		h = bm.bmHeight;
	} else if (ii.hbmMask != NULL && GetObjectW(ii.hbmMask, sizeof(bm), &bm)) {
		w = bm.bmWidth;
		h = bm.bmHeight / 2; /* AND mask above XOR mask */
	}
	if (ii.hbmColor != NULL)
		DeleteObject(ii.hbmColor);
	if (ii.hbmMask != NULL)
		DeleteObject(ii.hbmMask);
	if (w <= 0 || h <= 0)
		return;
	w = w > CURSOR_MAX ? CURSOR_MAX : w;
	h = h > CURSOR_MAX ? CURSOR_MAX : h;
	for (k = 0; k < 2; k++) {
		memset(s->cur_bits[k], k ? 0xff : 0, (size_t)CURSOR_MAX * CURSOR_MAX * 4);
		old = SelectObject(s->cur_dc, s->cur_dib[k]);
		DrawIconEx(s->cur_dc, 0, 0, c, w, h, 0, NULL, DI_NORMAL);
		GdiFlush();
		SelectObject(s->cur_dc, old);
	}
	for (i = 0; i < w * h; i++) {
		k = (i / w) * CURSOR_MAX + i % w;
		b = s->cur_bits[0][k];
		wt = s->cur_bits[1][k];
		/*
		 * Alpha from the green channel's difference (the others agree; an
		 * inverting pixel, lighter on black, counts as opaque); the colour
		 * is what the black drawing shows, divided by that alpha.
		 */
		ch = ((wt >> 8) & 0xff) - ((b >> 8) & 0xff);
		a = ((wt >> 8) & 0xff) < ((b >> 8) & 0xff) ? 255 : 255 - ch;
		s->cursor[i] = a == 0 ? 0 : a << 24 | unpremultiply(b, a);
	}
	s->cur_w = w;
	s->cur_h = h;
	s->cur_hx = (int)ii.xHotspot < w ? (int)ii.xHotspot : 0;
	s->cur_hy = (int)ii.yHotspot < h ? (int)ii.yHotspot : 0;
}

int
screen_pointer(struct screen *s, int *x, int *y, struct screen_cursor *c)
{
	CURSORINFO ci;

	memset(&ci, 0, sizeof(ci));
	ci.cbSize = sizeof(ci);
	if (!GetCursorInfo(&ci))
		return QH_ERR_SYSTEM;
	*x = ci.ptScreenPos.x - s->mon.left;
	*y = ci.ptScreenPos.y - s->mon.top;
	memset(c, 0, sizeof(*c));
	if (!(ci.flags & CURSOR_SHOWING) || ci.hCursor == NULL) {
		c->serial = s->serial;
		return 0;
	}
	if (ci.hCursor != s->cur_handle) {
		s->cur_handle = ci.hCursor;
		cursor_shape(s, ci.hCursor);
		s->serial++;
	}
	c->argb = s->cursor;
	c->w = s->cur_w;
	c->h = s->cur_h;
	c->hx = s->cur_hx;
	c->hy = s->cur_hy;
	c->serial = s->serial;
	return 0;
}

/* Keysyms that are keys rather than characters, and their virtual keys. */
static const struct {
	uint32_t keysym;
	WORD vk;
} keys[] = {
	{ 0xff08, VK_BACK },
	{ 0xff09, VK_TAB },
	{ 0xff0d, VK_RETURN },
	{ 0xff13, VK_PAUSE },
	{ 0xff14, VK_SCROLL },
	{ 0xff1b, VK_ESCAPE },
	{ 0xff50, VK_HOME },
	{ 0xff51, VK_LEFT },
	{ 0xff52, VK_UP },
	{ 0xff53, VK_RIGHT },
	{ 0xff54, VK_DOWN },
	{ 0xff55, VK_PRIOR },
	{ 0xff56, VK_NEXT },
	{ 0xff57, VK_END },
	{ 0xff61, VK_SNAPSHOT },
	{ 0xff63, VK_INSERT },
	{ 0xff67, VK_APPS },
	{ 0xff7f, VK_NUMLOCK },
	{ 0xff8d, VK_RETURN }, /* KP_Enter */
	{ 0xffaa, VK_MULTIPLY },
	{ 0xffab, VK_ADD },
	{ 0xffad, VK_SUBTRACT },
	{ 0xffae, VK_DECIMAL },
	{ 0xffaf, VK_DIVIDE },
	{ 0xffe1, VK_LSHIFT },
	{ 0xffe2, VK_RSHIFT },
	{ 0xffe3, VK_LCONTROL },
	{ 0xffe4, VK_RCONTROL },
	{ 0xffe5, VK_CAPITAL },
	{ 0xffe7, VK_LWIN }, /* Meta_L */
	{ 0xffe8, VK_RWIN }, /* Meta_R */
	{ 0xffe9, VK_LMENU },
	{ 0xffea, VK_RMENU },
	{ 0xffeb, VK_LWIN },
	{ 0xffec, VK_RWIN },
	{ 0xfe03, VK_RMENU }, /* ISO_Level3_Shift: AltGr */
	{ 0xffff, VK_DELETE },
};

/* The virtual key of a keysym that is a key, or 0. */
static WORD
keysym_vk(uint32_t keysym)
{
	size_t i;

	if (keysym >= 0xffbe && keysym <= 0xffd5) /* F1 .. F24 */
		return (WORD)(VK_F1 + (keysym - 0xffbe));
	if (keysym >= 0xffb0 && keysym <= 0xffb9) /* KP_0 .. KP_9 */
		return (WORD)(VK_NUMPAD0 + (keysym - 0xffb0));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].keysym == keysym)
			return keys[i].vk;
	return 0;
}

/* The character a keysym types (Latin-1 and Unicode keysyms), or 0. */
static uint32_t
keysym_char(uint32_t keysym)
{
	if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff))
		return keysym;
	if (keysym >= 0x01000100 && keysym <= 0x0110ffff)
		return keysym - 0x01000000;
	return 0;
}

/* Types character ch as Unicode input (KEYEVENTF_UNICODE; pairs past U+FFFF). */
static void
send_unicode(uint32_t ch, int down)
{
	INPUT in[2];
	UINT n = 0;

	memset(in, 0, sizeof(in));
	if (ch >= 0x10000) {
		ch -= 0x10000;
		in[n].ki.wScan = (WORD)(0xd800 + (ch >> 10));
		in[n++].type = INPUT_KEYBOARD;
		ch = 0xdc00 + (ch & 0x3ff);
	}
	in[n].ki.wScan = (WORD)ch;
	in[n++].type = INPUT_KEYBOARD;
	in[0].ki.dwFlags = in[1].ki.dwFlags =
	    KEYEVENTF_UNICODE | (down ? 0 : KEYEVENTF_KEYUP);
	(void)SendInput(n, in, sizeof(in[0]));
}

/* Remembers a virtual key going down or up, for the release at the end. */
static void
track(struct screen *s, WORD vk, int down)
{
	int i;

	for (i = 0; i < s->nheld; i++)
		if (s->held[i] == vk)
			break;
	if (down && i == s->nheld && s->nheld < HELD_MAX)
		s->held[s->nheld++] = vk;
	else if (!down && i < s->nheld)
		s->held[i] = s->held[--s->nheld];
}

int
screen_key(struct screen *s, int down, uint32_t keysym)
{
	uint32_t ch;
	SHORT scan;
	WORD vk;

	if ((vk = keysym_vk(keysym)) == 0 && (ch = keysym_char(keysym)) != 0) {
		/*
		 * A character the layout types with this key alone or with Shift
		 * (which the viewer sends itself) goes as that key, so that
		 * shortcuts work; any other character as Unicode.
		 */
		scan = ch <= 0xffff ? VkKeyScanW((WCHAR)ch) : -1;
		if (scan != -1 && (scan & 0xff) != 0xff && ((scan >> 8) & ~1) == 0)
			vk = (WORD)(scan & 0xff);
		else {
			send_unicode(ch, down);
			return 0;
		}
	}
	if (vk == 0)
		return QH_ERR_NOT_FOUND;
	send_vk(vk, down);
	track(s, vk, down);
	return 0;
}

int
screen_buttons(struct screen *s, uint8_t mask, int x, int y)
{
	static const DWORD downs[3] = { MOUSEEVENTF_LEFTDOWN, MOUSEEVENTF_MIDDLEDOWN,
		MOUSEEVENTF_RIGHTDOWN };
	static const DWORD ups[3] = { MOUSEEVENTF_LEFTUP, MOUSEEVENTF_MIDDLEUP,
		MOUSEEVENTF_RIGHTUP };
	int vx = GetSystemMetrics(SM_XVIRTUALSCREEN),
	    vy = GetSystemMetrics(SM_YVIRTUALSCREEN);
	int vw = GetSystemMetrics(SM_CXVIRTUALSCREEN),
	    vh = GetSystemMetrics(SM_CYVIRTUALSCREEN);
	uint8_t changed = mask ^ s->buttons;
	INPUT in[6];
	UINT n = 0;
	int i;

	memset(in, 0, sizeof(in));
	if (x >= 0 && y >= 0 && vw > 1 && vh > 1) {
		in[n].type = INPUT_MOUSE;
		in[n].mi.dx =
		    (LONG)(((int64_t)(x + s->mon.left - vx) * 65535) / (vw - 1));
		in[n].mi.dy = (LONG)(((int64_t)(y + s->mon.top - vy) * 65535) / (vh - 1));
		in[n++].mi.dwFlags =
		    MOUSEEVENTF_MOVE | MOUSEEVENTF_ABSOLUTE | MOUSEEVENTF_VIRTUALDESK;
	}
	for (i = 0; i < 3; i++)
		if (changed & (1 << i)) {
			in[n].type = INPUT_MOUSE;
			in[n++].mi.dwFlags = (mask & (1 << i)) ? downs[i] : ups[i];
		}
	/* Buttons 4 and 5 pressed: one notch of the wheel up or down. */
	for (i = 3; i < 5; i++)
		if ((changed & mask) & (1 << i)) {
			in[n].type = INPUT_MOUSE;
			in[n].mi.dwFlags = MOUSEEVENTF_WHEEL;
			in[n++].mi.mouseData =
			    (DWORD)(i == 3 ? WHEEL_DELTA : -WHEEL_DELTA);
		}
	s->buttons = mask;
	if (n > 0 && SendInput(n, in, sizeof(in[0])) != n)
		return QH_ERR_SYSTEM;
	return 0;
}

int
screen_clip_set(struct screen *s, const char *text, size_t len)
{
	HGLOBAL g;
	wchar_t *w;
	int n;

	n = MultiByteToWideChar(CP_UTF8, 0, text, (int)len, NULL, 0);
	if (n < 0 ||
	    (g = GlobalAlloc(GMEM_MOVEABLE, ((size_t)n + 1) * sizeof(wchar_t))) == NULL)
		return QH_ERR_NOMEM;
	w = GlobalLock(g);
	MultiByteToWideChar(CP_UTF8, 0, text, (int)len, w, n);
	w[n] = L'\0';
	GlobalUnlock(g);
	if (!OpenClipboard(NULL)) {
		GlobalFree(g);
		return QH_ERR_SYSTEM;
	}
	EmptyClipboard();
	if (SetClipboardData(CF_UNICODETEXT, g) == NULL)
		GlobalFree(g);
	CloseClipboard();
	/* Our own change is not the customer's: no echo back to the viewer. */
	s->clip_seq = GetClipboardSequenceNumber();
	return 0;
}

void
screen_clip_watch(struct screen *s, screen_clip_fn fn, void *arg)
{
	s->clip_fn = fn;
	s->clip_arg = arg;
}
