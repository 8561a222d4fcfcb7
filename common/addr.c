/*
 * Host names and addresses as quarterhour writes them (see qh/addr.h):
 * "HOST:PORT" and "[V6]:PORT" split and checked, IP address literals
 * recognised, and the names that may name the console (a certificate's CN
 * and subjectAltName). Nothing here resolves a name.
 */
#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <sys/socket.h>
#include <arpa/inet.h>
#endif

#include <ctype.h>
#include <string.h>

#include "qh/addr.h"
#include "qh/err.h"
#include "qh/pki.h"

int
qh_addr_family(const char *s)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return 0;
}

int
qh_pki_host_valid(const char *s)
{
	size_t i, label = 0;

	if (s == NULL || s[0] == '\0' || strlen(s) > QH_ID_MAX)
		return 0;
	if (qh_addr_family(s) != 0)
		return 1;
	/* A DNS name: labels of 1..63 letters, digits and hyphens. */
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isascii((unsigned char)s[i]) ||
		    (!isalnum((unsigned char)s[i]) && s[i] != '-'))
			return 0;
		if (s[i] == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[i - 1] != '-';
}

/* 1 if s is a plausible host: a DNS-ish name (underscores allowed) or IPv4. */
static int
host_chars_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!isascii((unsigned char)s[i]) ||
		    (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' &&
			s[i] != '_'))
			return 0;
	return 1;
}

/* Splits at the last colon, or after an IPv6 address's bracket; port 1..65535. */
int
qh_split_hostport(const char *s, char *hostbuf, size_t hostlen, int *portp)
{
	const char *host, *colon, *p;
	unsigned char addr[16];
	size_t len;
	long port = 0;

	if (s == NULL || hostbuf == NULL || hostlen == 0 || portp == NULL)
		return QH_ERR_ARG;
	if (s[0] == '[') {
		host = s + 1;
		if ((p = strchr(host, ']')) == NULL || p[1] != ':')
			return QH_ERR_FORMAT;
		len = (size_t)(p - host);
		colon = p + 1;
	} else {
		host = s;
		if ((colon = strrchr(s, ':')) == NULL)
			return QH_ERR_FORMAT;
		len = (size_t)(colon - s);
		/* An IPv6 address needs brackets; "::1:80" is ambiguous. */
		if (memchr(s, ':', len) != NULL || !host_chars_valid(host, len))
			return QH_ERR_FORMAT;
	}
	if (len == 0)
		return QH_ERR_FORMAT;
	if (len >= hostlen)
		return QH_ERR_TOO_LARGE;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			return QH_ERR_FORMAT;
		port = port * 10 + (*p - '0');
	}
	if (p == colon + 1 || port < 1 || port > 65535)
		return QH_ERR_FORMAT;
	memcpy(hostbuf, host, len);
	hostbuf[len] = '\0';
	if (s[0] == '[' && inet_pton(AF_INET6, hostbuf, addr) != 1) {
		hostbuf[0] = '\0';
		return QH_ERR_FORMAT;
	}
	*portp = (int)port;
	return 0;
}
