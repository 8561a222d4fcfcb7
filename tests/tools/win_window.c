/*
 * win_window: a plain Win32 window like the agent's (vendor name, the
 * six-digit code in large digits, a notice, an "End session" button), to
 * check under Wine and Xvfb that it is drawn and that a test can read its
 * texts.
 *
 * usage: win_window [--seconds N] [--dump]   shows the window (N s, or until
 *                                            closed); --dump prints the
 *                                            controls' texts once shown
 *        win_window --find                   run as a second process: finds
 *                                            the window and prints its
 *                                            controls' class and text
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#define CLASS_NAME "QhWindowCheck"
#define ID_END	   100

static HFONT big_font;

/* Prints one control's class and text, read with WM_GETTEXT. */
static BOOL CALLBACK
print_control(HWND h, LPARAM arg)
{
	char cls[64], text[256];

	(void)arg;
	GetClassNameA(h, cls, sizeof(cls));
	text[0] = '\0';
	SendMessageA(h, WM_GETTEXT, sizeof(text), (LPARAM)text);
	printf("control id=%d class=%s text=\"%s\" visible=%d\n", GetDlgCtrlID(h), cls,
	    text, IsWindowVisible(h) ? 1 : 0);
	return TRUE;
}

static void
dump(HWND top)
{
	char title[256];

	GetWindowTextA(top, title, sizeof(title));
	printf("window \"%s\"\n", title);
	EnumChildWindows(top, print_control, 0);
	fflush(stdout);
}

static LRESULT CALLBACK
wndproc(HWND h, UINT msg, WPARAM wp, LPARAM lp)
{
	switch (msg) {
	case WM_COMMAND:
		if (LOWORD(wp) == ID_END) {
			printf("End session pressed\n");
			fflush(stdout);
			DestroyWindow(h);
		}
		return 0;
	case WM_TIMER:
		if (wp == 1)
			DestroyWindow(h);
		else if (wp == 2) {
			KillTimer(h, 2);
			dump(h);
		}
		return 0;
	case WM_DESTROY:
		PostQuitMessage(0);
		return 0;
	}
	return DefWindowProcA(h, msg, wp, lp);
}

/* Adds one child control with the given class, text and font. */
static HWND
add(HWND parent, const char *cls, const char *text, DWORD style, int x, int y, int w,
    int hgt, int id, HFONT font)
{
	HWND c;

	c = CreateWindowExA(0, cls, text, WS_CHILD | WS_VISIBLE | style, x, y, w, hgt,
	    parent, (HMENU)(INT_PTR)id, GetModuleHandleA(NULL), NULL);
	SendMessageA(c, WM_SETFONT, (WPARAM)font, TRUE);
	return c;
}

int
main(int argc, char **argv)
{
	WNDCLASSA wc;
	HWND h;
	MSG m;
	HFONT ui;
	int seconds = 0, want_dump = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--find") == 0) {
			h = FindWindowA(CLASS_NAME, NULL);
			if (h == NULL) {
				printf("window not found\n");
				return 1;
			}
			dump(h);
			return 0;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--dump") == 0)
			want_dump = 1;
	}

	memset(&wc, 0, sizeof(wc));
	wc.lpfnWndProc = wndproc;
	wc.hInstance = GetModuleHandleA(NULL);
	wc.hCursor = LoadCursor(NULL, IDC_ARROW);
	wc.hbrBackground = (HBRUSH)(COLOR_BTNFACE + 1);
	wc.lpszClassName = CLASS_NAME;
	RegisterClassA(&wc);
	h = CreateWindowExA(0, CLASS_NAME, "quarterhour - remote support",
	    WS_OVERLAPPED | WS_CAPTION | WS_SYSMENU | WS_MINIMIZEBOX, 100, 80, 480, 330,
	    NULL, NULL, wc.hInstance, NULL);
	big_font = CreateFontA(-64, 0, 0, 0, FW_BOLD, 0, 0, 0, DEFAULT_CHARSET, 0, 0,
	    CLEARTYPE_QUALITY, FIXED_PITCH | FF_MODERN, "Courier New");
	ui = CreateFontA(-16, 0, 0, 0, FW_NORMAL, 0, 0, 0, DEFAULT_CHARSET, 0, 0,
	    CLEARTYPE_QUALITY, 0, "Tahoma");
	add(h, "STATIC", "Example Vendor GmbH", SS_CENTER, 10, 10, 450, 24, 1, ui);
	add(h, "STATIC", "Your session code:", SS_CENTER, 10, 40, 450, 22, 2, ui);
	add(h, "STATIC", "482 913", SS_CENTER, 10, 66, 450, 80, 3, big_font);
	add(h, "STATIC", "This session is recorded and billed per started 15 minutes.",
	    SS_CENTER, 10, 156, 450, 44, 4, ui);
	add(h, "BUTTON", "End session", BS_PUSHBUTTON, 165, 220, 150, 36, ID_END, ui);
	ShowWindow(h, SW_SHOW);
	UpdateWindow(h);
	if (seconds > 0)
		SetTimer(h, 1, (UINT)seconds * 1000, NULL);
	if (want_dump)
		SetTimer(h, 2, 500, NULL);
	while (GetMessageA(&m, NULL, 0, 0) > 0) {
		TranslateMessage(&m);
		DispatchMessageA(&m);
	}
	return 0;
}
