/*
 * Host names and addresses as quarterhour writes them: "HOST:PORT" (a
 * name or an IPv4 address) and "[V6]:PORT", and the names that may name
 * the console in its certificate. Pure string checks: nothing here
 * resolves a name (qh/dial.h does that).
 */
#ifndef QH_ADDR_H
#define QH_ADDR_H

#include <stddef.h>

/* Returns AF_INET or AF_INET6 if s is an IP address literal, else 0. */
int qh_addr_family(const char *s);

/*
 * Returns 1 if s can name the console: an IPv4 or IPv6 address, or a DNS
 * name (labels of letters, digits and inner hyphens), at most QH_ID_MAX
 * characters so that it fits a certificate's CN; else 0.
 */
int qh_pki_host_valid(const char *s);

/*
 * Splits "HOST:PORT" at the last colon, or "[V6]:PORT" after the bracket
 * (an IPv6 address needs the brackets), and checks both parts: HOST is a
 * name of letters, digits, '.', '-' and '_', or an IPv6 address inside
 * brackets; PORT is 1..65535. Copies HOST to hostbuf (QH_ERR_TOO_LARGE if
 * it does not fit hostlen) and the port to *portp. Returns 0,
 * QH_ERR_FORMAT or QH_ERR_ARG.
 */
int qh_split_hostport(const char *s, char *hostbuf, size_t hostlen, int *portp);

#endif
