/*
 * The ledger: the one module that writes ledger entries, purchase lots and
 * their allocations (DESIGN §3). Every function here runs inside the
 * caller's BEGIN IMMEDIATE transaction, so the previous entry's hash and
 * the customer's balance are read under the write lock.
 */
#ifndef QH_CONSOLE_LEDGER_H
#define QH_CONSOLE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define LEDGER_UNIT_SECONDS 900 /* R1 */
#define LEDGER_GENESIS	    "0000000000000000000000000000000000000000000000000000000000000000"

/* R1: every started quarter hour counts; 0 s is 0 units. */
int64_t ledger_units(int64_t billable_seconds);

/* An entry to append; the outputs are filled by ledger_append. */
struct ledger_entry {
	const char *customer;
	const char *kind;      /* purchase, session, installation_purchase, ... */
	int64_t units;	       /* signed */
	int64_t installations; /* signed */
	int64_t session_id;    /* 0: none */
	const char *started_at, *ended_at;
	int64_t billable_seconds; /* -1: none */
	const char *technician;
	int after_hours;
	const char *reference, *note, *actor, *idem_key;
	int64_t corrects;	  /* 0: none */
	int64_t unit_price_cents; /* purchases: price of one unit (or installation) */
	const char *currency;
	/* Filled in: */
	int64_t id;
	int64_t balance_after;
	int64_t amount_cents;
	char lot_ids[512];
	char hash[65];
	int crossed_threshold, crossed_zero; /* R5 notifications written */
};

/*
 * Appends e: allocates debits to lots FIFO (R14), creates the lot of a
 * purchase (and settles earlier overdrafts from it), chains the hash and
 * writes R5 notifications for crossings. QH_ERR_EXISTS if e->idem_key was
 * used already (nothing written).
 */
int ledger_append(sqlite3 *db, struct ledger_entry *e);

/*
 * Posts the debit of a session that was just closed in this transaction
 * (R4): units by R1 (or one installation, R8), its technicians, ticket and
 * note. QH_ERR_EXISTS if the session has its entry already.
 */
int ledger_post_session(sqlite3 *db, int64_t session_id, struct ledger_entry *out);

/* Customer figures. */
struct ledger_balance {
	int64_t units; /* purchased − debited ± corrections (R3) */
	int64_t installations;
	int64_t warn_units, overdraft_units;
	int is_free; /* plan free (R7) */
};
int ledger_balance(sqlite3 *db, const char *customer, struct ledger_balance *b);

/*
 * The canonical hash of a ledger row given as the text of its columns in
 * LEDGER_HASH_COLUMNS order (NULL for SQL NULL), chained to prev_hash.
 */
#define LEDGER_HASH_COLUMNS                                                              \
	"id, posted_at, customer_id, kind, units, installations, "                       \
	"balance_after, session_id, started_at, ended_at, billable_seconds, "            \
	"technician, "                                                                   \
	"after_hours, lot_id, amount_cents, currency, reference, note, corrects, "       \
	"actor, "                                                                        \
	"idem_key, prev_hash"
#define LEDGER_HASH_NCOLS 22
void ledger_hash(const char *const cols[LEDGER_HASH_NCOLS], char out[65]);

/*
 * R7 debts: a debit (units < 0) owes the units no lot has covered yet, its
 * units less its allocations less the relief of each positive correction
 * `c` of it. A correction first takes the debit's debt off, then refills
 * the lots the debit consumed, and credits the rest as a new lot; its
 * relief is the part that took the debt off. Lots that gain units settle
 * debts at once, so a customer with a debt has no units left in lots. For every customer,
 * the units left in their lots less their debts equal their balance.
 */
#define LEDGER_OWED_RELIEF                                                               \
	"c.units + coalesce((SELECT sum(a2.units) FROM allocations a2 "                  \
	"WHERE a2.entry_id = c.id), 0) - coalesce((SELECT sum(k.units) FROM lots k "     \
	"WHERE k.entry_id = c.id), 0)"

/*
 * `qh-console verify`: walks the ledger in id order and checks each entry's
 * hash and its link to the previous one, each customer's running balance,
 * that every closed session has exactly one entry and every session entry
 * a closed session, that no lot gives more units than it holds and that
 * lots less debts equal each balance. Read-only; run it inside a read
 * transaction for one consistent snapshot. Returns 0 when all holds, 1 on
 * the first problem (a sentence in why; *bad_entry is the entry's id, or 0
 * when the problem is not one entry's), or a negative QH_ERR_* when the
 * database could not be read.
 */
int ledger_verify(sqlite3 *db, char *why, size_t len, int64_t *bad_entry);

#endif
