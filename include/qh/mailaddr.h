/*
 * E-mail addresses as quarterhour accepts them: a customer's contacts
 * (`customer add/set --email`), the sender and the staff addresses of
 * console.conf [mail]. The rule is deliberately narrower than RFC 5321:
 * an addr-spec local@domain whose local part is a dot-atom (RFC 5322
 * atext, no quoted strings, no comments) of at most 64 bytes and whose
 * domain is one or more LDH labels of at most 63 bytes separated by dots
 * (no address literals), 254 bytes in all. Such an address can stand in
 * a header and in an SMTP command as it is: it holds no space, no angle
 * bracket, no comma and no line break.
 */
#ifndef QH_MAILADDR_H
#define QH_MAILADDR_H

#include <stddef.h>

#define QH_MAIL_ADDR_MAX 254 /* bytes of an address (RFC 5321's path less <>) */

/* 1 if s is an address by the rule above, else 0. */
int qh_mail_addr_valid(const char *s);

/*
 * Splits list, addresses separated by commas and blanks (space, tab), into
 * out[0..max-1] (each QH_MAIL_ADDR_MAX + 1 bytes). Returns how many were
 * found (0 for an empty list), QH_ERR_FORMAT when one is not an address,
 * or QH_ERR_LIMIT when there are more than max. An address that repeats an
 * earlier one (compared without case) is dropped.
 */
int qh_mail_addr_list(const char *list, char (*out)[QH_MAIL_ADDR_MAX + 1], int max);

/* The domain of a valid address (the text after '@'), or NULL. */
const char *qh_mail_addr_domain(const char *addr);

#endif
