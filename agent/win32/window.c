/*
 * The customer's window on Windows (plain Win32, no toolkit): the
 * vendor's name, the six-digit session code in large digits to read out
 * on the phone, the prepaid balance, what the technician does, that the
 * session is recorded and billed per started 15 minutes, and "End
 * session". A technician's consent question is a dialog of its own with
 * Allow and Deny that names the technician and what they ask for: to
 * connect, to see the screen, to control mouse and keyboard. While a
 * technician sees the screen a banner says who, and "Take back control"
 * ends their control (they still see it). Closing the window ends the
 * session. A PC that is not enrolled asks for the join token first,
 * unless the program carries one (qh/exetag.h).
 *
 * Two threads: the window has its own, with its message loop; the agent
 * runs on the main thread as `qh-agent run` would (its loop calls the
 * struct ui_window functions below, which post the text to the window),
 * and the window's buttons come back to it through ui_post. What the
 * agent writes on stderr (why a connection failed, why a join was
 * refused) is shown in the window's status line too.
 *
 * Tests find the windows by their classes (QuarterhourAgent,
 * QuarterhourConsent) and read and click their controls, whose texts are
 * the ones shown (tests/tools/win_uitool.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <io.h>
#include <windows.h>

#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/exetag.h"
#include "qh/log.h"
#include "agent.h"
#include "platform.h"
#include "win32/win.h"

#define MAIN_CLASS    L"QuarterhourAgent"
#define CONSENT_CLASS L"QuarterhourConsent"

#define WIN_W  500
#define WIN_H  600
#define PAD    20
#define CODE_Y 88 /* where the code section starts */

/* Messages from the agent's thread; lParam is a heap string the window frees. */
enum {
	WM_QH_CODE = WM_APP + 1,
	WM_QH_STATUS,
	WM_QH_BALANCE, /* wParam: 1 when low */
	WM_QH_ACTIVITY,
	WM_QH_ASK, /* wParam: the question's id (low 32 bits; see ask_id) */
	WM_QH_WITHDRAW,
	WM_QH_ENDED,
	WM_QH_TOKEN,	/* show the token prompt */
	WM_QH_FINISHED, /* the agent is done: the button closes */
	WM_QH_VENDOR,
	WM_QH_DESKTOP, /* wParam: 1 when someone controls the screen; "" hides */
};

/* Controls. */
enum {
	IDC_VENDOR = 100,
	IDC_TITLE,
	IDC_CODE_LABEL,
	IDC_CODE,
	IDC_CODE_HINT,
	IDC_BALANCE,
	IDC_STATUS,
	IDC_NOTICE,
	IDC_LIST_LABEL,
	IDC_LIST,
	IDC_END,
	IDC_TOKEN_LABEL,
	IDC_TOKEN,
	IDC_CONNECT,
	IDC_ASK_TEXT,
	IDC_ASK_NOTE,
	IDC_ALLOW,
	IDC_DENY,
	IDC_DESK_TEXT,
	IDC_TAKE_BACK,
	IDC_SHOT,
};

#define NOTICE N_("This session is recorded and billed per started 15 minutes.")

/* The window's side; written by the window's thread unless said otherwise. */
static struct {
	HANDLE thread;
	HANDLE ready; /* set once the window exists (or failed to) */
	HWND main, consent;
	HFONT font, bold, big, title;
	uint64_t ask_id;    /* the question on screen */
	int finished;	    /* the agent is done: "Close" only */
	int closed;	    /* the customer closed the window */
	int ask_token;	    /* the token prompt is shown */
	HANDLE token_event; /* set when a token was entered or the window closed */
	char *token;	    /* the token entered (the main thread takes it) */
	CRITICAL_SECTION lock;
	HANDLE err_orig;    /* stderr before we captured it */
	char last_err[512]; /* the last line on stderr (guarded by lock) */
	wchar_t vendor[256];
} W;

/* Text between threads. */

/* A text of ours in the customer's language, as UTF-16 in buf (n chars). */
static const wchar_t *
wtext(const char *msgid, wchar_t *buf, int n)
{
	if (MultiByteToWideChar(CP_UTF8, 0, _(msgid), -1, buf, n) == 0)
		buf[0] = L'\0';
	return buf;
}

/* The same in a buffer that lives until the end of the enclosing block. */
#define WT(msgid) wtext((msgid), (wchar_t[512]){ 0 }, 512)

static wchar_t *
wide_or_empty(const char *s)
{
	wchar_t *w = win_wide(s != NULL ? s : "");

	if (w == NULL)
		w = calloc(1, sizeof(wchar_t));
	return w;
}

/* Posts a copy of text to the window; dropped when there is no window. */
static void
post_text(UINT msg, WPARAM wp, const char *text)
{
	wchar_t *w = wide_or_empty(text);

	if (w == NULL)
		return;
	if (W.main == NULL || !PostMessageW(W.main, msg, wp, (LPARAM)w))
		free(w);
}

/* struct ui_window, called on the agent's loop thread. */

static void
ui_code(const char *code)
{
	char spaced[32];

	if (strlen(code) == 6)
		snprintf(spaced, sizeof(spaced), "%.3s %.3s", code, code + 3);
	else
		snprintf(spaced, sizeof(spaced), "%s", code);
	post_text(WM_QH_CODE, 0, spaced);
}

static void
ui_status(const char *text)
{
	post_text(WM_QH_STATUS, 0, text);
}

static void
ui_balance(const char *text, int low)
{
	char line[256];

	if (low)
		snprintf(line, sizeof(line), _("Prepaid balance: %s (running low)"),
		    text);
	else
		snprintf(line, sizeof(line), _("Prepaid balance: %s"), text);
	post_text(WM_QH_BALANCE, (WPARAM)(low != 0), line);
}

static void
ui_activity(const char *line)
{
	post_text(WM_QH_ACTIVITY, 0, line);
}

/*
 * The question and, after a line break, what allowing it means, then the
 * console's note (overdraft, an installation's credit) in the same dialog.
 */
static void
ui_ask(uint64_t id, const char *login, const char *name, unsigned want, int recorded,
    const char *note)
{
	const char *who = name[0] != '\0' ? name : login;
	char text[1800], q[300];
	size_t used;

	EnterCriticalSection(&W.lock);
	W.ask_id = id;
	LeaveCriticalSection(&W.lock);
	if (want & GRANT_CONTROL) {
		snprintf(q, sizeof(q), _("%s wants to CONTROL your mouse and keyboard."),
		    who);
		snprintf(text, sizeof(text), "%s\n%s %s%s%s", q,
		    _("The technician would see your screen and use your mouse and "
		      "keyboard."),
		    recorded ? _("The screen is recorded.") : "", recorded ? " " : "",
		    _("You can take control back at any time with \"Take back "
		      "control\"."));
	} else if (want & GRANT_VIEW) {
		snprintf(q, sizeof(q), _("%s wants to SEE your screen."), who);
		snprintf(text, sizeof(text), "%s\n%s %s", q,
		    _("The technician would see your screen until the session ends, "
		      "but not use your mouse or keyboard."),
		    recorded ? _("The screen is recorded.") : "");
	} else {
		snprintf(q, sizeof(q),
		    _("Technician %s (%s) wants to connect to this PC."), who, login);
		snprintf(text, sizeof(text), "%s\n%s", q,
		    _("If you allow it, the technician can run commands and copy files "
		      "on this PC until the session ends."));
	}
	if (note[0] != '\0' && (used = strlen(text)) < sizeof(text)) {
		snprintf(text + used, sizeof(text) - used, "\n\n");
		used = strlen(text);
		snprintf(text + used, sizeof(text) - used, _("Note: %s"), note);
	}
	post_text(WM_QH_ASK, 0, text);
}

static void
ui_withdraw(void)
{
	post_text(WM_QH_WITHDRAW, 0, "");
}

static void
ui_ended(const char *text)
{
	post_text(WM_QH_ENDED, 0, text);
}

static void
ui_desktop(const char *text, int controlled)
{
	post_text(WM_QH_DESKTOP, (WPARAM)(controlled != 0), text);
}

static const struct ui_window window_ops = {
	.code = ui_code,
	.status = ui_status,
	.balance = ui_balance,
	.activity = ui_activity,
	.ask = ui_ask,
	.withdraw = ui_withdraw,
	.ended = ui_ended,
	.desktop = ui_desktop,
};

int
win_window_active(void)
{
	return W.main != NULL;
}

/* The window's thread. */

static HWND
control(HWND parent, const wchar_t *cls, const wchar_t *text, DWORD style, int x, int y,
    int w, int h, int id, HFONT font)
{
	HWND c = CreateWindowExW(0, cls, text, WS_CHILD | WS_VISIBLE | style, x, y, w, h,
	    parent, (HMENU)(INT_PTR)id, GetModuleHandleW(NULL), NULL);

	if (c != NULL)
		SendMessageW(c, WM_SETFONT, (WPARAM)font, TRUE);
	return c;
}

static void
show(HWND parent, int id, int visible)
{
	ShowWindow(GetDlgItem(parent, id), visible ? SW_SHOW : SW_HIDE);
}

/* The code section, or the token prompt in its place. */
static void
show_token_prompt(HWND h, int prompt)
{
	static const int code_ids[] = { IDC_CODE_LABEL, IDC_CODE, IDC_CODE_HINT,
		IDC_BALANCE };
	size_t i;

	for (i = 0; i < sizeof(code_ids) / sizeof(code_ids[0]); i++)
		show(h, code_ids[i], !prompt);
	show(h, IDC_TOKEN_LABEL, prompt);
	show(h, IDC_TOKEN, prompt);
	show(h, IDC_CONNECT, prompt);
	W.ask_token = prompt;
	if (prompt)
		SetFocus(GetDlgItem(h, IDC_TOKEN));
}

static void
create_controls(HWND h)
{
	int y = PAD, w = WIN_W - 2 * PAD - 16;

	control(h, L"STATIC", W.vendor, SS_LEFT, PAD, y, w, 30, IDC_VENDOR, W.title);
	y += 32;
	control(h, L"STATIC", WT(N_("Remote support")), SS_LEFT, PAD, y, w, 20, IDC_TITLE,
	    W.font);
	y += 36;
	control(h, L"STATIC", WT(N_("Your session code:")), SS_LEFT, PAD, y, w, 20,
	    IDC_CODE_LABEL, W.bold);
	control(h, L"STATIC",
	    WT(N_("This PC is not enrolled yet. Paste the join token from your support "
		  "vendor and press Connect:")),
	    SS_LEFT, PAD, y, w, 36, IDC_TOKEN_LABEL, W.font);
	y += 24;
	control(h, L"STATIC", L"--- ---", SS_CENTER, PAD, y, w, 64, IDC_CODE, W.big);
	control(h, L"EDIT", L"", WS_BORDER | ES_AUTOHSCROLL | WS_TABSTOP, PAD, y + 20,
	    w - 110, 26, IDC_TOKEN, W.font);
	control(h, L"BUTTON", WT(N_("Connect")), BS_DEFPUSHBUTTON | WS_TABSTOP,
	    PAD + w - 100, y + 19, 100, 28, IDC_CONNECT, W.font);
	y += 68;
	control(h, L"STATIC", WT(N_("Read this code to your technician on the phone.")),
	    SS_CENTER, PAD, y, w, 20, IDC_CODE_HINT, W.font);
	y += 30;
	control(h, L"STATIC", WT(N_("Prepaid balance: ...")), SS_LEFT, PAD, y, w, 20,
	    IDC_BALANCE, W.bold);
	y += 26;
	control(h, L"STATIC", WT(N_("Starting...")), SS_LEFT, PAD, y, w, 40, IDC_STATUS,
	    W.font);
	y += 46;
	control(h, L"STATIC", WT(NOTICE), SS_LEFT, PAD, y, w, 36, IDC_NOTICE, W.font);
	y += 44;
	control(h, L"STATIC", WT(N_("What your technician does:")), SS_LEFT, PAD, y, w,
	    20, IDC_LIST_LABEL, W.bold);
	y += 22;
	control(h, L"LISTBOX", L"", WS_BORDER | WS_VSCROLL | LBS_NOINTEGRALHEIGHT, PAD, y,
	    w, WIN_H - y - 150, IDC_LIST, W.font);
	/* Who sees the screen, shown only while someone does. */
	control(h, L"STATIC", L"", SS_LEFT, PAD, WIN_H - 140, w - 170, 38, IDC_DESK_TEXT,
	    W.bold);
	control(h, L"BUTTON", WT(N_("Take back control")), BS_PUSHBUTTON | WS_TABSTOP,
	    PAD + w - 160, WIN_H - 138, 160, 30, IDC_TAKE_BACK, W.font);
	show(h, IDC_DESK_TEXT, 0);
	show(h, IDC_TAKE_BACK, 0);
	control(h, L"BUTTON", WT(N_("Send a screenshot")), BS_PUSHBUTTON | WS_TABSTOP,
	    PAD, WIN_H - 96, 180, 32, IDC_SHOT, W.font);
	control(h, L"BUTTON", WT(N_("End session")), BS_PUSHBUTTON | WS_TABSTOP,
	    PAD + w - 140, WIN_H - 96, 140, 32, IDC_END, W.bold);
	show_token_prompt(h, 0);
}

/*
 * The consent dialog for the question on screen ("question\nwhat it means",
 * and the console's note after an empty line).
 */
static void
consent_open(HWND owner, wchar_t *question)
{
	wchar_t *note = wcschr(question, L'\n'), note_all[1400];
	RECT r;
	HWND d;
	int w = 440, hgt = 340, x, y;

	if (note != NULL)
		*note++ = L'\0';
	_snwprintf(note_all, sizeof(note_all) / sizeof(note_all[0]), L"%ls %ls",
	    note != NULL ? note : L"", WT(NOTICE));
	note_all[sizeof(note_all) / sizeof(note_all[0]) - 1] = L'\0';

	if (W.consent != NULL)
		DestroyWindow(W.consent);
	GetWindowRect(owner, &r);
	x = r.left + (r.right - r.left - w) / 2;
	y = r.top + 80;
	d = CreateWindowExW(WS_EX_TOPMOST | WS_EX_DLGMODALFRAME, CONSENT_CLASS,
	    WT(N_("A technician wants to connect")), WS_POPUP | WS_CAPTION | WS_SYSMENU,
	    x, y, w, hgt, owner, NULL, GetModuleHandleW(NULL), NULL);
	if (d == NULL)
		return;
	W.consent = d;
	control(d, L"STATIC", question, SS_LEFT, PAD, PAD, w - 2 * PAD - 10, 40,
	    IDC_ASK_TEXT, W.bold);
	control(d, L"STATIC", note_all, SS_LEFT, PAD, PAD + 44, w - 2 * PAD - 10, 146,
	    IDC_ASK_NOTE, W.font);
	control(d, L"BUTTON", WT(N_("Allow")), BS_DEFPUSHBUTTON | WS_TABSTOP,
	    w - 2 * PAD - 210, hgt - 80, 100, 30, IDC_ALLOW, W.bold);
	control(d, L"BUTTON", WT(N_("Deny")), BS_PUSHBUTTON | WS_TABSTOP,
	    w - 2 * PAD - 100, hgt - 80, 100, 30, IDC_DENY, W.font);
	ShowWindow(d, SW_SHOW);
	UpdateWindow(d);
	SetForegroundWindow(d);
}

/* The customer answered (or closed the dialog: Deny). */
static void
consent_answer(int allow)
{
	uint64_t id;

	EnterCriticalSection(&W.lock);
	id = W.ask_id;
	LeaveCriticalSection(&W.lock);
	if (W.consent != NULL) {
		HWND d = W.consent;

		W.consent = NULL;
		DestroyWindow(d);
	}
	ui_post(allow ? UI_EV_ALLOW : UI_EV_DENY, id);
}

static LRESULT CALLBACK
consent_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
	switch (msg) {
	case WM_COMMAND:
		if (LOWORD(wp) == IDC_ALLOW || LOWORD(wp) == IDC_DENY) {
			consent_answer(LOWORD(wp) == IDC_ALLOW);
			return 0;
		}
		break;
	case WM_CLOSE:
		consent_answer(0);
		return 0;
	case WM_CTLCOLORSTATIC:
		SetBkMode((HDC)wp, TRANSPARENT);
		return (LRESULT)GetSysColorBrush(COLOR_WINDOW);
	}
	return DefWindowProcW(h, msg, wp, lp);
}

/* The token typed or pasted: handed to the main thread. */
static void
token_entered(HWND h)
{
	wchar_t w[2048];
	char *t;
	size_t i, j;

	GetDlgItemTextW(h, IDC_TOKEN, w, 2048);
	if ((t = malloc(8192)) == NULL || win_utf8(w, t, 8192) != 0) {
		free(t);
		return;
	}
	/* Pasted from an e-mail: blanks and line breaks around and inside. */
	for (i = j = 0; t[i] != '\0'; i++)
		if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n')
			t[j++] = t[i];
	t[j] = '\0';
	if (j == 0) {
		free(t);
		return;
	}
	EnterCriticalSection(&W.lock);
	free(W.token);
	W.token = t;
	LeaveCriticalSection(&W.lock);
	show_token_prompt(h, 0);
	SetDlgItemTextW(h, IDC_STATUS, WT(N_("Enrolling this PC...")));
	SetEvent(W.token_event);
}

static LRESULT CALLBACK
main_proc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
	wchar_t *text = (wchar_t *)lp;
	HWND list;
	LRESULT n;

	switch (msg) {
	case WM_CREATE:
		create_controls(h);
		return 0;
	case WM_COMMAND:
		if (LOWORD(wp) == IDC_END) {
			if (W.finished)
				DestroyWindow(h);
			else {
				SetDlgItemTextW(h, IDC_STATUS,
				    WT(N_("Ending the session...")));
				EnableWindow(GetDlgItem(h, IDC_END), FALSE);
				ui_post(UI_EV_END, 0);
			}
		} else if (LOWORD(wp) == IDC_CONNECT)
			token_entered(h);
		else if (LOWORD(wp) == IDC_TAKE_BACK)
			ui_post(UI_EV_TAKE_CONTROL, 0);
		else if (LOWORD(wp) == IDC_SHOT)
			ui_post(UI_EV_SCREENSHOT, 0);
		return 0;
	case WM_CLOSE:
		/* Closing the window ends the session. */
		if (!W.finished)
			ui_post(UI_EV_END, 0);
		W.closed = 1;
		DestroyWindow(h);
		return 0;
	case WM_DESTROY:
		W.main = NULL;
		W.closed = 1;
		SetEvent(W.token_event);
		PostQuitMessage(0);
		return 0;
	case WM_CTLCOLORSTATIC:
		SetBkMode((HDC)wp, TRANSPARENT);
		if (GetDlgCtrlID((HWND)lp) == IDC_CODE)
			SetTextColor((HDC)wp, RGB(0x10, 0x40, 0x90));
		else if (GetDlgCtrlID((HWND)lp) == IDC_DESK_TEXT)
			SetTextColor((HDC)wp, RGB(0xb0, 0x10, 0x10));
		return (LRESULT)GetSysColorBrush(COLOR_WINDOW);
	case WM_QH_CODE:
		SetDlgItemTextW(h, IDC_CODE, text);
		break;
	case WM_QH_STATUS:
		SetDlgItemTextW(h, IDC_STATUS, text);
		break;
	case WM_QH_BALANCE:
		SetDlgItemTextW(h, IDC_BALANCE, text);
		break;
	case WM_QH_VENDOR:
		SetDlgItemTextW(h, IDC_VENDOR, text);
		SetWindowTextW(h, text);
		break;
	case WM_QH_ACTIVITY:
		list = GetDlgItem(h, IDC_LIST);
		n = SendMessageW(list, LB_ADDSTRING, 0, (LPARAM)text);
		if (n >= 0)
			SendMessageW(list, LB_SETTOPINDEX, (WPARAM)n, 0);
		break;
	case WM_QH_ASK:
		consent_open(h, text);
		break;
	case WM_QH_DESKTOP:
		SetDlgItemTextW(h, IDC_DESK_TEXT, text);
		show(h, IDC_DESK_TEXT, text[0] != L'\0');
		show(h, IDC_TAKE_BACK, text[0] != L'\0' && wp != 0);
		break;
	case WM_QH_WITHDRAW:
		if (W.consent != NULL) {
			DestroyWindow(W.consent);
			W.consent = NULL;
		}
		SetDlgItemTextW(h, IDC_STATUS,
		    WT(N_("The question was withdrawn: the connection was lost.")));
		break;
	case WM_QH_ENDED:
		/* The result where the code was: the code means nothing any more. */
		show(h, IDC_CODE_LABEL, 0);
		show(h, IDC_CODE, 0);
		show(h, IDC_CODE_HINT, 0);
		MoveWindow(GetDlgItem(h, IDC_STATUS), PAD, CODE_Y, WIN_W - 2 * PAD - 16,
		    96, TRUE);
		SetDlgItemTextW(h, IDC_STATUS, text);
		break;
	case WM_QH_TOKEN:
		show_token_prompt(h, 1);
		if (text == NULL || text[0] == L'\0')
			SetDlgItemTextW(h, IDC_STATUS,
			    WT(N_("The token is the line beginning with qh1. in your "
				  "vendor's e-mail.")));
		else
			SetDlgItemTextW(h, IDC_STATUS, text);
		break;
	case WM_QH_FINISHED:
		W.finished = 1;
		SetDlgItemTextW(h, IDC_END, WT(N_("Close")));
		EnableWindow(GetDlgItem(h, IDC_END), TRUE);
		break;
	default:
		return DefWindowProcW(h, msg, wp, lp);
	}
	free(text);
	return 0;
}

static HFONT
font(int height, int weight, const wchar_t *face)
{
	return CreateFontW(height, 0, 0, 0, weight, FALSE, FALSE, FALSE, DEFAULT_CHARSET,
	    OUT_DEFAULT_PRECIS, CLIP_DEFAULT_PRECIS, CLEARTYPE_QUALITY,
	    DEFAULT_PITCH | FF_SWISS, face);
}

static DWORD WINAPI
window_thread(void *arg QH_UNUSED)
{
	WNDCLASSEXW wc;
	MSG m;

	W.font = font(-15, FW_NORMAL, L"Segoe UI");
	W.bold = font(-15, FW_BOLD, L"Segoe UI");
	W.title = font(-22, FW_BOLD, L"Segoe UI");
	W.big = font(-56, FW_BOLD, L"Segoe UI");
	memset(&wc, 0, sizeof(wc));
	wc.cbSize = sizeof(wc);
	wc.hInstance = GetModuleHandleW(NULL);
	wc.hCursor = LoadCursorW(NULL, (LPCWSTR)IDC_ARROW);
	wc.hIcon = LoadIconW(NULL, (LPCWSTR)IDI_APPLICATION);
	wc.hbrBackground = GetSysColorBrush(COLOR_WINDOW);
	wc.lpfnWndProc = main_proc;
	wc.lpszClassName = MAIN_CLASS;
	RegisterClassExW(&wc);
	wc.lpfnWndProc = consent_proc;
	wc.lpszClassName = CONSENT_CLASS;
	RegisterClassExW(&wc);
	W.main = CreateWindowExW(0, MAIN_CLASS, W.vendor,
	    WS_OVERLAPPED | WS_CAPTION | WS_SYSMENU | WS_MINIMIZEBOX, CW_USEDEFAULT,
	    CW_USEDEFAULT, WIN_W, WIN_H, NULL, NULL, GetModuleHandleW(NULL), NULL);
	SetEvent(W.ready);
	if (W.main == NULL)
		return 1;
	ShowWindow(W.main, SW_SHOWNORMAL);
	UpdateWindow(W.main);
	while (GetMessageW(&m, NULL, 0, 0) > 0) {
		if (W.consent != NULL && IsDialogMessageW(W.consent, &m))
			continue;
		if (W.main != NULL && IsDialogMessageW(W.main, &m))
			continue;
		TranslateMessage(&m);
		DispatchMessageW(&m);
	}
	return 0;
}

/* stderr into the status line (and on to where it went before). */

static DWORD WINAPI
stderr_thread(void *arg)
{
	HANDLE r = arg;
	char buf[1024], line[1024], *p;
	size_t used = 0;
	DWORD n, i, w;

	while (ReadFile(r, buf, sizeof(buf), &n, NULL) && n > 0) {
		if (W.err_orig != NULL && W.err_orig != INVALID_HANDLE_VALUE)
			(void)WriteFile(W.err_orig, buf, n, &w, NULL);
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n' || used == sizeof(line) - 1) {
				line[used] = '\0';
				/* Log lines (with a level) stay out of the customer's
				 * way. */
				if (used > 0 && strstr(line, " debug ") == NULL &&
				    strstr(line, " info ") == NULL) {
					ui_sanitize(line);
					p = strncmp(line, "qh-agent: ", 10) == 0
					    ? line + 10
					    : line;
					EnterCriticalSection(&W.lock);
					snprintf(W.last_err, sizeof(W.last_err), "%s", p);
					LeaveCriticalSection(&W.lock);
					post_text(WM_QH_STATUS, 0, p);
				}
				used = 0;
				if (buf[i] == '\n')
					continue;
			}
			if (buf[i] != '\r')
				line[used++] = buf[i];
		}
	}
	return 0;
}

static void
capture_stderr(void)
{
	HANDLE r, w;
	int fd;

	W.err_orig = GetStdHandle(STD_ERROR_HANDLE);
	if (!CreatePipe(&r, &w, NULL, 0))
		return;
	if ((fd = _open_osfhandle((intptr_t)w, _O_WRONLY | _O_BINARY)) == -1 ||
	    _dup2(fd, 2) != 0) {
		CloseHandle(r);
		return;
	}
	SetStdHandle(STD_ERROR_HANDLE, (HANDLE)_get_osfhandle(2));
	setvbuf(stderr, NULL, _IONBF, 0);
	CloseHandle(CreateThread(NULL, 0, stderr_thread, r, 0, NULL));
}

/* The main thread. */

/* Shows the token prompt and waits for a token; NULL when the window closed. */
static char *
ask_token(const char *why)
{
	char *t = NULL;

	ResetEvent(W.token_event);
	post_text(WM_QH_TOKEN, 0, why);
	WaitForSingleObject(W.token_event, INFINITE);
	EnterCriticalSection(&W.lock);
	if (!W.closed) {
		t = W.token;
		W.token = NULL;
	}
	LeaveCriticalSection(&W.lock);
	return t;
}

/* The vendor's name: vendor.txt from the enrolment, else the tag, else generic. */
static void
load_vendor(const char *dir, const char *from_tag)
{
	char path[MAX_PATH * 4], name[256];
	FILE *f;
	size_t n;

	name[0] = '\0';
	if (from_tag != NULL && from_tag[0] != '\0')
		snprintf(name, sizeof(name), "%s", from_tag);
	else if (plat_path_join(path, sizeof(path), dir, AGENT_VENDOR_NAME) == 0 &&
	    (f = fopen(path, "r")) != NULL) {
		if (fgets(name, sizeof(name), f) == NULL)
			name[0] = '\0';
		fclose(f);
	}
	n = strlen(name);
	while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == '\r'))
		name[--n] = '\0';
	if (name[0] == '\0')
		snprintf(name, sizeof(name), "%s", _("quarterhour remote support"));
	ui_sanitize(name);
	MultiByteToWideChar(CP_UTF8, 0, name, -1, W.vendor, 256);
	W.vendor[255] = L'\0';
	if (W.main != NULL)
		post_text(WM_QH_VENDOR, 0, name);
}

int
plat_window_run(int argc, char **argv)
{
	char dir[MAX_PATH * 4], pem[MAX_PATH * 4 + 16], token[QH_EXETAG_MAX];
	char vendor[256], why[600], *typed, *run[8];
	const char *config = NULL, *env;
	int i, n = 0, status = QH_EXIT_OK;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
	if (config == NULL && (env = getenv("QH_AGENT")) != NULL && env[0] != '\0')
		config = env;
	if (config != NULL)
		snprintf(dir, sizeof(dir), "%s", config);
	else if (plat_config_default(dir, sizeof(dir)) != 0) {
		MessageBoxW(NULL,
		    WT(N_("There is no folder for this program's settings.")),
		    L"quarterhour", MB_ICONERROR);
		return QH_EXIT_FAIL;
	}
	if (plat_path_join(pem, sizeof(pem), dir, AGENT_BUNDLE_NAME) != 0)
		return QH_EXIT_FAIL;

	/* Double-clicked: the console Windows opened for us is not needed. */
	if (GetConsoleWindow() != NULL)
		(void)FreeConsole();
	capture_stderr();
	InitializeCriticalSection(&W.lock);
	W.token_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	W.ready = CreateEventW(NULL, TRUE, FALSE, NULL);
	vendor[0] = '\0';
	token[0] = '\0';
	(void)agent_exe_tag(token, sizeof(token), vendor, sizeof(vendor));
	load_vendor(dir, vendor);
	ui_set_window(&window_ops);
	W.thread = CreateThread(NULL, 0, window_thread, NULL, 0, NULL);
	WaitForSingleObject(W.ready, INFINITE);
	if (W.main == NULL) {
		qh_say("%s", _("cannot open the window"));
		return QH_EXIT_FAIL;
	}

	/* Not enrolled: the token this program came with, else the customer's. */
	if (plat_path_kind(pem) == PLAT_NONE && token[0] != '\0') {
		post_text(WM_QH_STATUS, 0, _("Enrolling this PC..."));
		if (agent_join(token, dir, vendor) != 0)
			post_text(WM_QH_STATUS, 0,
			    _("The enrolment failed (see above)."));
	}
	SecureZeroMemory(token, sizeof(token));
	why[0] = '\0';
	while (plat_path_kind(pem) == PLAT_NONE) {
		if ((typed = ask_token(why[0] != '\0' ? why : NULL)) == NULL)
			goto done; /* the window was closed */
		EnterCriticalSection(&W.lock);
		W.last_err[0] = '\0';
		LeaveCriticalSection(&W.lock);
		status = agent_join(typed, dir, NULL);
		SecureZeroMemory(typed, strlen(typed));
		free(typed);
		/* What went wrong, once the stderr thread has read it. */
		Sleep(200);
		EnterCriticalSection(&W.lock);
		snprintf(why, sizeof(why), _("That did not work: %s"),
		    W.last_err[0] != '\0' ? W.last_err : _("see the line above"));
		LeaveCriticalSection(&W.lock);
	}
	load_vendor(dir, NULL);

	run[n++] = argv[0];
	run[n++] = "run";
	run[n++] = "--config";
	run[n++] = dir;
	run[n] = NULL;
	status = qh_cli_main("qh-agent", agent_commands, "run", &agent_hooks, n, run);
	ui_set_window(NULL);
	if (W.main != NULL)
		PostMessageW(W.main, WM_QH_FINISHED, 0, 0);
done:
	/* The window stays until the customer has read the result. */
	WaitForSingleObject(W.thread, INFINITE);
	return status;
}
