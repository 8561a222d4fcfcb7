/*
 * The ledger: the one module that writes ledger entries, purchase lots and
 * their allocations (DESIGN §3). Every function here runs inside the
 * caller's BEGIN IMMEDIATE transaction, so the previous entry's hash and
 * the customer's balance are read under the write lock.
 */
#ifndef QH_CONSOLE_LEDGER_H
#define QH_CONSOLE_LEDGER_H

#include <stdint.h>

#include <sqlite3.h>

#define LEDGER_UNIT_SECONDS	900	/* R1 */
#define LEDGER_GENESIS		"0000000000000000000000000000000000000000000000000000000000000000"

/* R1: every started quarter hour counts; 0 s is 0 units. */
int64_t ledger_units(int64_t billable_seconds);

/* An entry to append; the outputs are filled by ledger_append. */
struct ledger_entry {
	const char *customer;
	const char *kind;		/* purchase, session, installation_purchase, ... */
	int64_t units;			/* signed */
	int64_t installations;		/* signed */
	int64_t session_id;		/* 0: none */
	const char *started_at, *ended_at;
	int64_t billable_seconds;	/* -1: none */
	const char *technician;
	int after_hours;
	const char *reference, *note, *actor, *idem_key;
	int64_t corrects;		/* 0: none */
	int64_t unit_price_cents;	/* purchases: price of one unit (or installation) */
	const char *currency;
	/* Filled in: */
	int64_t id;
	int64_t balance_after;
	int64_t amount_cents;
	char lot_ids[512];
	char hash[65];
	int crossed_threshold, crossed_zero;	/* R5 notifications written */
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
	int64_t units;			/* purchased − debited ± corrections (R3) */
	int64_t installations;
	int64_t warn_units, overdraft_units;
	int is_free;			/* plan free (R7) */
};
int ledger_balance(sqlite3 *db, const char *customer, struct ledger_balance *b);

/*
 * The canonical hash of a ledger row given as the text of its columns in
 * LEDGER_HASH_COLUMNS order (NULL for SQL NULL), chained to prev_hash.
 */
#define LEDGER_HASH_COLUMNS "id, posted_at, customer_id, kind, units, installations, " \
    "balance_after, session_id, started_at, ended_at, billable_seconds, technician, " \
    "after_hours, lot_id, amount_cents, currency, reference, note, corrects, actor, " \
    "idem_key, prev_hash"
#define LEDGER_HASH_NCOLS 22
void ledger_hash(const char *const cols[LEDGER_HASH_NCOLS], char out[65]);

#endif
