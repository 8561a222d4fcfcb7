/*
 * Paths a technician names, mapped to Windows paths (see portable.h):
 * one parse that finds the path's root (a drive, a UNC share, the home
 * directory's drive, or home itself) and then checks every name after
 * it, so that no file name Windows would read differently from what was
 * written gets through: a device (NUL, COM1), a stream ("a:b"), a name
 * that loses its trailing dot or blank.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "qh/err.h"
#include "portable.h"

static int fail(char *why, size_t whylen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *why, size_t whylen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return r;
}

static int
is_sep(char c)
{
	return c == '/' || c == '\\';
}

/* 1 if the n bytes at name (before any extension) are a device's name. */
static int
is_device(const char *name, size_t n)
{
	static const char *const devices[] = { "CON", "PRN", "AUX", "NUL", "CONIN$",
		"CONOUT$", "CLOCK$", NULL };
	size_t base = 0;
	int i;

	/* The name before the first dot, without trailing blanks. */
	while (base < n && name[base] != '.')
		base++;
	while (base > 0 && name[base - 1] == ' ')
		base--;
	for (i = 0; devices[i] != NULL; i++)
		if (strlen(devices[i]) == base &&
		    strncasecmp(name, devices[i], base) == 0)
			return 1;
	/* COM1-9, LPT1-9 (and the superscript digits, which are UTF-8 here). */
	if (base == 4 &&
	    (strncasecmp(name, "COM", 3) == 0 || strncasecmp(name, "LPT", 3) == 0) &&
	    name[3] >= '1' && name[3] <= '9')
		return 1;
	if (base == 5 &&
	    (strncasecmp(name, "COM", 3) == 0 || strncasecmp(name, "LPT", 3) == 0) &&
	    (unsigned char)name[3] == 0xc2 &&
	    ((unsigned char)name[4] == 0xb9 || (unsigned char)name[4] == 0xb2 ||
		(unsigned char)name[4] == 0xb3))
		return 1;
	return 0;
}

/* Checks one name of n bytes; returns 0 or QH_ERR_ARG with why. */
static int
check_name(const char *name, size_t n, char *why, size_t whylen)
{
	size_t i;

	if (n == 0 || (n == 1 && name[0] == '.') ||
	    (n == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20)
			return fail(why, whylen, QH_ERR_ARG,
			    "control characters are not allowed in Windows file names");
		if (strchr("<>\"|?*", c) != NULL)
			return fail(why, whylen, QH_ERR_ARG,
			    "'%c' is not allowed in Windows file names", c);
		if (c == ':')
			return fail(why, whylen, QH_ERR_ARG,
			    "':' is allowed only after a drive letter");
	}
	if (name[n - 1] == '.' || name[n - 1] == ' ')
		return fail(why, whylen, QH_ERR_ARG,
		    "a Windows file name cannot end in '.' or ' '");
	if (is_device(name, n))
		return fail(why, whylen, QH_ERR_ARG, "%.*s names a device, not a file",
		    (int)n, name);
	return 0;
}

/* Appends n bytes to out; *used is its length so far. */
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

/* Length of home's root: "C:" of "C:\...", "\\server\share" of a UNC home. */
static size_t
home_root(const char *home)
{
	size_t i = 2;
	int seps = 0;

	if (isalpha((unsigned char)home[0]) && home[1] == ':')
		return 2;
	if (!is_sep(home[0]) || !is_sep(home[1]))
		return 0;
	for (; home[i] != '\0'; i++)
		if (is_sep(home[i]) && ++seps == 2)
			return i;
	return i;
}

int
win_path_map(const char *given, const char *home, char *out, size_t len, char *why,
    size_t whylen)
{
	const char *p, *end;
	size_t used = 0, n;
	int r;

	why[0] = '\0';
	if (len == 0)
		return QH_ERR_TOO_LARGE;
	out[0] = '\0';
	if (given[0] == '\0')
		return fail(why, whylen, QH_ERR_ARG, "empty path");
	/* \\?\ paths are Windows' own: no parsing at all. */
	if (strncmp(given, "\\\\?\\", 4) == 0) {
		if (put(out, len, &used, given, strlen(given)) != 0)
			return fail(why, whylen, QH_ERR_TOO_LARGE, "path too long");
		return 0;
	}
	p = given;
	if (isalpha((unsigned char)p[0]) && p[1] == ':') {
		if (!is_sep(p[2]))
			return fail(why, whylen, QH_ERR_ARG,
			    "%c: without a '\\' after it is relative to a directory "
			    "Windows remembers per drive; write %c:\\...",
			    p[0], p[0]);
		char drive[3] = { (char)toupper((unsigned char)p[0]), ':', '\0' };
		r = put(out, len, &used, drive, 2);
		p += 2;
	} else if (is_sep(p[0]) && is_sep(p[1])) {
		/* \\server\share: both names present. */
		const char *server = p + 2, *share, *rest;

		for (share = server; *share != '\0' && !is_sep(*share); share++)
			;
		if (share == server || *share == '\0' || is_sep(share[1]) ||
		    share[1] == '\0')
			return fail(why, whylen, QH_ERR_ARG,
			    "a UNC path is \\\\server\\share\\...");
		for (rest = share + 1; *rest != '\0' && !is_sep(*rest); rest++)
			;
		if ((r = check_name(server, (size_t)(share - server), why, whylen)) !=
			0 ||
		    (r = check_name(share + 1, (size_t)(rest - share - 1), why,
			 whylen)) != 0)
			return r;
		r = put(out, len, &used, "\\\\", 2);
		if (r == 0)
			r = put(out, len, &used, server, (size_t)(share - server));
		if (r == 0)
			r = put(out, len, &used, "\\", 1);
		if (r == 0)
			r = put(out, len, &used, share + 1, (size_t)(rest - share - 1));
		p = rest;
	} else if (is_sep(p[0])) {
		/* The root of home's drive (or share). */
		if ((n = home_root(home)) == 0)
			return fail(why, whylen, QH_ERR_ARG,
			    "the home directory has no drive to start %s at", given);
		r = put(out, len, &used, home, n);
	} else {
		/* Relative: from home, which is a Windows path already. */
		r = put(out, len, &used, home, strlen(home));
		while (r == 0 && used > 0 && is_sep(out[used - 1]) && used > 3)
			out[--used] = '\0';
		if (r == 0 && (used == 0 || !is_sep(out[used - 1])))
			r = put(out, len, &used, "\\", 1);
	}
	if (r != 0)
		return fail(why, whylen, QH_ERR_TOO_LARGE, "path too long");
	/* The names, each checked, joined by one '\'. */
	while (*p != '\0') {
		while (is_sep(*p))
			p++;
		for (end = p; *end != '\0' && !is_sep(*end); end++)
			;
		if (end == p)
			break;
		if ((r = check_name(p, (size_t)(end - p), why, whylen)) != 0)
			return r;
		if ((used == 0 || !is_sep(out[used - 1])) &&
		    put(out, len, &used, "\\", 1) != 0)
			return fail(why, whylen, QH_ERR_TOO_LARGE, "path too long");
		if (put(out, len, &used, p, (size_t)(end - p)) != 0)
			return fail(why, whylen, QH_ERR_TOO_LARGE, "path too long");
		p = end;
	}
	/* A bare drive or share is its root directory. */
	if (used == 2 && out[1] == ':' && put(out, len, &used, "\\", 1) != 0)
		return fail(why, whylen, QH_ERR_TOO_LARGE, "path too long");
	return 0;
}
