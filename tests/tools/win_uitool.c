/*
 * win_uitool: reads and drives the agent's window from another process,
 * the way the Windows end-to-end tests check what the customer sees
 * (under Wine, or on Windows). Windows are found by class name.
 *
 * usage: win_uitool dump CLASS               prints each control: class, text, shown
 *        win_uitool wait CLASS TEXT SECONDS  until a shown control (or list item)
 *                                            has TEXT
 *        win_uitool click CLASS TEXT         presses the shown button labelled TEXT
 *        win_uitool type CLASS TEXT          puts TEXT into the window's edit field
 *        win_uitool close CLASS              closes the window (as its X does)
 *        win_uitool rect CLASS               prints the window's x y width height
 *        win_uitool edit CLASS               prints the text in the window's first
 *                                            edit control (WM_GETTEXT: the
 *                                            content, which GetWindowText
 *                                            does not read in another process)
 * Exit status 0, or 1 when the window or control is not there.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct find {
	const wchar_t *text; /* wanted (substring), or NULL to print all */
	const wchar_t *cls;  /* wanted control class, or NULL */
	int exact;
	HWND found;
};

static void
print_w(const wchar_t *w)
{
	char s[4096];

	WideCharToMultiByte(CP_UTF8, 0, w, -1, s, sizeof(s), NULL, NULL);
	fputs(s, stdout);
}

/* Prints one control, and a list box's items. */
static void
dump_one(HWND h)
{
	wchar_t cls[64], text[2048];
	LRESULT n, i;

	GetClassNameW(h, cls, 64);
	GetWindowTextW(h, text, 2048);
	print_w(cls);
	fputs("\t", stdout);
	print_w(text);
	printf("\t%s\n", IsWindowVisible(h) ? "shown" : "hidden");
	if (_wcsicmp(cls, L"ListBox") == 0) {
		n = SendMessageW(h, LB_GETCOUNT, 0, 0);
		for (i = 0; i < n && i < 200; i++) {
			if (SendMessageW(h, LB_GETTEXTLEN, (WPARAM)i, 0) >= 2048)
				continue;
			SendMessageW(h, LB_GETTEXT, (WPARAM)i, (LPARAM)text);
			fputs("ListItem\t", stdout);
			print_w(text);
			fputs("\tshown\n", stdout);
		}
	}
}

/* 1 if one of a list box's items has f's text in it. */
static int
list_has(HWND h, const struct find *f)
{
	wchar_t text[2048];
	LRESULT n, i;

	n = SendMessageW(h, LB_GETCOUNT, 0, 0);
	for (i = 0; i < n && i < 1000; i++) {
		if (SendMessageW(h, LB_GETTEXTLEN, (WPARAM)i, 0) >= 2048)
			continue;
		SendMessageW(h, LB_GETTEXT, (WPARAM)i, (LPARAM)text);
		if (wcsstr(text, f->text) != NULL)
			return 1;
	}
	return 0;
}

static BOOL CALLBACK
each(HWND h, LPARAM lp)
{
	struct find *f = (struct find *)lp;
	wchar_t cls[64], text[2048];

	if (f->text == NULL) {
		dump_one(h);
		return TRUE;
	}
	if (!IsWindowVisible(h))
		return TRUE;
	GetClassNameW(h, cls, 64);
	GetWindowTextW(h, text, 2048);
	if (f->cls != NULL && _wcsicmp(cls, f->cls) != 0)
		return TRUE;
	/* wait also looks at a list's items. */
	if (f->cls == NULL && !f->exact && _wcsicmp(cls, L"ListBox") == 0 &&
	    f->text[0] != L'\0' && list_has(h, f)) {
		f->found = h;
		return FALSE;
	}
	/* msvcrt's wcsstr finds no "" in "": an empty wanted text is any text. */
	if (f->exact ? wcscmp(text, f->text) == 0
		     : f->text[0] == L'\0' || wcsstr(text, f->text) != NULL) {
		f->found = h;
		return FALSE;
	}
	return TRUE;
}

static wchar_t *
wide(const char *s)
{
	static wchar_t w[4][4096];
	static int k;

	k = (k + 1) % 4;
	MultiByteToWideChar(CP_UTF8, 0, s, -1, w[k], 4096);
	return w[k];
}

int
main(int argc, char **argv)
{
	struct find f;
	HWND top;
	int tries, i;

	if (argc < 3)
		return 2;
	memset(&f, 0, sizeof(f));
	if (strcmp(argv[1], "wait") == 0 && argc == 5) {
		const wchar_t *cls = wide(argv[2]);

		/* Both converted once: wide() has only a few buffers. */
		f.text = wide(argv[3]);
		for (tries = 0; tries < atoi(argv[4]) * 10; tries++) {
			if ((top = FindWindowW(cls, NULL)) != NULL) {
				EnumChildWindows(top, each, (LPARAM)&f);
				if (f.found != NULL)
					return 0;
			}
			Sleep(100);
		}
		return 1;
	}
	for (tries = 0; tries < 50 && (top = FindWindowW(wide(argv[2]), NULL)) == NULL;
	     tries++)
		Sleep(100);
	if (top == NULL) {
		fprintf(stderr, "win_uitool: no window of class %s\n", argv[2]);
		return 1;
	}
	if (strcmp(argv[1], "dump") == 0) {
		dump_one(top);
		EnumChildWindows(top, each, (LPARAM)&f);
		return 0;
	}
	if (strcmp(argv[1], "click") == 0 && argc == 4) {
		f.text = wide(argv[3]);
		f.cls = L"Button";
		f.exact = 1;
		EnumChildWindows(top, each, (LPARAM)&f);
		if (f.found == NULL) {
			fprintf(stderr, "win_uitool: no button %s\n", argv[3]);
			return 1;
		}
		PostMessageW(top, WM_COMMAND,
		    MAKEWPARAM(GetDlgCtrlID(f.found), BN_CLICKED), (LPARAM)f.found);
		return 0;
	}
	if (strcmp(argv[1], "type") == 0 && argc == 4) {
		f.text = L"";
		f.cls = L"Edit";
		EnumChildWindows(top, each, (LPARAM)&f);
		if (f.found == NULL)
			return 1;
		SendMessageW(f.found, WM_SETTEXT, 0, (LPARAM)wide(argv[3]));
		return 0;
	}
	if (strcmp(argv[1], "rect") == 0) {
		RECT r;

		GetWindowRect(top, &r);
		printf("%ld %ld %ld %ld\n", (long)r.left, (long)r.top,
		    (long)(r.right - r.left), (long)(r.bottom - r.top));
		return 0;
	}
	if (strcmp(argv[1], "edit") == 0) {
		static wchar_t text[65536];
		DWORD_PTR got = 0;

		f.text = L"";
		f.cls = L"Edit";
		EnumChildWindows(top, each, (LPARAM)&f);
		if (f.found == NULL ||
		    !SendMessageTimeoutW(f.found, WM_GETTEXT, 65536, (LPARAM)text,
			SMTO_ABORTIFHUNG, 5000, &got))
			return 1;
		print_w(text);
		fputs("\n", stdout);
		return 0;
	}
	if (strcmp(argv[1], "close") == 0) {
		PostMessageW(top, WM_CLOSE, 0, 0);
		return 0;
	}
	for (i = 0; i < argc; i++)
		fprintf(stderr, "%s ", argv[i]);
	fprintf(stderr, ": unknown\n");
	return 2;
}
