/*
 * qh-console customer set ID --record-desktop yes|no: changes a customer.
 * For now it sets one thing, whether what technicians see of the
 * customer's screen is recorded (issue 12); the other settings DESIGN §5
 * lists for `customer set` come with the issues that need them. A running
 * console reads the setting when a desktop starts.
 */
#include <stdio.h>
#include <string.h>

#include "qh/cli.h"
#include "qh/err.h"
#include "qh/pki.h"
#include "admin.h"
#include "store/store.h"

static int
cmd_customer_set(struct qh_cli *c)
{
	const char *id = c->argv[0], *rec = qh_cli_opt(c, "record-desktop");
	int on, r;

	if (!qh_id_valid(id))
		return qh_cli_usage(c,
		    "ID must be 1 to 64 of A-Z a-z 0-9 . _ - and not start with '.' or "
		    "'-'");
	if (rec == NULL)
		return qh_cli_usage(c, "nothing to set: give --record-desktop yes|no");
	if (strcmp(rec, "yes") == 0)
		on = 1;
	else if (strcmp(rec, "no") == 0)
		on = 0;
	else
		return qh_cli_usage(c, "--record-desktop is yes or no");
	if ((r = db_customer_set_record_desktop(admin_env(c)->db, id, on)) ==
	    QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no customer %s", id);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	printf("customer %s: desktops are %s\n", id, on ? "recorded" : "not recorded");
	return QH_EXIT_OK;
}

const struct qh_cli_cmd cmd_customer_set_entry = {
	.name = "customer set",
	.usage = "ID --record-desktop yes|no",
	.summary = "change a customer: whether technicians' desktops are recorded",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("record-desktop") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_customer_set,
};
