/*
 * Command lines by Windows' rules (see portable.h). A Windows program
 * gets one string and splits it itself; nearly all do it as the C
 * runtime and CommandLineToArgvW do: blanks separate words, "..." groups,
 * 2n backslashes before a quote are n backslashes and the quote counts,
 * 2n+1 are n backslashes and a literal quote, backslashes elsewhere are
 * literal. The program's own name is read by CreateProcess up to the
 * closing quote, with no escapes at all. cmd.exe (cmd /c) reads its
 * command line its own way again; that is the technician's business, as
 * it is on a Windows console.
 */
#include <string.h>

#include "qh/err.h"
#include "portable.h"

/* Appends n bytes of s to out (used bytes in *used), keeping a NUL. */
static int
put(char *out, size_t len, size_t *used, const char *s, size_t n)
{
	if (*used + n + 1 > len)
		return QH_ERR_TOO_LARGE;
	memcpy(out + *used, s, n);
	*used += n;
	out[*used] = '\0';
	return 0;
}

static int
put_backslashes(char *out, size_t len, size_t *used, size_t n)
{
	while (n-- > 0)
		if (put(out, len, used, "\\", 1) != 0)
			return QH_ERR_TOO_LARGE;
	return 0;
}

/* Appends one word; *used is the length of out so far. */
static int
quote_one(const char *arg, char *out, size_t len, size_t *used)
{
	const char *p;
	size_t slashes = 0;

	if (arg[0] != '\0' && strpbrk(arg, " \t\n\v\"") == NULL)
		return put(out, len, used, arg, strlen(arg));
	if (put(out, len, used, "\"", 1) != 0)
		return QH_ERR_TOO_LARGE;
	for (p = arg;; p++) {
		if (*p == '\\') {
			slashes++;
			continue;
		}
		if (*p == '\0') {
			/* Doubled, so that the closing quote stays a quote. */
			if (put_backslashes(out, len, used, slashes * 2) != 0)
				return QH_ERR_TOO_LARGE;
			break;
		}
		if (*p == '"') {
			if (put_backslashes(out, len, used, slashes * 2 + 1) != 0 ||
			    put(out, len, used, "\"", 1) != 0)
				return QH_ERR_TOO_LARGE;
		} else if (put_backslashes(out, len, used, slashes) != 0 ||
		    put(out, len, used, p, 1) != 0)
			return QH_ERR_TOO_LARGE;
		slashes = 0;
	}
	return put(out, len, used, "\"", 1);
}

int
win_quote_arg(const char *arg, char *out, size_t len)
{
	size_t used = strlen(out);

	return quote_one(arg, out, len, &used);
}

int
win_quote_argv(char *const *argv, char *out, size_t len)
{
	size_t used = 0;
	int i, r;

	if (len == 0)
		return QH_ERR_TOO_LARGE;
	out[0] = '\0';
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0' ||
	    strchr(argv[0], '"') != NULL)
		return QH_ERR_ARG;
	/* The program: quoted when it has blanks, never escaped. */
	if (strpbrk(argv[0], " \t") != NULL) {
		if ((r = put(out, len, &used, "\"", 1)) != 0 ||
		    (r = put(out, len, &used, argv[0], strlen(argv[0]))) != 0 ||
		    (r = put(out, len, &used, "\"", 1)) != 0)
			return r;
	} else if ((r = put(out, len, &used, argv[0], strlen(argv[0]))) != 0)
		return r;
	for (i = 1; argv[i] != NULL; i++)
		if ((r = put(out, len, &used, " ", 1)) != 0 ||
		    (r = quote_one(argv[i], out, len, &used)) != 0)
			return r;
	return 0;
}
