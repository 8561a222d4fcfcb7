/*
 * E-mail addresses: the one check every address passes before it is
 * stored, written into a header or given to SMTP (qh/mailaddr.h).
 */
#include <string.h>
#include <strings.h>

#include "qh/err.h"
#include "qh/mailaddr.h"

/* RFC 5322 atext: letters, digits and these. */
static int
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* 1 if s[0..len) is a dot-atom: atoms of atext joined by single dots. */
static int
dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* 1 if s[0..len) is LDH labels joined by dots, none longer than 63 bytes. */
static int
domain(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-' ||
			    s[i - label] == '-')
				return 0;
			label = 0;
		} else if (ldh((unsigned char)s[i]))
			label++;
		else
			return 0;
	}
	return 1;
}

int
qh_mail_addr_valid(const char *s)
{
	const char *at;
	size_t len;

	if (s == NULL || (len = strnlen(s, QH_MAIL_ADDR_MAX + 1)) > QH_MAIL_ADDR_MAX)
		return 0;
	if ((at = strrchr(s, '@')) == NULL || at - s > 64)
		return 0;
	return dot_atom(s, (size_t)(at - s)) &&
	    domain(at + 1, len - (size_t)(at - s) - 1);
}

const char *
qh_mail_addr_domain(const char *addr)
{
	return qh_mail_addr_valid(addr) ? strrchr(addr, '@') + 1 : NULL;
}

int
qh_mail_addr_list(const char *list, char (*out)[QH_MAIL_ADDR_MAX + 1], int max)
{
	const char *p = list, *end;
	size_t len;
	int n = 0, i, dup;

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			return n;
		len = strcspn(p, ", \t");
		end = p + len;
		if (len > QH_MAIL_ADDR_MAX)
			return QH_ERR_FORMAT;
		if (n == max)
			return QH_ERR_LIMIT;
		memcpy(out[n], p, len);
		out[n][len] = '\0';
		if (!qh_mail_addr_valid(out[n]))
			return QH_ERR_FORMAT;
		for (i = 0, dup = 0; i < n && !dup; i++)
			dup = strcasecmp(out[i], out[n]) == 0;
		if (!dup)
			n++;
		p = end;
	}
}
