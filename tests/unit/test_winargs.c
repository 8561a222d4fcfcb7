/*
 * Unit tests for the Windows agent's plain-C pieces that run anywhere
 * (agent/win32/portable.h): command lines quoted by Windows' rules come
 * back word for word through a parser that follows the C runtime's rules
 * (the one CommandLineToArgvW documents), including a random run; the
 * program's name is quoted without escapes and a quote in it is refused;
 * paths a technician gives map to Windows paths (drive letters, forward
 * slashes, UNC shares, the home directory for relative ones) and device
 * names, streams and names Windows would change are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "win32/portable.h"

#define MAXW 16

/*
 * Splits a command line as the C runtime does for argv[1..]; the first
 * word as CreateProcess reads the program's name. Returns the count.
 */
static int
parse(const char *cmd, char words[MAXW][512])
{
	const char *p = cmd;
	int n = 0, inq;
	size_t len, slashes;

	/* The program: up to the closing quote, or the first blank. */
	len = 0;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++)
			words[n][len++] = *p;
		if (*p == '"')
			p++;
	} else
		for (; *p != '\0' && *p != ' ' && *p != '\t'; p++)
			words[n][len++] = *p;
	words[n++][len] = '\0';
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		len = 0;
		inq = 0;
		while (*p != '\0' && (inq || (*p != ' ' && *p != '\t'))) {
			if (*p == '\\') {
				for (slashes = 0; *p == '\\'; p++)
					slashes++;
				if (*p == '"') {
					while (slashes >= 2) {
						words[n][len++] = '\\';
						slashes -= 2;
					}
					if (slashes == 1) {
						words[n][len++] = '"';
						p++;
					}
				} else
					while (slashes-- > 0)
						words[n][len++] = '\\';
				continue;
			}
			if (*p == '"') {
				/* "" inside quotes is one quote (msvcrt 2008+). */
				if (inq && p[1] == '"') {
					words[n][len++] = '"';
					p += 2;
					continue;
				}
				inq = !inq;
				p++;
				continue;
			}
			words[n][len++] = *p++;
		}
		words[n++][len] = '\0';
	}
	return n;
}

/* Quotes argv and checks that parsing gives argv back. */
static void
round_trip(char *const *argv)
{
	char cmd[WIN_CMDLINE_MAX], words[MAXW][512];
	int n, i;

	assert_int_equal(win_quote_argv(argv, cmd, sizeof(cmd)), 0);
	n = parse(cmd, words);
	for (i = 0; argv[i] != NULL; i++) {
		if (i >= n)
			fail_msg("'%s': word %d (%s) missing", cmd, i, argv[i]);
		if (strcmp(words[i], argv[i]) != 0)
			fail_msg("'%s': word %d is '%s', not '%s'", cmd, i, words[i],
			    argv[i]);
	}
	assert_int_equal(n, i);
}

static void
test_quote_plain(void **state QH_UNUSED)
{
	char *ver[] = { "cmd", "/c", "ver", NULL };
	char *ps[] = { "powershell", "-NoProfile", "-Command",
		"Get-ChildItem 'C:\\Program Files' | Select-Object -First 3", NULL };
	char cmd[256];

	assert_int_equal(win_quote_argv(ver, cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "cmd /c ver");
	assert_int_equal(win_quote_argv(ps, cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd,
	    "powershell -NoProfile -Command \"Get-ChildItem "
	    "'C:\\Program Files' | Select-Object -First 3\"");
	round_trip(ver);
	round_trip(ps);
}

static void
test_quote_hard(void **state QH_UNUSED)
{
	char *a[] = { "C:\\Program Files\\x.exe", "", "a b", "tab\there", "q\"uote",
		"end\\", "sp ace\\", "\\\\server\\share\\", "\\\"", "a\\\\\"b", "\"\"",
		"new\nline", NULL };
	char cmd[512];

	round_trip(a);
	/* The program is quoted, never escaped. */
	assert_int_equal(win_quote_argv(a, cmd, sizeof(cmd)), 0);
	assert_memory_equal(cmd, "\"C:\\Program Files\\x.exe\" \"\" \"a b\"", 31);
	/* A trailing backslash in a quoted word is doubled; outside quotes it is not. */
	cmd[0] = '\0';
	assert_int_equal(win_quote_arg("sp ace\\", cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "\"sp ace\\\\\"");
	cmd[0] = '\0';
	assert_int_equal(win_quote_arg("end\\", cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "end\\");
}

static void
test_quote_refused(void **state QH_UNUSED)
{
	char *noprog[] = { NULL };
	char *quoted[] = { "a\"b", NULL };
	char *empty[] = { "", NULL };
	char *big[] = { "x", NULL, NULL };
	char cmd[64];

	assert_int_equal(win_quote_argv(noprog, cmd, sizeof(cmd)), QH_ERR_ARG);
	assert_int_equal(win_quote_argv(quoted, cmd, sizeof(cmd)), QH_ERR_ARG);
	assert_int_equal(win_quote_argv(empty, cmd, sizeof(cmd)), QH_ERR_ARG);
	big[1] = malloc(100);
	memset(big[1], 'y', 99);
	big[1][99] = '\0';
	assert_int_equal(win_quote_argv(big, cmd, sizeof(cmd)), QH_ERR_TOO_LARGE);
	free(big[1]);
}

static void
test_quote_random(void **state QH_UNUSED)
{
	static const char alphabet[] = "ab \\\"\t";
	char buf[MAXW - 1][40], *argv[MAXW];
	int round, i, n, len, k;

	srand(4242);
	for (round = 0; round < 5000; round++) {
		argv[0] = "prog";
		n = 1 + rand() % (MAXW - 2);
		for (i = 0; i < n; i++) {
			len = rand() % 12;
			for (k = 0; k < len; k++)
				buf[i][k] = alphabet[rand() % (sizeof(alphabet) - 1)];
			buf[i][len] = '\0';
			argv[i + 1] = buf[i];
		}
		argv[n + 1] = NULL;
		round_trip(argv);
	}
}

/* Paths. */

static const char *home = "C:\\Users\\Kunde";

static void
map_ok(const char *given, const char *want)
{
	char out[512], why[256];
	int r = win_path_map(given, home, out, sizeof(out), why, sizeof(why));

	if (r != 0)
		fail_msg("%s: refused: %s", given, why);
	if (strcmp(out, want) != 0)
		fail_msg("%s: mapped to '%s', not '%s'", given, out, want);
}

static void
map_bad(const char *given, const char *reason)
{
	char out[512], why[256];
	int r = win_path_map(given, home, out, sizeof(out), why, sizeof(why));

	if (r == 0)
		fail_msg("%s: taken as '%s'", given, out);
	if (strstr(why, reason) == NULL)
		fail_msg("%s: reason '%s' lacks '%s'", given, why, reason);
}

static void
test_path_forms(void **state QH_UNUSED)
{
	map_ok("C:\\Users\\Kunde\\Desktop\\x.txt", "C:\\Users\\Kunde\\Desktop\\x.txt");
	map_ok("c:/Users/Kunde/Desktop/x.txt", "C:\\Users\\Kunde\\Desktop\\x.txt");
	map_ok("D:/a//b\\\\c/", "D:\\a\\b\\c");
	map_ok("C:/", "C:\\");
	map_ok("C:\\", "C:\\");
	map_ok("report 2024.pdf", "C:\\Users\\Kunde\\report 2024.pdf");
	map_ok("Desktop/sub dir/x", "C:\\Users\\Kunde\\Desktop\\sub dir\\x");
	map_ok("/Windows/win.ini", "C:\\Windows\\win.ini");
	map_ok("\\temp\\a", "C:\\temp\\a");
	map_ok("//fileserver/crm/Act!/db.adf", "\\\\fileserver\\crm\\Act!\\db.adf");
	map_ok("\\\\fileserver\\crm\\x", "\\\\fileserver\\crm\\x");
	map_ok("\\\\?\\C:\\very\\long", "\\\\?\\C:\\very\\long");
	map_ok("../Public/x", "C:\\Users\\Kunde\\..\\Public\\x");
	map_ok("Ärger/über.txt", "C:\\Users\\Kunde\\Ärger\\über.txt");
	map_ok("CONSOLE.txt", "C:\\Users\\Kunde\\CONSOLE.txt");
}

static void
test_path_refused(void **state QH_UNUSED)
{
	char out[16], why[256];

	map_bad("C:file.txt", "C:\\");
	map_bad("NUL", "device");
	map_bad("C:/temp/nul.txt", "device");
	map_bad("a/Com1", "device");
	map_bad("LPT9.log", "device");
	map_bad("aux .txt", "device");
	map_bad("conout$", "device");
	map_bad("con.d/x", "device"); /* any extension: still the console */
	map_bad("file.txt:stream", "':'");
	map_bad("a*b", "'*'");
	map_bad("what?", "'?'");
	map_bad("a<b", "'<'");
	map_bad("pipe|", "'|'");
	map_bad("x\001y", "control");
	map_bad("trailing.", "end in");
	map_bad("trailing /x", "end in");
	map_bad("//server", "UNC");
	map_bad("//server/", "UNC");
	map_bad("", "empty");
	assert_int_equal(win_path_map("C:\\a\\longer\\name", home, out, sizeof(out), why,
			     sizeof(why)),
	    QH_ERR_TOO_LARGE);
}

static void
test_path_unc_home(void **state QH_UNUSED)
{
	char out[256], why[256];

	/* A roaming home on a share: "\..." starts at the share. */
	assert_int_equal(win_path_map("\\x", "\\\\srv\\home$\\kunde", out, sizeof(out),
			     why, sizeof(why)),
	    0);
	assert_string_equal(out, "\\\\srv\\home$\\x");
	assert_int_equal(win_path_map("x", "\\\\srv\\home$\\kunde\\", out, sizeof(out),
			     why, sizeof(why)),
	    0);
	assert_string_equal(out, "\\\\srv\\home$\\kunde\\x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_plain),
		cmocka_unit_test(test_quote_hard),
		cmocka_unit_test(test_quote_refused),
		cmocka_unit_test(test_quote_random),
		cmocka_unit_test(test_path_forms),
		cmocka_unit_test(test_path_refused),
		cmocka_unit_test(test_path_unc_home),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
